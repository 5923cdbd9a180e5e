"""The idempotency ledger: every signal seen and every order intended, placed, acknowledged,
filled or rejected, written before the order leaves the process.

One order per signal is structural (the orders table is keyed by signal id), so a replayed
signal can never intend a second order. Each change and its audit record (queued in the outbox
of the same file) commit in one short transaction on the event loop (see system.edge.sqlite).
A signal's outcome is set once, when it reaches a terminal status; the replica that decided it
queues the outcome record, a replica that merely adopts another leader's decision does not.

What risk reads on every signal (the quantity live orders still have to fill, the orders of the
last minute, the day's committed premium) is kept in memory beside the rows it is derived from,
changed by the same methods, read from the file when the ledger opens, and read again if a
transaction rolls back: no query on the hot path.
"""

from __future__ import annotations

import bisect
import logging
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from system.domain.orders import Execution, InvalidTransition, OrderIntent, OrderStatus, advance
from system.domain.signals import Side, Signal
from system.edge import outbox_sqlite
from system.edge.sqlite import Synchronous, Transaction, connect, transaction
from system.ports import StoredRecord

log = logging.getLogger(__name__)

AUDIT_TABLE = "audit"
OUTCOMES_TABLE = "outcomes"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    decided_by TEXT,
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS signals_undecided ON signals(id) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS orders (
    signal_id TEXT PRIMARY KEY REFERENCES signals(id),
    contract TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    notional_cents INTEGER NOT NULL,
    day TEXT NOT NULL,
    status TEXT NOT NULL,
    filled INTEGER NOT NULL DEFAULT 0,
    broker_order_id INTEGER,
    perm_id INTEGER,
    reason TEXT,
    fencing_token INTEGER NOT NULL,
    intended_ns INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
-- Risk's figures are kept in memory (see _Book): indexes only it used cost every write.
DROP INDEX IF EXISTS orders_by_time;
DROP INDEX IF EXISTS orders_by_day;
DROP INDEX IF EXISTS orders_live;
CREATE TABLE IF NOT EXISTS executions (
    exec_id TEXT PRIMARY KEY,
    signal_id TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price TEXT NOT NULL,
    commission TEXT NOT NULL,
    executed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_signal ON executions(signal_id, executed_at);
CREATE TABLE IF NOT EXISTS committed (day TEXT PRIMARY KEY, cents INTEGER NOT NULL);
"""

_WORKING = (
    OrderStatus.INTENDED,
    OrderStatus.PLACED,
    OrderStatus.ACKNOWLEDGED,
    OrderStatus.PARTIALLY_FILLED,
)
_VOID = (OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)
_LIVE_SQL = "status IN (" + ",".join(f"'{s.value}'" for s in _WORKING) + ")"


@dataclass(frozen=True, slots=True)
class OrderRow:
    status: OrderStatus
    quantity: int
    filled: int
    broker_order_id: int | None
    perm_id: int | None


@dataclass(frozen=True, slots=True)
class Fill:
    quantity: int
    price: Decimal
    commission: Decimal


@dataclass(frozen=True, slots=True)
class Entry:
    """An undecided signal and, if one was intended, its order."""

    signal: Signal
    order: OrderRow | None


def day_of(moment: datetime) -> str:
    return moment.date().isoformat()


def minute_of(moment: datetime) -> str:
    """The partition of audit and outcome records: one per UTC minute, "2026-11-25T14:05".
    Table Storage serves a partition at up to 2,000 entities/s and Azurite scans a partition on
    every write, so a day's partition would be both a hot spot and ever slower; minutes still
    read as a day with a key range, and a minute's records still go out in batches."""
    return moment.astimezone(UTC).isoformat(timespec="minutes")[:16]  # strftime is 9x slower


MINUTE_NS = 60_000_000_000


@dataclass(slots=True)
class _Live:
    contract: str
    sign: int  # +1 buy, -1 sell
    quantity: int
    filled: int


class _Book:
    """Risk's view of the ledger, in memory: live orders and what they still have to fill, by
    contract; when the orders of the last minute were intended; committed premium by day."""

    def __init__(self) -> None:
        self.live: dict[str, _Live] = {}
        self.working: dict[str, int] = {}
        self.recent: list[int] = []  # intended_ns, ascending, at least the last minute's
        self.committed: dict[str, int] = {}

    @classmethod
    def load(cls, conn: sqlite3.Connection, now_ns: int) -> _Book:
        """What the file says, `now_ns` (time.time_ns) being now."""
        book = cls()
        for r in conn.execute(
            "SELECT signal_id, contract, side, quantity, filled FROM orders "  # noqa: S608
            f"WHERE {_LIVE_SQL}"
        ):
            sign = 1 if r["side"] == Side.BUY.value else -1
            book.add(r["signal_id"], _Live(r["contract"], sign, r["quantity"], r["filled"]))
        # Orders are inserted as they are intended: the last minute's are the last rows.
        for r in conn.execute("SELECT intended_ns FROM orders ORDER BY rowid DESC"):
            if r["intended_ns"] < now_ns - MINUTE_NS:
                break
            book.recent.append(r["intended_ns"])
        book.recent.sort()
        book.committed = {r["day"]: r["cents"] for r in conn.execute("SELECT * FROM committed")}
        return book

    def add(self, signal_id: str, live: _Live) -> None:
        self.live[signal_id] = live
        self._work(live.contract, live.sign * (live.quantity - live.filled))

    def change(self, signal_id: str, status: OrderStatus, filled: int) -> None:
        live = self.live.get(signal_id)
        if live is None:
            return
        before = live.quantity - live.filled
        if status in _WORKING:
            live.filled = filled
            self._work(live.contract, live.sign * (live.quantity - filled - before))
        else:
            del self.live[signal_id]
            self._work(live.contract, -live.sign * before)

    def _work(self, contract: str, delta: int) -> None:
        quantity = self.working.get(contract, 0) + delta
        if quantity:
            self.working[contract] = quantity
        else:
            self.working.pop(contract, None)

    def intended(self, at_ns: int) -> None:
        bisect.insort(self.recent, at_ns)  # an append, unless the wall clock stepped back

    def orders_since(self, since_ns: int) -> int:
        recent = self.recent
        old = bisect.bisect_left(recent, since_ns - MINUTE_NS)  # older than any window asks
        if old > len(recent) // 2:
            del recent[:old]
        return len(recent) - bisect.bisect_left(recent, since_ns)


class Ledger:
    def __init__(self, conn: sqlite3.Connection, replica: str) -> None:
        self._conn = conn
        self.replica = replica
        conn.executescript(_SCHEMA + outbox_sqlite.SCHEMA)
        self._book = _Book.load(conn, time.time_ns())

    @classmethod
    def open(
        cls,
        path: Path,
        replica: str,
        synchronous: Synchronous = Synchronous.NORMAL,
        autocheckpoint: bool = True,
    ) -> Ledger:
        """`autocheckpoint=False` for the trading hot path: the owner then calls
        system.edge.sqlite.checkpoint off the event loop."""
        conn = connect(path, synchronous=synchronous, autocheckpoint=autocheckpoint)
        return cls(conn, replica)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def atomic(self) -> Transaction:
        """Several ledger changes as one transaction (one commit); never hold it across an
        await, or another task's change would join it. Every change goes through here: if the
        outermost transaction rolls back, what is kept in memory is read again from the file."""
        return transaction(self._conn, self._reload)

    def rehearse(self, signal: Signal, intent: OrderIntent, token: int, now: datetime) -> None:
        """Observe `signal` and intend `intent` as the hot path does, then roll back: its
        statements, pages and records built and written, and nothing kept (Trader.rehearse).
        `signal` must have an id no signal has, or the inserts would be skipped; risk's book is
        set aside meanwhile."""
        if self._conn.in_transaction:
            return
        book, self._book = self._book, _Book()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self.observe(signal, now)
            self.intend(intent, token, now, time.time_ns())
        finally:
            self._conn.execute("ROLLBACK")
            self._book = book

    def _reload(self) -> None:
        self._book = _Book.load(self._conn, time.time_ns())

    # -- signals ---------------------------------------------------------------------------

    def observe(self, signal: Signal, now: datetime) -> bool:
        """Record a signal; False if it was seen before (a replay or a re-publish)."""
        with self.atomic():
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO signals (id, body, received_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (
                    signal.id,
                    signal.model_dump_json(),
                    now.isoformat(),
                    signal.expires_at.isoformat(),
                ),
            )
        return cursor.rowcount == 1

    def signal(self, signal_id: str) -> Signal | None:
        row = self._conn.execute("SELECT body FROM signals WHERE id = ?", (signal_id,)).fetchone()
        return None if row is None else Signal.model_validate_json(row["body"])

    def outcome(self, signal_id: str) -> tuple[OrderStatus, str] | None:
        row = self._conn.execute(
            "SELECT outcome, reason FROM signals WHERE id = ? AND outcome IS NOT NULL",
            (signal_id,),
        ).fetchone()
        return None if row is None else (OrderStatus(row["outcome"]), row["reason"] or "")

    def decide(
        self,
        signal_id: str,
        outcome: OrderStatus,
        reason: str,
        now: datetime,
        decided_by: str | None = None,
    ) -> bool:
        """Close a signal that has no order (rejected by risk, expired, unknown contract), or
        record another leader's decision. False if it already had an outcome."""
        if not outcome.is_terminal:
            raise ValueError(f"{outcome.value} is not an outcome")
        by = decided_by or self.replica
        with self.atomic():
            return self._close(signal_id, outcome, reason, now, by)

    def _close(
        self, signal_id: str, outcome: OrderStatus, reason: str, now: datetime, by: str
    ) -> bool:
        cursor = self._conn.execute(
            "UPDATE signals SET outcome = ?, reason = ?, decided_by = ?, decided_at = ? "
            "WHERE id = ? AND outcome IS NULL",
            (outcome.value, reason, by, now.isoformat(), signal_id),
        )
        if cursor.rowcount != 1:
            return False
        if by == self.replica:
            created = self._conn.execute(
                "SELECT json_extract(body, '$.created_at') AS at FROM signals WHERE id = ?",
                (signal_id,),
            ).fetchone()["at"]
            self._queue(
                StoredRecord(
                    OUTCOMES_TABLE,
                    minute_of(datetime.fromisoformat(created)),
                    signal_id,
                    {
                        "outcome": outcome.value,
                        "reason": reason,
                        "decided_by": by,
                        "decided_at": now.isoformat(),
                    },
                ),
                now,
            )
        return True

    # -- orders ----------------------------------------------------------------------------

    def intend(self, intent: OrderIntent, token: int, now: datetime, now_ns: int) -> bool:
        """The order is about to be written to the broker; False if the signal has one."""
        cents = int(intent.notional * 100)
        contract = intent.contract.local_symbol
        day = day_of(now)
        with self.atomic():
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO orders (signal_id, contract, side, quantity, "
                "notional_cents, day, status, fencing_token, intended_ns, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    intent.signal_id,
                    contract,
                    intent.side.value,
                    intent.quantity,
                    cents,
                    day,
                    OrderStatus.INTENDED.value,
                    token,
                    now_ns,
                    now.isoformat(),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._commit_notional(day, cents)
            self._audit(
                intent.signal_id,
                OrderStatus.INTENDED.value,
                now,
                {
                    "contract": contract,
                    "side": intent.side.value,
                    "quantity": intent.quantity,
                    "order_type": intent.order_type.value,
                    "limit_price": str(intent.limit_price or ""),
                    "fencing_token": token,
                },
            )
            sign = 1 if intent.side is Side.BUY else -1
            self._book.add(intent.signal_id, _Live(contract, sign, intent.quantity, 0))
            self._book.intended(now_ns)
        return True

    def order(self, signal_id: str) -> OrderRow | None:
        row = self._conn.execute(
            "SELECT status, quantity, filled, broker_order_id, perm_id FROM orders "
            "WHERE signal_id = ?",
            (signal_id,),
        ).fetchone()
        return None if row is None else _order_row(row)

    def update(
        self,
        signal_id: str,
        status: OrderStatus,
        now: datetime,
        *,
        broker_order_id: int | None = None,
        perm_id: int | None = None,
        filled: int | None = None,
        reason: str = "",
    ) -> OrderStatus | None:
        """Apply a broker event. Returns the new status if it changed the order (its status or
        its filled quantity), None if not: no such order, a repeat, or a move backwards (brokers
        resend; late events are ignored). A terminal status returned means it just became so."""
        with self.atomic():
            row = self._conn.execute(
                "SELECT status, filled, day, notional_cents FROM orders WHERE signal_id = ?",
                (signal_id,),
            ).fetchone()
            if row is None:
                return None
            current = OrderStatus(row["status"])
            try:
                new = advance(current, status)
            except InvalidTransition as error:
                log.debug("ignored for %s: %s", signal_id, error)
                return None
            new_filled = row["filled"] if filled is None else max(filled, row["filled"])
            if new == current and new_filled == row["filled"]:
                self._set_ids(signal_id, broker_order_id, perm_id)
                return None
            self._conn.execute(
                "UPDATE orders SET status = ?, filled = ?, "
                "reason = COALESCE(NULLIF(?, ''), reason), updated_at = ? WHERE signal_id = ?",
                (new.value, new_filled, reason, now.isoformat(), signal_id),
            )
            self._set_ids(signal_id, broker_order_id, perm_id)
            self._book.change(signal_id, new, new_filled)
            if new in _VOID and new_filled == 0:  # nothing traded: its premium is free again
                self._commit_notional(row["day"], -row["notional_cents"])
            partial = new is OrderStatus.PARTIALLY_FILLED
            self._audit(
                signal_id,
                new.value,
                now,
                {"filled": new_filled, "reason": reason, "broker_order_id": broker_order_id or 0},
                key=f"{new.value}.{new_filled}" if partial else None,
            )
            if new.is_terminal:
                self._close(signal_id, new, reason, now, self.replica)
        return new

    def _set_ids(self, signal_id: str, broker_order_id: int | None, perm_id: int | None) -> None:
        self._conn.execute(
            "UPDATE orders SET broker_order_id = COALESCE(?, broker_order_id), "
            "perm_id = COALESCE(?, perm_id) WHERE signal_id = ?",
            (broker_order_id, perm_id, signal_id),
        )

    def add_execution(self, execution: Execution, now: datetime) -> bool:
        """Record a fill once (exec ids are unique for ever); False if already recorded."""
        with self.atomic():
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO executions VALUES (?, ?, ?, ?, ?, ?)",
                (
                    execution.exec_id,
                    execution.order_ref,
                    execution.quantity,
                    str(execution.price),
                    str(execution.commission),
                    execution.executed_at.isoformat(),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._audit(
                execution.order_ref,
                "execution",
                now,
                {
                    "exec_id": execution.exec_id,
                    "contract": execution.contract.local_symbol,
                    "side": execution.side.value,
                    "quantity": execution.quantity,
                    "price": str(execution.price),
                    "commission": str(execution.commission),
                    "executed_at": execution.executed_at.isoformat(),
                },
                key=f"exec.{execution.exec_id}",
                # When it happened, not when this replica learnt of it: a new leader records
                # the day's executions again, and must write the same record, not a second one.
                at=execution.executed_at,
            )
        return True

    def fills(self, signal_id: str) -> list[Fill]:
        rows = self._conn.execute(
            "SELECT quantity, price, commission FROM executions WHERE signal_id = ? "
            "ORDER BY executed_at",
            (signal_id,),
        ).fetchall()
        return [
            Fill(int(r["quantity"]), Decimal(r["price"]), Decimal(r["commission"])) for r in rows
        ]

    # -- what reconciliation and risk read -------------------------------------------------

    def undecided(self, expired_at: datetime | None = None) -> list[Entry]:
        """Signals without an outcome, oldest first; with `expired_at`, only those whose signal
        has expired by then (the others' bodies are not even parsed: the sweep asks every
        second, while resting orders keep hundreds of signals open)."""
        rows = self._conn.execute(
            "SELECT s.body, s.expires_at, o.status, o.quantity, o.filled, o.broker_order_id, "
            "o.perm_id FROM signals s LEFT JOIN orders o ON o.signal_id = s.id "
            "WHERE s.outcome IS NULL ORDER BY s.received_at"
        ).fetchall()
        if expired_at is not None:
            rows = [r for r in rows if datetime.fromisoformat(r["expires_at"]) <= expired_at]
        return [
            Entry(
                Signal.model_validate_json(r["body"]),
                None if r["status"] is None else _order_row(r),
            )
            for r in rows
        ]

    def undecided_ids(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT id FROM signals WHERE outcome IS NULL ORDER BY received_at"
        ).fetchall()
        return [r["id"] for r in rows]

    def working(self) -> dict[str, int]:
        """Signed quantity still to be filled by live orders, by OCC local symbol."""
        return dict(self._book.working)

    def orders_since(self, since_ns: int) -> int:
        """Orders intended at or after `since_ns` (time.time_ns), at most a minute ago: the
        ledger keeps in memory only the last minute's."""
        return self._book.orders_since(since_ns)

    def committed_notional(self, day: str) -> Decimal:
        """Premium of the day's orders that were not rejected, cancelled unfilled or expired
        (kept as a running total, maintained with each order's changes)."""
        return Decimal(self._book.committed.get(day, 0)) / 100

    def _commit_notional(self, day: str, cents: int) -> None:
        self._conn.execute(
            "INSERT INTO committed VALUES (?, ?) "
            "ON CONFLICT(day) DO UPDATE SET cents = cents + excluded.cents",
            (day, cents),
        )
        self._book.committed[day] = self._book.committed.get(day, 0) + cents

    def max_broker_order_id(self) -> int:
        row = self._conn.execute(
            "SELECT COALESCE(MAX(broker_order_id), 0) AS m FROM orders"
        ).fetchone()
        return int(row["m"])

    # -- audit -----------------------------------------------------------------------------

    def _audit(
        self,
        signal_id: str,
        event: str,
        now: datetime,
        fields: dict[str, object],
        key: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """One audit record of what happened `at` (default `now`), in that minute's partition,
        row key `signal_id.key` (`key` defaults to the event). `event` is a kind that telemetry
        counts by: never an id, or each would be a new metric series."""
        at = at or now
        self._queue(
            StoredRecord(
                AUDIT_TABLE,
                minute_of(at),
                f"{signal_id}.{key or event}",
                {
                    "signal_id": signal_id,
                    "event": event,
                    "replica": self.replica,
                    "at": at.isoformat(),
                    **fields,
                },
            ),
            now,
        )

    def _queue(self, record: StoredRecord, now: datetime) -> None:
        outbox_sqlite.append(self._conn, record, now)

    def queue(self, records: list[StoredRecord], now: datetime) -> None:
        """Queue records that belong to no ledger change (metrics samples)."""
        with self.atomic():
            for record in records:
                self._queue(record, now)

    def undecided_count(self) -> int:
        row = self._conn.execute("SELECT COUNT(*) AS n FROM signals WHERE outcome IS NULL")
        return int(row.fetchone()["n"])


def _order_row(row: sqlite3.Row) -> OrderRow:
    return OrderRow(
        status=OrderStatus(row["status"]),
        quantity=int(row["quantity"]),
        filled=int(row["filled"]),
        broker_order_id=row["broker_order_id"],
        perm_id=row["perm_id"],
    )
