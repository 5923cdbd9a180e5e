"""The latency relay's reading of the metrics table: each interval's figures once, none early,
across the end of a UTC day. The store is a dict in key order, as Table Storage returns rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from system.domain.metric_samples import (
    METRICS_TABLE,
    SIGNAL_TO_ORDER,
    OrderLatency,
    order_latencies,
    partition_key,
    row_key,
)
from system.ports import StoredRecord
from system.services.backend.latency_relay import LatencyRelay
from system.services.backend.metrics import BackendMetrics

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    def monotonic_ns(self) -> int:
        return 0


class Store:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StoredRecord] = {}

    async def upsert(self, record: StoredRecord) -> None:
        self.rows[record.partition_key, record.row_key] = record

    async def upsert_many(self, records: list[StoredRecord]) -> None:
        for record in records:
            await self.upsert(record)

    async def query(
        self,
        table: str,
        partition_key: str | None = None,
        after_row_key: str | None = None,
        limit: int | None = None,
        since: tuple[str, datetime] | None = None,
    ) -> AsyncIterator[StoredRecord]:
        for (partition, row), record in sorted(self.rows.items()):
            after = after_row_key is None or row > after_row_key
            recent = since is None or record.fields[since[0]] >= since[1]
            if partition == partition_key and after and recent:
                yield record


class Bus:
    def __init__(self) -> None:
        self.sent: list[OrderLatency] = []

    async def publish(self, signal: object) -> None: ...

    async def publish_quote(self, symbol: str, price: float, at: datetime) -> None: ...

    async def publish_latency(self, figure: OrderLatency) -> None:
        self.sent.append(figure)


def sample(at: datetime, replica: str, quantity: str, value: float) -> StoredRecord:
    name = f"{SIGNAL_TO_ORDER}.{quantity}"
    fields = {"name": name, "value": value, "replica": replica, "at": at.isoformat()}
    return StoredRecord(METRICS_TABLE, partition_key(at), row_key(at, replica, name), fields)


def interval(at: datetime, replica: str, count: int = 40) -> list[StoredRecord]:
    return [
        sample(at, replica, "count", count),
        sample(at, replica, "p50", 0.0184),
        sample(at, replica, "p99", 0.02251),
    ]


def relay() -> tuple[LatencyRelay, Store, Bus, Clock]:
    store, bus, clock = Store(), Bus(), Clock()
    return LatencyRelay(store, bus, clock, BackendMetrics()), store, bus, clock


def test_figures_come_from_complete_intervals_with_orders_in_milliseconds() -> None:
    rows = [
        *interval(T0, "bot-1"),
        *interval(T0, "bot-2", count=0),  # a standby: no orders, no figure
        *interval(T0, "bot-3")[:2],  # its p99 not stored yet
        StoredRecord(METRICS_TABLE, "d", "r", {"name": "spy_orders_total", "value": 3}),
    ]
    assert order_latencies(row.fields for row in rows) == [
        OrderLatency(replica="bot-1", at=T0, count=40, p50_ms=18.4, p99_ms=22.5)
    ]


async def test_each_interval_is_relayed_once_when_all_its_rows_are_in() -> None:
    latency, store, bus, _ = relay()
    await store.upsert_many(interval(T0 - timedelta(seconds=5), "bot-1"))  # before the start
    first, second = T0 + timedelta(seconds=5), T0 + timedelta(seconds=10)
    await store.upsert_many(interval(first, "bot-1")[:2])
    await latency.relay_new()
    assert bus.sent == []

    await store.upsert_many(interval(first, "bot-1")[2:])
    await latency.relay_new()
    await latency.relay_new()
    assert [(f.at, f.replica) for f in bus.sent] == [(first, "bot-1")]

    await store.upsert_many([*interval(second, "bot-2"), *interval(first, "bot-3")])
    await latency.relay_new()
    assert [(f.at, f.replica) for f in bus.sent] == [
        (first, "bot-1"),
        (first, "bot-3"),  # stored late, but within the second read again
        (second, "bot-2"),
    ]


async def test_a_new_day_finishes_the_last_one_then_starts_from_its_beginning() -> None:
    latency, store, bus, clock = relay()
    late = T0.replace(hour=23, minute=59, second=58)
    clock.at = late
    await latency.relay_new()
    await store.upsert_many(interval(late + timedelta(seconds=1), "bot-1"))
    midnight = late + timedelta(seconds=2)
    await store.upsert_many(interval(midnight, "bot-1"))
    clock.at = midnight + timedelta(seconds=1)
    await latency.relay_new()
    assert [f.at for f in bus.sent] == [late + timedelta(seconds=1), midnight]
