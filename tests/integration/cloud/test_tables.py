"""The Table Storage adapter against Azurite: idempotent writes, batches, pages."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from harness import components
from system.adapters.tables import TableEventStore
from system.ports import StoredRecord
from tests.integration.cloud.conftest import Cloud

pytestmark = pytest.mark.integration


def record(table: str, partition: str, row: int, value: float = 1.0) -> StoredRecord:
    return StoredRecord(
        table,
        partition,
        f"row-{row:04d}",
        {"value": value, "at": datetime(2026, 11, 24, 15, tzinfo=UTC)},
    )


async def rows(store: TableEventStore, table: str, **query: object) -> list[StoredRecord]:
    return [r async for r in store.query(table, **query)]  # type: ignore[arg-type]


async def test_writes_are_idempotent_batched_and_paged(cloud: Cloud) -> None:
    store = TableEventStore(components.azurite_connection_string(cloud.azurite_port))
    table = f"t{secrets.token_hex(6)}"
    try:
        assert await rows(store, table) == []  # no table yet: nothing, not an error
        await store.upsert(record(table, "2026-11-24", 0))
        await store.upsert(record(table, "2026-11-24", 0, value=2.0))  # a retry, updated
        backlog = [record(table, "2026-11-24", i) for i in range(1, 151)]
        backlog += [record(table, "2026-11-25", i) for i in range(30)]
        await store.upsert_many(backlog)
        await store.upsert_many(backlog[:10])  # a repeated backlog duplicates nothing
        day = await rows(store, table, partition_key="2026-11-24")
        assert [r.row_key for r in day] == [f"row-{i:04d}" for i in range(151)]
        assert day[0].fields["value"] == 2.0
        assert day[0].fields["at"] == datetime(2026, 11, 24, 15, tzinfo=UTC)
        assert len(await rows(store, table)) == 181
        page = await rows(
            store, table, partition_key="2026-11-24", after_row_key="row-0009", limit=5
        )
        assert [r.row_key for r in page] == [f"row-{i:04d}" for i in range(10, 15)]
        await store.ping()
    finally:
        await store.aclose()


async def test_a_query_since_a_moment_keeps_the_records_at_or_after_it(cloud: Cloud) -> None:
    store = TableEventStore(components.azurite_connection_string(cloud.azurite_port))
    table = f"t{secrets.token_hex(6)}"
    t0 = datetime(2026, 11, 24, 15, tzinfo=UTC)
    try:
        await store.upsert_many(
            [
                StoredRecord(table, "day", f"sig-{i}", {"created_at": t0 + timedelta(seconds=i)})
                for i in range(6)
            ]
        )
        since = ("created_at", t0 + timedelta(seconds=3))
        recent = await rows(store, table, partition_key="day", since=since)
        assert [r.row_key for r in recent] == ["sig-3", "sig-4", "sig-5"]
        with pytest.raises(ValueError, match="not a property name: 'created_at or true'"):
            await rows(store, table, since=("created_at or true", t0))
    finally:
        await store.aclose()
