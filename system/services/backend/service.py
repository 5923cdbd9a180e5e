"""Composition: the backend's adapters, detector loop and HTTP app, wired from its settings."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypeVar
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI

from system.adapters import telemetry_otel
from system.adapters.clock import SystemClock
from system.adapters.keyvault import KeyVaultSecrets
from system.adapters.market_ib import IbMarketData, IbSettings
from system.adapters.market_replay import ReplayMarketData
from system.adapters.signalr_rest import SignalRConnection, SignalRRest
from system.adapters.tables import TableEventStore
from system.dashboard import mount as mount_dashboard
from system.detector.detector import Detector
from system.services.backend.app import create_app
from system.services.backend.auth import ApiKeys
from system.services.backend.detector_loop import DetectorLoop
from system.services.backend.latency_relay import LatencyRelay
from system.services.backend.metrics import BackendMetrics
from system.services.backend.server import AnnouncingServer
from system.services.backend.settings import BackendSettings
from system.services.backend.signal_log import SignalLog

log = logging.getLogger(__name__)
SERVICE_NAME = "backend"
T = TypeVar("T")


class StartupFailed(Exception):
    """A dependency needed to start did not answer in time; the message is one line."""


async def _until_ready(what: str, attempt: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    """Retries with capped backoff: at start, dependencies may come up a moment after us."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + timeout_s, 0.1
    while True:
        try:
            return await attempt()
        except Exception as error:
            if loop.time() + delay > deadline:
                raise StartupFailed(
                    f"{what} failed for {timeout_s:g} s: {type(error).__name__}: {error}"
                ) from None
            log.info("%s failed (%s); retrying", what, type(error).__name__)
            await asyncio.sleep(delay * random.uniform(0.5, 1))
            delay = min(delay * 2, 2.0)


def _telemetry(settings: BackendSettings) -> telemetry_otel.OtelTelemetry:
    if settings.telemetry == "azure" and settings.appinsights_connection_string is not None:
        return telemetry_otel.to_application_insights(
            SERVICE_NAME, settings.appinsights_connection_string.get_secret_value()
        )
    if settings.telemetry == "file":
        return telemetry_otel.to_files(SERVICE_NAME, settings.telemetry_dir)
    return telemetry_otel.disabled(SERVICE_NAME)


def _market(settings: BackendSettings, vault: KeyVaultSecrets) -> ReplayMarketData | IbMarketData:
    if settings.market_source == "replay" and settings.replay_file is not None:
        return ReplayMarketData(
            settings.replay_file, settings.replay_interval_s, settings.replay_follow
        )
    return IbMarketData(
        IbSettings(
            host=settings.ib_host,
            port=settings.ib_port,
            client_id=settings.ib_client_id,
            expiries=settings.ib_expiries,
            strikes_each_side=settings.ib_strikes_each_side,
            max_lines=settings.ib_max_lines,
            recentre_strikes=settings.ib_recentre_strikes,
            snapshot_interval_s=settings.ib_snapshot_interval_s,
        ),
        credential=_reader(vault, settings.ib_credential_secret),
    )


def _reader(vault: KeyVaultSecrets, name: str | None) -> Callable[[], Awaitable[str]] | None:
    if name is None:
        return None

    async def read() -> str:
        return (await vault.get(name)).value

    return read


async def assemble(settings: BackendSettings, stack: AsyncExitStack) -> FastAPI:
    """Reads the secrets (waiting for Key Vault up to the startup timeout), connects the
    adapters (closed by `stack`), and returns the app. Its lifespan runs the detector loop and
    the key refresh; on shutdown it drains deliveries within half the grace period (uvicorn
    takes the other half for open connections)."""
    zone = ZoneInfo(settings.trading_timezone)
    clock, metrics = SystemClock(), BackendMetrics()
    signals = SignalLog(settings.signal_log_capacity)
    vault = KeyVaultSecrets(
        str(settings.keyvault_url),
        settings.keyvault_ca_file,
        settings.keyvault_verify_challenge_resource,
        settings.managed_identity_client_id,
    )
    stack.push_async_callback(vault.aclose)
    keys = ApiKeys(vault, settings.api_keys_secret)
    timeout = settings.startup_timeout_s
    await _until_ready("reading the API keys from Key Vault", keys.load, timeout)
    signalr = await _until_ready(
        "reading the SignalR connection string from Key Vault",
        lambda: vault.get(settings.signalr_secret),
        timeout,
    )
    tables = await _until_ready(
        "reading the Table Storage connection string from Key Vault",
        lambda: vault.get(settings.tables_secret),
        timeout,
    )
    bus = SignalRRest(
        SignalRConnection.parse(signalr.value), settings.signalr_hub, settings.signalr_target
    )
    stack.push_async_callback(bus.aclose)
    store = TableEventStore(tables.value)
    stack.push_async_callback(store.aclose)
    market = _market(settings, vault)
    telemetry = _telemetry(settings)
    stack.callback(telemetry.shutdown)
    loop = DetectorLoop(
        market=market,
        detector=Detector(settings.detector),
        bus=bus,
        store=store,
        signals=signals,
        telemetry=telemetry,
        clock=clock,
        metrics=metrics,
        table=settings.anomalies_table,
        zone=zone,
        retry_base_s=settings.retry_base_s,
        retry_max_s=settings.retry_max_s,
        quote_interval_s=settings.quote_interval_s,
    )
    latency = LatencyRelay(store, bus, clock, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(loop.run(), name="detector loop"),
            asyncio.create_task(keys.refresh_forever(settings.secret_refresh_s), name="keys"),
            asyncio.create_task(latency.run(settings.latency_interval_s), name="latency relay"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await loop.drain(settings.shutdown_grace_s / 2)

    app = create_app(
        keys=keys,
        signals=signals,
        store=store,
        negotiator=bus,
        dependencies={"tables": store, "signalr": bus, "market": market},
        metrics=metrics,
        clock=clock,
        anomalies_table=settings.anomalies_table,
        zone=zone,
        page_default=settings.page_default,
        page_max=settings.page_max,
        ready_timeout_s=settings.ready_timeout_s,
        lifespan=lifespan,
    )
    if settings.dashboard:
        mount_dashboard(app)  # the local topology's stand-in for the Static Web App
    return app


async def serve(settings: BackendSettings) -> None:
    """Until SIGTERM or Ctrl-C: the app on one uvicorn worker, announced when listening."""
    async with AsyncExitStack() as stack:
        app = await assemble(settings, stack)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,  # per-request lines cost throughput; /metrics counts instead
            timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s / 2)),
            lifespan="on",
        )
        # What start built lives as long as the process: out of every garbage collection, so
        # the ones that run while signals are published are short.
        gc.freeze()
        await AnnouncingServer(config, "backend ready on").serve()
