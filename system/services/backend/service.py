"""Composition: the cloud services' adapters, detector loop and HTTP app, wired from settings.

The backend and the detector service (system/services/detector) are built from the same parts:
`connect` (Key Vault, the hub, Table Storage, telemetry), `detector_loop`, `with_jobs` and
`serve_app`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
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
from system.ports import Clock, Dependency
from system.services.backend.app import create_app
from system.services.backend.auth import ApiKeys
from system.services.backend.detector_loop import DetectorLoop
from system.services.backend.latency_relay import LatencyRelay
from system.services.backend.metrics import BackendMetrics
from system.services.backend.server import AnnouncingServer
from system.services.backend.settings import BackendSettings, CloudSettings
from system.services.backend.signal_feed import SignalFeed
from system.services.backend.signal_log import SignalLog

log = logging.getLogger(__name__)
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


def _telemetry(settings: CloudSettings, service: str) -> telemetry_otel.OtelTelemetry:
    if settings.telemetry == "azure" and settings.appinsights_connection_string is not None:
        return telemetry_otel.to_application_insights(
            service, settings.appinsights_connection_string.get_secret_value()
        )
    if settings.telemetry == "file":
        return telemetry_otel.to_files(service, settings.telemetry_dir)
    return telemetry_otel.disabled(service)


def _market(settings: CloudSettings, vault: KeyVaultSecrets) -> ReplayMarketData | IbMarketData:
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


@dataclass(frozen=True)
class Connections:
    vault: KeyVaultSecrets
    bus: SignalRRest
    store: TableEventStore
    telemetry: telemetry_otel.OtelTelemetry


async def connect(settings: CloudSettings, service: str, stack: AsyncExitStack) -> Connections:
    """Reads the hub's and Table Storage's connection strings from Key Vault (waiting for it up
    to the startup timeout) and opens the adapters; `stack` closes them."""
    vault = KeyVaultSecrets(
        str(settings.keyvault_url),
        settings.keyvault_ca_file,
        settings.keyvault_verify_challenge_resource,
        settings.managed_identity_client_id,
    )
    stack.push_async_callback(vault.aclose)
    timeout = settings.startup_timeout_s
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
    telemetry = _telemetry(settings, service)
    stack.callback(telemetry.shutdown)
    return Connections(vault, bus, store, telemetry)


def detector_loop(
    settings: CloudSettings,
    connections: Connections,
    signals: SignalLog | None,
    metrics: BackendMetrics,
    clock: Clock,
) -> tuple[DetectorLoop, Dependency]:
    """The loop, and its market data source (a dependency /ready checks)."""
    market = _market(settings, connections.vault)
    loop = DetectorLoop(
        market=market,
        detector=Detector(settings.detector),
        bus=connections.bus,
        store=connections.store,
        signals=signals,
        telemetry=connections.telemetry,
        clock=clock,
        metrics=metrics,
        table=settings.anomalies_table,
        zone=ZoneInfo(settings.trading_timezone),
        retry_base_s=settings.retry_base_s,
        retry_max_s=settings.retry_max_s,
        quote_interval_s=settings.quote_interval_s,
    )
    return loop, market


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
Job = Callable[[], Coroutine[Any, Any, None]]


def with_jobs(jobs: dict[str, Job], loop: DetectorLoop | None, grace_s: float) -> Lifespan:
    """An app lifespan that runs `jobs` as tasks while the app serves; on shutdown it cancels
    them and lets the loop's deliveries drain within half the grace period (uvicorn takes the
    other half for open connections)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(job(), name=name) for name, job in jobs.items()]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if loop is not None:
                await loop.drain(grace_s / 2)

    return lifespan


async def assemble(settings: BackendSettings, stack: AsyncExitStack) -> FastAPI:
    """Connects the adapters (closed by `stack`), reads the API keys, and returns the app. Its
    lifespan runs the key refresh, the latency relay, and the detector loop, or where the
    detector runs elsewhere, the feed that reads its signals back from the anomalies table."""
    zone = ZoneInfo(settings.trading_timezone)
    clock, metrics = SystemClock(), BackendMetrics()
    signals = SignalLog(settings.signal_log_capacity)
    connections = await connect(settings, "backend", stack)
    keys = ApiKeys(connections.vault, settings.api_keys_secret)
    await _until_ready("reading the API keys from Key Vault", keys.load, settings.startup_timeout_s)
    store, bus = connections.store, connections.bus
    latency = LatencyRelay(store, bus, clock, metrics)
    jobs: dict[str, Job] = {
        "keys": lambda: keys.refresh_forever(settings.secret_refresh_s),
        "latency relay": lambda: latency.run(settings.latency_interval_s),
    }
    dependencies: dict[str, Dependency] = {"tables": store, "signalr": bus}
    loop: DetectorLoop | None = None
    if settings.run_detector:
        loop, dependencies["market"] = detector_loop(settings, connections, signals, metrics, clock)
        jobs["detector loop"] = loop.run
    else:
        feed = SignalFeed(
            store, signals, clock, settings.anomalies_table, zone, settings.signal_lookback_s
        )
        jobs["signal feed"] = lambda: feed.run(settings.signal_poll_s)
    app = create_app(
        keys=keys,
        signals=signals,
        store=store,
        negotiator=bus,
        dependencies=dependencies,
        metrics=metrics,
        clock=clock,
        anomalies_table=settings.anomalies_table,
        zone=zone,
        page_default=settings.page_default,
        page_max=settings.page_max,
        ready_timeout_s=settings.ready_timeout_s,
        lifespan=with_jobs(jobs, loop, settings.shutdown_grace_s),
    )
    if settings.dashboard:
        mount_dashboard(app)  # the local topology's stand-in for the Static Web App
    return app


async def serve_app(app: FastAPI, settings: CloudSettings, announce: str) -> None:
    """`app` on one uvicorn worker until SIGTERM or Ctrl-C, announced as `{announce} URL`."""
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
    await AnnouncingServer(config, announce).serve()


async def serve(settings: BackendSettings) -> None:
    async with AsyncExitStack() as stack:
        await serve_app(await assemble(settings, stack), settings, "backend ready on")
