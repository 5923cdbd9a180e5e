"""The edge's signal-to-order latency, relayed to the dashboard.

The bots sample their latency histograms into Table Storage (through the forwarder, across the
VPN); the relay follows today's partition of the metrics table in key order and broadcasts each
new interval's figures as target `latency`. The newest second is read again on the next pass:
its rows may still be on their way, and an interval is relayed only once all three are in.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from system.domain.metric_samples import (
    METRICS_TABLE,
    order_latencies,
    partition_key,
    stamp,
)
from system.ports import Clock, EventStore, SignalBus
from system.services.backend.metrics import BackendMetrics

log = logging.getLogger(__name__)


class LatencyRelay:
    def __init__(
        self,
        store: EventStore,
        bus: SignalBus,
        clock: Clock,
        metrics: BackendMetrics,
    ) -> None:
        self._store, self._bus, self._clock, self._metrics = store, bus, clock, metrics
        start = clock.now()  # the page shows what happens while it is open, not history
        self._day = partition_key(start)
        self._after = stamp(start)  # the rows of this second and later sort after it
        self._relayed: set[tuple[datetime, str]] = set()  # intervals of the newest second

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.relay_new()
            except Exception as error:  # Table Storage away: the next pass catches up
                self._metrics.deliveries.labels("latency", "failed").inc()
                log.debug("latency not relayed: %s", type(error).__name__)
            await asyncio.sleep(interval_s)

    async def relay_new(self) -> None:
        today = partition_key(self._clock.now())
        if today != self._day:
            # Finish yesterday's partition first, then begin today's from its first key.
            await self._relay_partition(self._day)
            self._day, self._after, self._relayed = today, "", set()
        await self._relay_partition(today)

    async def _relay_partition(self, day: str) -> None:
        rows = [
            row async for row in self._store.query(METRICS_TABLE, day, after_row_key=self._after)
        ]
        if not rows:
            return
        for figure in order_latencies(row.fields for row in rows):
            if (figure.at, figure.replica) in self._relayed:
                continue
            await self._bus.publish_latency(figure)
            self._metrics.deliveries.labels("latency", "delivered").inc()
            self._relayed.add((figure.at, figure.replica))
        newest = rows[-1].row_key.partition(".")[0]
        older = [row.row_key for row in rows if not row.row_key.startswith(f"{newest}.")]
        if older:
            self._after = older[-1]
            self._relayed = {key for key in self._relayed if stamp(key[0]) == newest}
