"""The backend's read-back of a detector service's signals: what the last lookback stored in
the anomalies table, across the trading day's end, each signal once."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from system.services.backend.anomalies import to_record
from system.services.backend.signal_feed import SignalFeed
from system.services.backend.signal_log import SignalLog
from tests.unit.cloud.test_backend_parts import make
from tests.unit.cloud.test_latency_relay import Clock, Store

NEW_YORK = ZoneInfo("America/New_York")


def listed(log: SignalLog) -> list[str]:
    page, _ = log.page(None, None, None, 100)
    return [json.loads(item)["id"] for item in page]


async def test_it_lists_what_was_stored_within_the_lookback_once_each() -> None:
    store, clock, log = Store(), Clock(), SignalLog(100)
    feed = SignalFeed(store, log, clock, "anomalies", NEW_YORK, lookback_s=60)
    signals = [make(i, clock.at + timedelta(seconds=i)) for i in range(3)]
    old = make(9, clock.at - timedelta(seconds=61))
    for signal in [*signals, old]:
        await store.upsert(to_record(signal, "anomalies", NEW_YORK))
    clock.at += timedelta(seconds=3)
    await feed.read_new()
    await feed.read_new()  # the same rows again
    assert listed(log) == [s.id for s in signals]


async def test_it_reads_yesterdays_partition_across_the_trading_days_end() -> None:
    store, clock, log = Store(), Clock(), SignalLog(100)
    clock.at = clock.at.replace(hour=4, minute=59, second=50)  # 23:59:50 in New York
    before_midnight = make(1, clock.at)
    clock.at += timedelta(seconds=20)
    after_midnight = make(2, clock.at)
    for signal in (before_midnight, after_midnight):
        await store.upsert(to_record(signal, "anomalies", NEW_YORK))
    assert len({key[0] for key in store.rows}) == 2  # two trading days
    await SignalFeed(store, log, clock, "anomalies", NEW_YORK, lookback_s=60).read_new()
    assert listed(log) == [before_midnight.id, after_midnight.id]
