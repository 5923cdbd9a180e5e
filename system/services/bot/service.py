"""Composition of one bot replica: its adapters, the trader, the loops around it, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from system.adapters.broker_ib import IbBroker
from system.adapters.clock import SystemClock
from system.adapters.signalr_client import SignalRSubscription
from system.edge import runtime
from system.edge.alerting import AlertGate, Digest, FanOut
from system.edge.backoff import Backoff
from system.edge.board_redis import RedisBoard
from system.edge.held_alerts import HeldAlerts
from system.edge.leadership import Leadership
from system.edge.lease_redis import RedisLease
from system.edge.ledger import Ledger
from system.edge.outbox_sqlite import purge_delivered
from system.edge.probe_server import ProbeServer
from system.edge.sqlite import checkpoint
from system.edge.strategy_config import StrategySource
from system.ports import SecretStore
from system.services.bot.commands import Commands, Operator
from system.services.bot.metrics import BotMetrics
from system.services.bot.samples import Sampler
from system.services.bot.settings import BotSettings
from system.services.bot.trader import Trader

log = logging.getLogger(__name__)

PURGE_SLICE = 5000
REHEARSAL_IDLE_S = 0.1  # how often a replica that does not trade looks whether it has started


class StartupFailed(Exception):
    """Something needed to start is missing; the message is one line."""


async def _secret(secrets: SecretStore, name: str) -> str:
    try:
        return (await secrets.get(name)).value
    except Exception as error:
        raise StartupFailed(f"secret {name!r} unavailable: {error}") from None


class Bot:
    def __init__(self, settings: BotSettings, secrets: SecretStore) -> None:
        self.settings = settings
        self._secrets = secrets
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._commands_task: asyncio.Task[None] | None = None
        self._closers: list[Callable[[], Awaitable[object]]] = []

    async def start(self) -> int:
        """Build everything, start the loops; returns the probe server's port."""
        s = self.settings
        self.metrics = metrics = BotMetrics()
        self.telemetry = runtime.telemetry(s, f"bot-{s.replica_id}")
        self.strategy = StrategySource(s.strategy_file)
        # The ledger is written on the hot path: its checkpoints run on a thread (see loops).
        self.ledger = ledger = Ledger.open(
            s.ledger_file, s.replica_id, s.ledger_synchronous, autocheckpoint=False
        )
        # The lease loop bounds its own calls by the time the lease has left; these socket
        # timeouts only stop a dead connection from hanging anything else.
        self.redis = Redis.from_url(
            s.redis_url, socket_timeout=s.lease_ttl_ms / 1000, socket_connect_timeout=2.0
        )
        self._closers.append(self.redis.aclose)
        self._closers.append(self._secrets.aclose)
        lease = RedisLease(self.redis, s.lease_key, s.replica_id, s.lease_ttl_ms)
        board = RedisBoard(self.redis, lease, s.board_prefix)
        api_key = await _secret(self._secrets, s.backend_api_key_secret)
        self.broker = IbBroker(
            s.ib_host,
            s.ib_port,
            s.ib_client_id,
            id_floor=lambda: ledger.max_broker_order_id() + 1,
            secrets=self._secrets,
            credential_name=s.ib_credential_secret,
            account=s.ib_account,
            timeout_s=s.ib_timeout_s,
        )
        try:
            self.channels = await runtime.channels(s, self._secrets)
        except Exception as error:
            raise StartupFailed(f"notification secrets unavailable: {error}") from None
        self._closers.append(self.channels.aclose)
        alerts = AlertGate(self.channels.alerts(), s.alert_remind_s)
        self.confirmations = Digest(
            self.channels.email or FanOut([]),
            s.confirmation_digest_s,
            "Fills",
            HeldAlerts(self.ledger.connection),
        )
        backoff = Backoff(s.reconnect_first_s, s.reconnect_max_s)
        # Only a replica that receives the signals leads (see system.edge.leadership).
        self.leadership = Leadership(
            lease,
            s.lease_timing(),
            self._gain,
            self._lose,
            eligible=lambda: self.subscription.connected,
        )
        self.trader = Trader(
            ledger=ledger,
            broker=self.broker,
            board=board,
            gate=self.leadership,
            strategy=self.strategy,
            telemetry=self.telemetry,
            alerts=alerts,
            confirmations=self.confirmations,
            clock=SystemClock(),
            metrics=metrics,
            backoff=backoff,
            expiry_margin=timedelta(milliseconds=s.expiry_margin_ms),
        )
        self.commands = (
            Commands(
                self.channels.telegram_bot,
                Operator(self.status, self.broker.positions, self.trader.halt, self.trader.resume),
                frozenset(s.telegram_chat_ids),
                metrics,
                s.telegram_poll_s,
                backoff,
            )
            if self.channels.telegram_bot is not None
            else None
        )
        self.subscription = SignalRSubscription(
            f"{str(s.backend_url).rstrip('/')}/api?userId={s.replica_id}",
            consumer=self.trader.consume,
            target=s.signalr_target,
            headers={"X-API-Key": api_key},
            on_drop=lambda reason: metrics.messages.labels(reason).inc(),
            on_state=self._signalr_state,
            reconnect=backoff,
        )
        self.probe = ProbeServer(
            s.http_host, s.http_port, metrics.registry, self.checks, self.status
        )
        port = await self.probe.start()
        self._start_loops()
        # What start built lives as long as the process: out of every garbage collection from
        # now on, so the collections that do run on the hot path are short.
        gc.freeze()
        return port

    def _start_loops(self) -> None:
        s = self.settings
        sampler = self._sampler = Sampler(self.metrics.registry, s.replica_id)
        loops: dict[str, Coroutine[Any, Any, Any]] = {
            "leadership": self.leadership.run(),
            "signalr": self.subscription.run(),
            "broker events": self.trader.run_broker_events(),
            "publications": self.trader.run_publications(),
            "sweep": runtime.every(s.sweep_s, self.trader.sweep, "sweep"),
            "strategy": self.strategy.watch(
                self.trader.config_changed, self.trader.config_rejected
            ),
            "confirmations": self.confirmations.run(),
            "samples": runtime.every(s.metrics_sample_s, lambda: self._sample(sampler), "sampling"),
            "purge": runtime.every(600.0, self._purge, "outbox purge"),
            "checkpoint": runtime.every(
                s.checkpoint_s, lambda: asyncio.to_thread(checkpoint, s.ledger_file), "checkpoint"
            ),
        }
        if s.rehearse_every_ms > 0:
            loops["rehearsal"] = self._rehearse(s.rehearse_every_ms / 1000)
        if s.ib_credential_secret:
            loops["credential"] = runtime.every(
                s.credential_check_s, self._check_credential, "credential"
            )
        loop = asyncio.get_running_loop()
        self._tasks = {name: loop.create_task(work, name=name) for name, work in loops.items()}

    async def _rehearse(self, every_s: float) -> None:
        """Trader.rehearse, decoding included, every `every_s` while this replica trades; one
        that does not looks every 0.1 s whether it has started to. A rehearsal that fails is
        logged and the next comes a second later: it never stops the bot."""
        while True:
            pause = REHEARSAL_IDLE_S
            if self.trader.trading:
                pause = every_s
                try:
                    self.subscription.rehearse()
                    await self.trader.rehearse()
                except Exception:
                    log.exception("rehearsal failed")
                    pause = 1.0
            await asyncio.sleep(pause)

    async def _sample(self, sampler: Sampler) -> None:
        now = SystemClock().now()
        self.ledger.queue(sampler.take(now), now)

    async def _purge(self) -> None:
        """In slices, yielding between them: no single long write on the event loop."""
        before = SystemClock().now() - timedelta(hours=self.settings.outbox_retention_h)
        purged = PURGE_SLICE
        while purged == PURGE_SLICE:
            purged = purge_delivered(
                self.ledger.connection, self.settings.delivery_path, before, PURGE_SLICE
            )
            await asyncio.sleep(0)

    async def _check_credential(self) -> None:
        name = self.settings.ib_credential_secret
        used = self.broker.credential_version
        if name is None or used is None or self.leadership.token is None:
            return
        current = await self._secrets.get(name)
        if current.version != used:
            log.info("IBKR credential rotated (version %s); reconnecting", current.version[:8])
            self.metrics.credential_rotations.inc()
            await self.trader.reconnect("IBKR credential rotated")

    def _signalr_state(self, up: bool) -> None:
        self.metrics.signalr_connected.set(1 if up else 0)
        if up and self.subscription.sessions > 1:
            self.metrics.signalr_reconnects.inc()
        self.leadership.eligibility_changed()

    # -- leadership ----------------------------------------------------------------------------

    def _gain(self, token: int) -> None:
        self.trader.lead(token)
        if self.commands is not None:
            self._commands_task = asyncio.get_running_loop().create_task(self.commands.run())

    def _lose(self) -> None:
        self.trader.follow()
        if self._commands_task is not None:
            self._commands_task.cancel()
            self._commands_task = None

    # -- probes ----------------------------------------------------------------------------

    def checks(self) -> Mapping[str, bool]:
        return {
            "signalr": self.subscription.connected,
            "redis": self.leadership.reachable,
            "trading": self.leadership.token is None or self.trader.trading,
        }

    def status(self) -> Mapping[str, Any]:
        reconciled = self.trader.last_reconciled
        return {
            "replica": self.settings.replica_id,
            "leader": self.leadership.token is not None,
            "fencing_token": self.leadership.token,
            "trading": self.trader.trading,
            "halted": self.trader.halted,
            "signalr_connected": self.subscription.connected,
            "signalr_sessions": self.subscription.sessions,
            "broker_connected": self.broker.connected,
            "last_reconciled": reconciled.isoformat() if reconciled else None,
            "undecided_signals": self.ledger.undecided_count(),
            "strategy_sha256": self.strategy.digest,
            "quantity": self.strategy.current.quantity,
            "order_type": self.strategy.current.order_type.value,
        }

    # -- shutdown --------------------------------------------------------------------------

    def crashed(self) -> list[str]:
        """Loops that ended on their own: each should run until shutdown."""
        return [name for name, task in self._tasks.items() if task.done()]

    async def wait_crashed(self) -> None:
        await asyncio.wait(self._tasks.values(), return_when=asyncio.FIRST_COMPLETED)

    async def stop(self) -> None:
        """Stop taking signals, record what the broker already said, hand the lease back (a
        standby takes over and reconciles whatever was in flight), then close everything."""
        for name in ("signalr", "sweep", "strategy", "credential", "purge"):
            await self._cancel(name)
        await asyncio.sleep(0.05)  # events already read off the broker socket get recorded
        with contextlib.suppress(TimeoutError):  # standbys mirror these outcomes
            await asyncio.wait_for(self.trader.publish_pending(), 1.0)
        await self.leadership.release()
        for name in list(self._tasks):
            await self._cancel(name)
        await self.trader.close()
        await self.confirmations.flush()
        with contextlib.suppress(Exception):
            await self.broker.disconnect()
        now = SystemClock().now()
        self.ledger.queue(self._sampler.take(now), now)
        await self.probe.stop()
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                await close()
        self.ledger.close()
        self.telemetry.shutdown()

    async def _cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
