"""Forwarding the edge outbox to the cloud: Table Storage (the record of truth) and Application
Insights (through the Telemetry port), batch after batch while the link is up.

A batch is marked delivered only after Table Storage accepted all of it, so a crash or an
outage in between means it is sent again, and upserts by (partition, row) make that harmless:
nothing lost, nothing doubled. While the link is down the forwarder retries with backoff. A
record Table Storage refuses outright (a 4xx other than 408/429) would block the queue, so a
refused batch is retried record by record: the good ones go through, the refused one stays
queued (its attempts counted, and visible in /metrics), never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from azure.core.exceptions import HttpResponseError

from system.domain.metric_samples import METRICS_TABLE, partition_key
from system.edge.backoff import Backoff
from system.ports import Clock, EventStore, Outbox, OutboxItem, Telemetry
from system.services.forwarder.daily import aggregate
from system.services.forwarder.metrics import ForwarderMetrics

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


class LinkDown(Exception):
    """Table Storage could not be reached or asked to come back later."""


def _refused(error: Exception) -> bool:
    """True for 'this request is wrong' (retrying it unchanged will never work)."""
    status = getattr(error, "status_code", None)
    return (
        isinstance(error, HttpResponseError)
        and status is not None
        and (status not in _RETRYABLE_STATUS and 400 <= status < 500)
    )


class Forwarder:
    def __init__(
        self,
        outbox: Outbox,
        store: EventStore,
        telemetry: Telemetry,
        metrics: ForwarderMetrics,
        clock: Clock,
        *,
        batch_size: int,
        poll_s: float,
        backoff: Backoff,
    ) -> None:
        self._outbox = outbox
        self._store = store
        self._telemetry = telemetry
        self._metrics = metrics
        self._clock = clock
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._backoff = backoff

    async def drain_once(self) -> int:
        """Deliver one batch; returns how many records were delivered (0: nothing queued)."""
        items = await self._outbox.next_batch(self._batch_size)
        if not items:
            return 0
        started = time.perf_counter()
        try:
            await self._store.upsert_many([i.record for i in items])
            delivered = items
        except Exception as error:
            if not _refused(error):
                await self._outbox.mark_failed([i.id for i in items])
                self._metrics.failures.labels("link").inc()
                raise LinkDown(f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
            delivered = await self._one_by_one(items)
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        await self._outbox.mark_delivered([i.id for i in delivered])
        for item in delivered:
            self._metrics.delivered.labels(item.record.table).inc()
            self._to_telemetry(item)
        return len(delivered)

    async def _one_by_one(self, items: list[OutboxItem]) -> list[OutboxItem]:
        delivered: list[OutboxItem] = []
        for item in items:
            try:
                await self._store.upsert(item.record)
            except Exception as error:
                if not _refused(error):
                    raise LinkDown(f"{type(error).__name__}") from None
                log.error(
                    "Table Storage refuses %s/%s/%s (attempt %d): %s",
                    item.record.table,
                    item.record.partition_key,
                    item.record.row_key,
                    item.attempts + 1,
                    str(error).splitlines()[0],
                )
                self._metrics.failures.labels("rejected").inc()
                await self._outbox.mark_failed([item.id])
                continue
            delivered.append(item)
        return delivered

    def _to_telemetry(self, item: OutboxItem) -> None:
        fields = item.record.fields
        attributes = {"replica": str(fields.get("replica", ""))}
        if item.record.table == METRICS_TABLE and isinstance(fields.get("value"), int | float):
            self._telemetry.metric(f"edge.{fields.get('name')}", float(fields["value"]), attributes)
        else:
            attributes["event"] = str(fields.get("event", item.record.table))
            self._telemetry.metric(f"edge.{item.record.table}", 1.0, attributes)

    async def refresh_gauges(self) -> None:
        self._metrics.pending.set(await self._outbox.backlog())
        oldest = await self._outbox.oldest_pending()
        age = (self._clock.now() - oldest).total_seconds() if oldest else 0.0
        self._metrics.oldest_age.set(max(age, 0.0))

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; the batch in hand is finished (and marked) first. A full
        batch means a backlog: the next follows at once. Otherwise records gather for a poll
        period: one batch where a record at a time would cost the trading bot beside this
        sidecar a request each (at 20 signals/s that was a third of a core here)."""
        attempt = 0
        while not stop.is_set():
            try:
                delivered = await self.drain_once()
            except LinkDown as error:
                self._metrics.link_up.set(0)
                pause = self._backoff.delay(attempt)
                attempt += 1
                log.warning("Table Storage unreachable (%s); retrying in %.2f s", error, pause)
                await self.refresh_gauges()
                await self._sleep(stop, pause)
                continue
            attempt = 0
            self._metrics.link_up.set(1)
            await self.refresh_gauges()
            if delivered < self._batch_size:
                await self._sleep(stop, self._poll_s)

    async def aggregate_days(self) -> None:
        """Upsert the daily aggregates of today and yesterday (the last word on a closed day)."""
        now = self._clock.now()
        for day in (now - timedelta(days=1), now):
            key = partition_key(day)
            samples = await self._outbox.metric_samples(key)
            if samples:
                await self._store.upsert_many(aggregate(samples, key, now))

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
