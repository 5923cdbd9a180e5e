"""The detector service loop: market data in; signals scored, logged, published and stored.

Scoring never waits on delivery: each signal's publish (SignalR) and store (Table Storage) run
as tasks that retry with capped exponential backoff. A publish is abandoned once its signal has
expired (nobody may trade it any more); a store starts once the publish has been tried (it must
never hold a signal on its way out) and retries until it lands or the service stops.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from system.detector.detector import Detector, UnusableSnapshot
from system.domain.market import ChainSnapshot, SkippedMessage
from system.domain.signals import Signal
from system.ports import Clock, EventStore, MarketData, SignalBus, Telemetry
from system.services.backend.anomalies import to_record
from system.services.backend.metrics import BackendMetrics
from system.services.backend.signal_log import SignalLog

log = logging.getLogger(__name__)


class DetectorLoop:
    def __init__(
        self,
        market: MarketData,
        detector: Detector,
        bus: SignalBus,
        store: EventStore,
        signals: SignalLog | None,  # what the API lists; None where no API runs beside it
        telemetry: Telemetry,
        clock: Clock,
        metrics: BackendMetrics,
        table: str,
        zone: ZoneInfo,
        retry_base_s: float,
        retry_max_s: float,
        quote_interval_s: float,
        symbol: str = "SPY",
    ) -> None:
        self._market = market
        self._detector = detector
        self._bus = bus
        self._store = store
        self._signals = signals
        self._telemetry = telemetry
        self._clock = clock
        self._metrics = metrics
        self._table = table
        self._zone = zone
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._quote_interval_ns = int(quote_interval_s * 1e9)
        self._symbol = symbol
        self._quoted_ns: int | None = None
        self._quoting: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Until the market data ends (a replay) or the task is cancelled. A source that fails
        is restarted with backoff: the loop itself never dies of bad input."""
        failures = 0
        while True:
            try:
                async for item in self._market.snapshots():
                    failures = 0
                    if isinstance(item, SkippedMessage):
                        self._skip(item.reason, item.detail)
                    else:
                        self._score(item)
            except Exception as error:
                failures += 1
                self._skip("source_error", f"{type(error).__name__}: {error}")
                await asyncio.sleep(min(self._retry_max_s, self._retry_base_s * 2**failures))
            else:
                log.info("market data ended; the backend keeps serving")
                return

    async def drain(self, timeout_s: float) -> None:
        """Lets deliveries in flight finish for up to `timeout_s`, then cancels the rest."""
        if self._quoting is not None:
            self._quoting.cancel()  # a quote is worthless by now
        if not self._deliveries:
            return
        _, unfinished = await asyncio.wait(self._deliveries, timeout=timeout_s)
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning("shutdown: %d signal deliveries cut short", len(unfinished))
            await asyncio.wait(unfinished)

    def _skip(self, reason: str, detail: str) -> None:
        self._metrics.skipped.labels(reason).inc()
        log.warning("skipped a market-data message (%s): %s", reason, detail)

    def _score(self, snapshot: ChainSnapshot) -> None:
        started = self._clock.monotonic_ns()
        with self._telemetry.span(
            "detector.score", attributes={"chain.size": str(len(snapshot.contracts))}
        ):
            try:
                signals = self._detector.observe(snapshot, self._clock.now())
            except UnusableSnapshot as unusable:
                self._skip(unusable.reason, str(unusable))
                return
            except Exception:
                # A bug must not stop the detector: count it, log it, take the next snapshot.
                log.exception("the detector failed on a snapshot taken at %s", snapshot.taken_at)
                self._metrics.skipped.labels("detector_error").inc()
                return
            self._metrics.snapshots.inc()
            self._metrics.score_seconds.observe((self._clock.monotonic_ns() - started) / 1e9)
            for signal in signals:
                # Each signal's trace starts here; its W3C context rides along to the edge.
                with self._telemetry.span("signal", attributes={"signal.id": signal.id}) as context:
                    traced = signal.model_copy(update={"trace_context": context})
                self._raise(traced, started)
            self._quote(snapshot, started)  # behind the signals: it only feeds the dashboard

    def _quote(self, snapshot: ChainSnapshot, now_ns: int) -> None:
        """The spot price for the dashboard, at most every quote interval, one at a time: a
        quote is stale by the next snapshot, so it is neither queued nor retried."""
        due = self._quoted_ns is None or now_ns - self._quoted_ns >= self._quote_interval_ns
        if not due or (self._quoting is not None and not self._quoting.done()):
            return
        self._quoted_ns = now_ns
        self._quoting = asyncio.create_task(self._send_quote(snapshot.spot, snapshot.taken_at))

    async def _send_quote(self, price: float, at: datetime) -> None:
        try:
            await self._bus.publish_quote(self._symbol, price, at)
        except Exception as error:
            self._metrics.deliveries.labels("quote", "failed").inc()
            log.debug("quote not sent: %s", type(error).__name__)
        else:
            self._metrics.deliveries.labels("quote", "delivered").inc()

    def _raise(self, signal: Signal, started_ns: int) -> None:
        if self._signals is not None:
            self._signals.add(signal)
        self._metrics.signals.labels(signal.side.value).inc()
        tried = asyncio.Event()
        for delivery in (self._publish(signal, started_ns, tried), self._persist(signal, tried)):
            task = asyncio.create_task(delivery)
            self._deliveries.add(task)
            self._metrics.pending.inc()
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        self._metrics.pending.dec()

    async def _publish(self, signal: Signal, started_ns: int, tried: asyncio.Event) -> None:
        def expired(delay_s: float) -> bool:
            remaining = (signal.expires_at - self._clock.now()).total_seconds()
            return delay_s >= remaining

        async def attempt() -> None:
            try:
                await self._bus.publish(signal)
            finally:
                tried.set()

        delivered = await self._retrying("signalr", signal, attempt, give_up=expired)
        if delivered:
            elapsed = (self._clock.monotonic_ns() - started_ns) / 1e9
            self._metrics.publish_seconds.observe(elapsed)
            self._telemetry.metric("signal.publish.seconds", elapsed)

    async def _persist(self, signal: Signal, published_once: asyncio.Event) -> None:
        # Stored once its publish has been tried: on Python 3.11 aiohttp writes a request from a
        # task of its own, queued behind every task already ready, and the Tables SDK's work on
        # the record held the signal there (created -> on the wire, under load: p50 9 ms, 2.6
        # without the store).
        await published_once.wait()
        record = to_record(signal, self._table, self._zone)
        await self._retrying("tables", signal, lambda: self._store.upsert(record), give_up=None)

    async def _retrying(
        self,
        target: str,
        signal: Signal,
        attempt: Callable[[], Awaitable[None]],
        give_up: Callable[[float], bool] | None,
    ) -> bool:
        failures = 0
        with self._telemetry.span(f"{target}.deliver", parent=signal.trace_context):
            while True:
                try:
                    await attempt()
                except Exception as error:
                    failures += 1
                    self._metrics.retries.labels(target).inc()
                    ceiling = min(self._retry_max_s, self._retry_base_s * 2 ** (failures - 1))
                    delay = random.uniform(ceiling / 2, ceiling)  # jitter spreads retries out
                    if give_up is not None and give_up(delay):
                        self._metrics.deliveries.labels(target, "expired").inc()
                        log.warning("gave up delivering %s to %s: it expired", signal.id, target)
                        return False
                    log.warning(
                        "delivering %s to %s failed (%s: %s); retry %d in %.2f s",
                        signal.id,
                        target,
                        type(error).__name__,
                        error,
                        failures,
                        delay,
                    )
                    await asyncio.sleep(delay)
                else:
                    self._metrics.deliveries.labels(target, "delivered").inc()
                    return True
