"""The durable edge-to-cloud outbox in SQLite (the `Outbox` port).

Records live in the bot's edge store (table `outbox`), appended in the same transaction as the
ledger change they describe, so an audit record exists exactly when its ledger row does. The
forwarder never writes that file: what it has delivered lives in a delivery file of its own (a
cursor plus the delivered sequence numbers beyond it), so the bot's writes on the order path
never wait for the forwarder's. The bot purges delivered rows past their retention.

A record's identity is (table, partition, row); appending the same identity twice is a no-op, and
the cloud side upserts by it, so a retry after a crash re-sends but never doubles.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from system.domain.metric_samples import METRICS_TABLE
from system.edge.sqlite import connect, transaction
from system.ports import OutboxItem, StoredRecord

T = TypeVar("T")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tbl TEXT NOT NULL,
    pk TEXT NOT NULL,
    rk TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- Only the daily aggregate reads by partition, and only metrics samples: an index of every
-- record cost each audit record on the order path a third b-tree.
DROP INDEX IF EXISTS outbox_by_partition;
CREATE INDEX IF NOT EXISTS outbox_metrics ON outbox(pk) WHERE tbl = '{METRICS_TABLE}';
"""

_DELIVERY_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO cursor VALUES (1, 0);
CREATE TABLE IF NOT EXISTS delivered (seq INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS attempts (seq INTEGER PRIMARY KEY, attempts INTEGER NOT NULL);
"""


def record_id(record: StoredRecord) -> str:
    return f"{record.table}/{record.partition_key}/{record.row_key}"


def append(conn: sqlite3.Connection, record: StoredRecord, now: datetime) -> None:
    """Queue `record` inside the caller's transaction. Fields must be JSON scalars."""
    conn.execute(
        "INSERT OR IGNORE INTO outbox (id, tbl, pk, rk, fields, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            record_id(record),
            record.table,
            record.partition_key,
            record.row_key,
            json.dumps(dict(record.fields), separators=(",", ":")),
            now.isoformat(),
        ),
    )


def purge_delivered(
    conn: sqlite3.Connection, delivery: Path, before: datetime, limit: int = 5000
) -> int:
    """Delete up to `limit` rows the forwarder has delivered that are older than `before` (the
    bot's side; call again while it returns `limit`, so no single transaction runs long)."""
    if not delivery.exists():
        return 0
    state = connect(delivery, readonly=True)
    try:
        row = state.execute("SELECT seq FROM cursor").fetchone()
    except sqlite3.OperationalError:  # the forwarder has not created its schema yet
        return 0
    finally:
        state.close()
    if row is None:
        return 0
    with transaction(conn):
        cursor = conn.execute(
            "DELETE FROM outbox WHERE seq IN "
            "(SELECT seq FROM outbox WHERE seq <= ? AND created_at < ? ORDER BY seq LIMIT ?)",
            (row["seq"], before.isoformat(), limit),
        )
    return cursor.rowcount


class SqliteOutbox:
    """The forwarder's view of one edge store: `store` is the bot's file, `delivery` its own.
    Every query runs on one worker thread, off the event loop."""

    def __init__(self, store: Path, delivery: Path) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._store = connect(store)
        self._store.executescript(SCHEMA)
        self._delivery = connect(delivery)
        self._delivery.executescript(_DELIVERY_SCHEMA)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def _cursor(self) -> int:
        return int(self._delivery.execute("SELECT seq FROM cursor").fetchone()["seq"])

    async def next_batch(self, limit: int) -> list[OutboxItem]:
        def work() -> list[OutboxItem]:
            cursor = self._cursor()
            delivered = {
                r["seq"] for r in self._delivery.execute("SELECT seq FROM delivered").fetchall()
            }
            rows = self._store.execute(
                "SELECT seq, tbl, pk, rk, fields FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (cursor, limit + len(delivered)),
            ).fetchall()
            pending = [r for r in rows if r["seq"] not in delivered][:limit]
            attempts = dict(
                self._delivery.execute(
                    "SELECT seq, attempts FROM attempts WHERE seq >= ?",
                    (pending[0]["seq"] if pending else 0,),
                ).fetchall()
            )
            return [
                OutboxItem(
                    id=str(r["seq"]),
                    record=StoredRecord(r["tbl"], r["pk"], r["rk"], json.loads(r["fields"])),
                    attempts=attempts.get(r["seq"], 0),
                )
                for r in pending
            ]

        return await self._run(work)

    async def mark_delivered(self, ids: list[str]) -> None:
        def work() -> None:
            seqs = [(int(i),) for i in ids]
            with transaction(self._delivery):
                self._delivery.executemany("INSERT OR IGNORE INTO delivered VALUES (?)", seqs)
                self._delivery.executemany("DELETE FROM attempts WHERE seq = ?", seqs)
                cursor = self._cursor()
                delivered = {
                    r["seq"] for r in self._delivery.execute("SELECT seq FROM delivered").fetchall()
                }
                # Advance over the contiguous delivered prefix; the set beyond stays small.
                for row in self._store.execute(
                    "SELECT seq FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                    (cursor, len(delivered) + 1),
                ):
                    if row["seq"] not in delivered:
                        break
                    cursor = row["seq"]
                self._delivery.execute("UPDATE cursor SET seq = ?", (cursor,))
                self._delivery.execute("DELETE FROM delivered WHERE seq <= ?", (cursor,))

        await self._run(work)

    async def mark_failed(self, ids: list[str]) -> None:
        def work() -> None:
            with transaction(self._delivery):
                self._delivery.executemany(
                    "INSERT INTO attempts VALUES (?, 1) "
                    "ON CONFLICT(seq) DO UPDATE SET attempts = attempts + 1",
                    [(int(i),) for i in ids],
                )

        await self._run(work)

    async def backlog(self) -> int:
        def work() -> int:
            cursor = self._cursor()
            beyond = self._store.execute(
                "SELECT COUNT(*) AS n FROM outbox WHERE seq > ?", (cursor,)
            ).fetchone()["n"]
            done = self._delivery.execute("SELECT COUNT(*) AS n FROM delivered").fetchone()["n"]
            return int(beyond) - int(done)

        return await self._run(work)

    async def oldest_pending(self) -> datetime | None:
        """When the oldest record still to deliver was queued."""

        def work() -> datetime | None:
            delivered = {
                r["seq"] for r in self._delivery.execute("SELECT seq FROM delivered").fetchall()
            }
            rows = self._store.execute(
                "SELECT seq, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._cursor(), len(delivered) + 1),
            ).fetchall()
            pending = [r for r in rows if r["seq"] not in delivered]
            return datetime.fromisoformat(pending[0]["created_at"]) if pending else None

        return await self._run(work)

    async def metric_samples(self, partition_key: str) -> list[StoredRecord]:
        """Every metrics sample of one partition (a day) still in the store, delivered or not."""

        def work() -> list[StoredRecord]:
            rows = self._store.execute(
                f"SELECT tbl, pk, rk, fields FROM outbox WHERE tbl = '{METRICS_TABLE}' "  # noqa: S608
                "AND pk = ? ORDER BY seq",
                (partition_key,),
            ).fetchall()
            return [StoredRecord(r["tbl"], r["pk"], r["rk"], json.loads(r["fields"])) for r in rows]

        return await self._run(work)

    async def close(self) -> None:
        def work() -> None:
            self._store.close()
            self._delivery.close()

        await self._run(work)
        self._executor.shutdown(wait=True)
