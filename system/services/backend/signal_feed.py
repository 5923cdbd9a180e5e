"""The signals a detector elsewhere raised (the detector service), for /api/signals.

That detector stores every signal it raises as a row of the anomalies table; the feed reads back
the rows created in the last `lookback_s` of today's partition (and yesterday's, across
midnight) every poll and adds them to the signal log, which keeps each signal once. A signal
stored later than `lookback_s` after it was raised (Table Storage away that long) is not listed
here; /api/anomalies still has it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from system.ports import Clock, EventStore
from system.services.backend.anomalies import from_record, trading_day
from system.services.backend.signal_log import SignalLog

log = logging.getLogger(__name__)


class SignalFeed:
    def __init__(
        self,
        store: EventStore,
        signals: SignalLog,
        clock: Clock,
        table: str,
        zone: ZoneInfo,
        lookback_s: float,
    ) -> None:
        self._store, self._signals, self._clock = store, signals, clock
        self._table, self._zone = table, zone
        self._lookback = timedelta(seconds=lookback_s)

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.read_new()
            except Exception as error:  # Table Storage away: the next pass catches up
                log.warning("signals not read back: %s: %s", type(error).__name__, error)
            await asyncio.sleep(interval_s)

    async def read_new(self) -> None:
        now = self._clock.now()
        since = now - self._lookback
        for day in sorted({trading_day(since, self._zone), trading_day(now, self._zone)}):
            async for record in self._store.query(
                self._table, day.isoformat(), since=("created_at", since)
            ):
                self._signals.add(from_record(record))
