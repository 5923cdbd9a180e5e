from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from system.edge import outbox_sqlite
from system.edge.ledger import Ledger
from system.edge.outbox_sqlite import SqliteOutbox, purge_delivered
from system.ports import StoredRecord
from tests.unit.edge.builders import NOW


def record(n: int, table: str = "audit") -> StoredRecord:
    return StoredRecord(table, "2026-11-24", f"r{n:05d}", {"n": n, "text": "x"})


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """The outbox's writer: the bot's ledger queues records in its own transactions."""
    return Ledger.open(tmp_path / "ledger.sqlite", "bot-1")


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "ledger.sqlite", tmp_path / "delivery.sqlite")
    yield box
    await box.close()


async def test_records_come_out_in_order_with_their_fields(
    outbox: SqliteOutbox, ledger: Ledger
) -> None:
    ledger.queue([record(n) for n in range(5)], NOW)
    batch = await outbox.next_batch(3)
    assert [item.record for item in batch] == [record(0), record(1), record(2)]
    assert await outbox.backlog() == 5


async def test_queueing_the_same_identity_twice_queues_it_once(
    outbox: SqliteOutbox, ledger: Ledger
) -> None:
    ledger.queue([record(1)], NOW)
    ledger.queue([record(1)], NOW)
    assert await outbox.backlog() == 1


async def test_delivered_items_never_come_back(outbox: SqliteOutbox, ledger: Ledger) -> None:
    ledger.queue([record(n) for n in range(6)], NOW)
    first = await outbox.next_batch(4)
    # Out of order: the second half of the batch lands first.
    await outbox.mark_delivered([first[2].id, first[3].id])
    assert [i.record.row_key for i in await outbox.next_batch(10)] == [
        "r00000",
        "r00001",
        "r00004",
        "r00005",
    ]
    await outbox.mark_delivered([first[0].id, first[1].id])
    assert [i.record.row_key for i in await outbox.next_batch(10)] == ["r00004", "r00005"]
    assert await outbox.backlog() == 2


async def test_failures_are_counted_and_the_items_stay(
    outbox: SqliteOutbox, ledger: Ledger
) -> None:
    ledger.queue([record(0)], NOW)
    [item] = await outbox.next_batch(1)
    await outbox.mark_failed([item.id])
    await outbox.mark_failed([item.id])
    [again] = await outbox.next_batch(1)
    assert (again.id, again.attempts) == (item.id, 2)
    await outbox.mark_delivered([item.id])
    assert await outbox.next_batch(1) == []


async def test_delivery_progress_survives_a_restart(tmp_path: Path, ledger: Ledger) -> None:
    store, delivery = tmp_path / "ledger.sqlite", tmp_path / "delivery.sqlite"
    box = SqliteOutbox(store, delivery)
    ledger.queue([record(n) for n in range(3)], NOW)
    await box.mark_delivered([i.id for i in await box.next_batch(2)])
    await box.close()
    again = SqliteOutbox(store, delivery)
    assert [i.record.row_key for i in await again.next_batch(10)] == ["r00002"]
    await again.close()


async def test_the_bot_writes_and_purges_what_the_forwarder_delivered(tmp_path: Path) -> None:
    store, delivery = tmp_path / "ledger.sqlite", tmp_path / "delivery.sqlite"
    ledger = Ledger.open(store, "bot-1")
    assert purge_delivered(ledger.connection, delivery, NOW) == 0  # no forwarder yet
    ledger.queue([record(n) for n in range(4)], NOW - timedelta(days=3))
    box = SqliteOutbox(store, delivery)
    await box.mark_delivered([i.id for i in await box.next_batch(3)])
    assert purge_delivered(ledger.connection, delivery, NOW - timedelta(days=2)) == 3
    assert [i.record.row_key for i in await box.next_batch(10)] == ["r00003"]
    assert await box.backlog() == 1
    await box.close()


async def test_metric_samples_of_a_day(outbox: SqliteOutbox, ledger: Ledger) -> None:
    ledger.queue([record(0, "metrics")], NOW)
    ledger.queue([record(1, "audit")], NOW)
    assert await outbox.metric_samples("2026-11-24") == [record(0, "metrics")]


def test_only_metrics_samples_are_indexed_by_partition(tmp_path: Path) -> None:
    """The aggregate's query finds its partial index; audit records stay out of it."""
    ledger = Ledger.open(tmp_path / "ledger.sqlite", "bot-1")
    ledger.queue([record(0, "metrics"), record(1, "audit")], NOW)
    # INDEXED BY fails the query if the index cannot serve it.
    query = "SELECT rk FROM outbox INDEXED BY outbox_metrics WHERE tbl = 'metrics' AND pk = ?"
    rows = ledger.connection.execute(query, ("2026-11-24",)).fetchall()
    assert [r["rk"] for r in rows] == ["r00000"]


def test_fields_must_be_json_scalars(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "ledger.sqlite", "bot-1")
    with pytest.raises(TypeError):
        outbox_sqlite.append(
            ledger.connection, StoredRecord("audit", "p", "r", {"bad": object()}), NOW
        )
