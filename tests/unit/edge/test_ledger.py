import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from system.domain.orders import OrderStatus
from system.domain.signals import Side
from system.edge.ledger import AUDIT_TABLE, OUTCOMES_TABLE, Ledger
from system.edge.sqlite import checkpoint, connect, transaction
from tests.unit.edge.builders import CALL, NOW, execution, make_intent, make_signal


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "ledger.sqlite", "bot-1")


def queued(ledger: Ledger, table: str) -> list[str]:
    rows = ledger.connection.execute(
        "SELECT rk FROM outbox WHERE tbl = ? ORDER BY seq", (table,)
    ).fetchall()
    return [r["rk"] for r in rows]


class TestSignals:
    def test_a_signal_is_recorded_once(self, ledger: Ledger) -> None:
        signal = make_signal()
        assert ledger.observe(signal, NOW)
        assert not ledger.observe(signal, NOW)
        assert ledger.signal(signal.id) == signal
        assert [e.signal for e in ledger.undecided()] == [signal]

    def test_a_decision_closes_a_signal_once_and_queues_one_outcome(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        assert ledger.decide(signal.id, OrderStatus.REJECTED, "kill switch is on", NOW)
        assert not ledger.decide(signal.id, OrderStatus.EXPIRED, "later", NOW)
        assert ledger.outcome(signal.id) == (OrderStatus.REJECTED, "kill switch is on")
        assert queued(ledger, OUTCOMES_TABLE) == [signal.id]
        assert ledger.undecided() == []

    def test_the_undecided_are_listed_all_or_those_expired_by_a_moment(
        self, ledger: Ledger
    ) -> None:
        short, long, decided = (make_signal(n, ttl_s=ttl) for n, ttl in ((1, 5), (2, 60), (3, 5)))
        for n, signal in enumerate((short, long, decided)):
            ledger.observe(signal, NOW + timedelta(milliseconds=n))
        ledger.decide(decided.id, OrderStatus.REJECTED, "kill switch is on", NOW)
        assert ledger.undecided_ids() == [short.id, long.id]
        assert [e.signal for e in ledger.undecided()] == [short, long]
        assert ledger.undecided(expired_at=NOW + timedelta(seconds=4.9)) == []
        expired = ledger.undecided(expired_at=short.expires_at)  # expired at its expiry
        assert [e.signal for e in expired] == [short]

    def test_another_leaders_decision_is_recorded_but_not_queued(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        assert ledger.decide(signal.id, OrderStatus.FILLED, "", NOW, decided_by="bot-2")
        assert queued(ledger, OUTCOMES_TABLE) == []

    def test_only_terminal_statuses_are_outcomes(self, ledger: Ledger) -> None:
        with pytest.raises(ValueError, match="not an outcome"):
            ledger.decide("sig-x", OrderStatus.PLACED, "", NOW)


class TestOrders:
    def test_one_order_per_signal(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        assert ledger.intend(make_intent(signal), 1, NOW, 0)
        assert not ledger.intend(make_intent(signal, quantity=2), 2, NOW, 0)
        order = ledger.order(signal.id)
        assert order is not None
        assert (order.status, order.quantity) == (OrderStatus.INTENDED, 1)

    def test_the_lifecycle_is_audited_and_ends_in_one_outcome(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        ledger.intend(make_intent(signal, quantity=2), 1, NOW, 0)
        assert ledger.update(signal.id, OrderStatus.PLACED, NOW, broker_order_id=7)
        assert ledger.update(signal.id, OrderStatus.ACKNOWLEDGED, NOW, perm_id=99)
        assert ledger.update(signal.id, OrderStatus.PARTIALLY_FILLED, NOW, filled=1)
        assert ledger.update(signal.id, OrderStatus.FILLED, NOW, filled=2)
        assert ledger.outcome(signal.id) == (OrderStatus.FILLED, "")
        assert queued(ledger, AUDIT_TABLE) == [
            f"{signal.id}.{event}"
            for event in ("intended", "placed", "acknowledged", "partially_filled.1", "filled")
        ]
        assert queued(ledger, OUTCOMES_TABLE) == [signal.id]
        order = ledger.order(signal.id)
        assert order is not None
        assert (order.broker_order_id, order.perm_id, order.filled) == (7, 99, 2)

    def test_repeats_and_late_events_change_nothing(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        ledger.intend(make_intent(signal), 1, NOW, 0)
        ledger.update(signal.id, OrderStatus.ACKNOWLEDGED, NOW)
        assert ledger.update(signal.id, OrderStatus.ACKNOWLEDGED, NOW) is None
        ledger.update(signal.id, OrderStatus.FILLED, NOW, filled=1)
        assert ledger.update(signal.id, OrderStatus.CANCELLED, NOW) is None
        assert ledger.update(signal.id, OrderStatus.PLACED, NOW) is None
        assert ledger.update("sig-unknown", OrderStatus.FILLED, NOW) is None
        assert ledger.outcome(signal.id) == (OrderStatus.FILLED, "")

    def test_a_rejection_keeps_the_brokers_reason(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        ledger.intend(make_intent(signal), 1, NOW, 0)
        ledger.update(signal.id, OrderStatus.REJECTED, NOW, reason="200: No security definition")
        assert ledger.outcome(signal.id) == (OrderStatus.REJECTED, "200: No security definition")

    def test_executions_are_recorded_once(self, ledger: Ledger) -> None:
        signal = make_signal()
        ledger.observe(signal, NOW)
        assert ledger.add_execution(execution(signal), NOW)
        assert not ledger.add_execution(execution(signal), NOW)
        assert [f.quantity for f in ledger.fills(signal.id)] == [1]
        assert queued(ledger, AUDIT_TABLE) == [f"{signal.id}.exec.0001.01"]

    def test_replicas_recording_one_execution_at_different_times_write_one_record(
        self, tmp_path: Path
    ) -> None:
        """A new leader records the day's executions again (reqExecutions on reconcile)."""
        signal = make_signal()
        identities = []
        for replica, learnt in (("bot-0", NOW), ("bot-1", NOW + timedelta(minutes=3))):
            other = Ledger.open(tmp_path / replica / "ledger.sqlite", replica)
            other.add_execution(execution(signal), learnt)
            identities.append(other.connection.execute("SELECT id FROM outbox").fetchall())
        assert identities[0] == identities[1]

    def test_audit_events_are_kinds_and_row_keys_tell_instances_apart(self, ledger: Ledger) -> None:
        """Telemetry counts audit records by event: an id in it would be a new series each."""
        signal = make_signal()
        ledger.observe(signal, NOW)
        ledger.intend(make_intent(signal), 1, NOW, 0)
        ledger.update(signal.id, OrderStatus.PARTIALLY_FILLED, NOW, filled=1)
        ledger.add_execution(execution(signal), NOW)
        rows = ledger.connection.execute(
            "SELECT rk, fields FROM outbox WHERE tbl = ? ORDER BY seq", (AUDIT_TABLE,)
        ).fetchall()
        assert [(r["rk"], json.loads(r["fields"])["event"]) for r in rows] == [
            (f"{signal.id}.intended", "intended"),
            (f"{signal.id}.partially_filled.1", "partially_filled"),
            (f"{signal.id}.exec.0001.01", "execution"),
        ]

    def test_audit_records_are_partitioned_by_minute_and_outcomes_by_the_signals(
        self, ledger: Ledger
    ) -> None:
        """Partitions stay small: Azurite scans one on every write (a day's slowed it tenfold)."""
        created = datetime(2026, 11, 24, 10, 29, 59, tzinfo=timezone(timedelta(hours=-5)))
        signal = make_signal(created=created)
        ledger.observe(signal, NOW)
        ledger.intend(make_intent(signal), 1, NOW + timedelta(seconds=61), 0)
        ledger.update(signal.id, OrderStatus.FILLED, NOW + timedelta(seconds=125), filled=1)
        rows = ledger.connection.execute("SELECT tbl, pk FROM outbox ORDER BY seq").fetchall()
        assert [(r["tbl"], r["pk"]) for r in rows] == [
            (AUDIT_TABLE, "2026-11-24T15:31"),
            (AUDIT_TABLE, "2026-11-24T15:32"),
            (OUTCOMES_TABLE, "2026-11-24T15:29"),
        ]


class TestWhatRiskReads:
    def test_working_quantity_is_signed_and_excludes_fills(self, ledger: Ledger) -> None:
        buy, done, sell = make_signal(0), make_signal(1), make_signal(2, side=Side.SELL)
        for s in (buy, sell, done):
            ledger.observe(s, NOW)
        ledger.intend(make_intent(buy, quantity=3), 1, NOW, 0)
        ledger.update(buy.id, OrderStatus.PARTIALLY_FILLED, NOW, filled=1)
        ledger.intend(make_intent(sell, quantity=1), 1, NOW, 0)
        ledger.intend(make_intent(done, quantity=5), 1, NOW, 0)
        ledger.update(done.id, OrderStatus.CANCELLED, NOW)
        assert ledger.working() == {buy.contract.local_symbol: 2 - 1}

    def test_orders_per_window_and_committed_notional(self, ledger: Ledger) -> None:
        signals = [make_signal(n) for n in range(3)]
        for n, s in enumerate(signals):
            ledger.observe(s, NOW)
            ledger.intend(make_intent(s, quantity=2, price="1.50"), 1, NOW, n * 1000)
        ledger.update(signals[2].id, OrderStatus.REJECTED, NOW)
        assert ledger.orders_since(1000) == 2
        day = NOW.date().isoformat()
        assert ledger.committed_notional(day) == Decimal("600")  # 2 orders x 2 x 1.50 x 100
        assert ledger.committed_notional((NOW + timedelta(days=1)).date().isoformat()) == 0

    def test_what_risk_reads_is_what_the_file_says(self, tmp_path: Path) -> None:
        path = tmp_path / "ledger.sqlite"
        ledger = Ledger.open(path, "bot-1")
        signals = [make_signal(n, side=Side.SELL if n % 3 == 0 else Side.BUY) for n in range(9)]
        for n, s in enumerate(signals):
            ledger.observe(s, NOW)
            ledger.intend(make_intent(s, quantity=1 + n % 4), 1, NOW, time.time_ns())
        ledger.update(signals[1].id, OrderStatus.PARTIALLY_FILLED, NOW, filled=1)
        ledger.update(signals[2].id, OrderStatus.FILLED, NOW, filled=3)
        ledger.update(signals[3].id, OrderStatus.CANCELLED, NOW)
        ledger.update(signals[4].id, OrderStatus.ACKNOWLEDGED, NOW)
        ledger.update(signals[4].id, OrderStatus.PARTIALLY_FILLED, NOW, filled=1)
        ledger.update(signals[4].id, OrderStatus.CANCELLED, NOW, filled=1)
        ledger.update(signals[5].id, OrderStatus.REJECTED, NOW)
        reopened = Ledger.open(path, "bot-1")
        day = NOW.date().isoformat()
        minute_ago = time.time_ns() - 60_000_000_000
        for view in (ledger, reopened):
            # live: 0 sells 1, 1 buys 2 (1 filled), 6 sells 3, 7 buys 4, 8 buys 1
            assert view.working() == {CALL.local_symbol: -1 + (2 - 1) - 3 + 4 + 1}
            assert view.orders_since(minute_ago) == 9
            # all 21 contracts at 2.55 x 100, but for 3 and 5, void with nothing filled
            assert view.committed_notional(day) == Decimal(255) * (21 - 4 - 2)

    def test_a_rolled_back_change_is_forgotten(self, ledger: Ledger) -> None:
        kept, dropped = make_signal(0), make_signal(1)
        ledger.observe(kept, NOW)
        ledger.intend(make_intent(kept), 1, NOW, time.time_ns())

        def fail_after_changes() -> None:
            with ledger.atomic():
                ledger.observe(dropped, NOW)
                ledger.intend(make_intent(dropped, quantity=4), 1, NOW, time.time_ns())
                ledger.update(kept.id, OrderStatus.FILLED, NOW, filled=1)
                raise RuntimeError("the order was not written")

        with pytest.raises(RuntimeError):
            fail_after_changes()
        assert ledger.order(dropped.id) is None
        assert ledger.working() == {CALL.local_symbol: 1}
        assert ledger.orders_since(time.time_ns() - 60_000_000_000) == 1
        assert ledger.committed_notional(NOW.date().isoformat()) == Decimal(255)


def _contents(ledger: Ledger) -> dict[str, object]:
    """Every table's rows, and risk's figures kept in memory."""
    conn = ledger.connection
    tables = [r["name"] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")]
    rows: dict[str, object] = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}  # noqa: S608
    rows["working"] = ledger.working()
    rows["recent"] = ledger.orders_since(time.time_ns() - 60_000_000_000)
    rows["committed"] = ledger.committed_notional(NOW.date().isoformat())
    return {name: [tuple(r) for r in v] if isinstance(v, list) else v for name, v in rows.items()}


class TestRehearsal:
    def test_a_rehearsal_inserts_what_trading_does_and_keeps_none_of_it(
        self, ledger: Ledger
    ) -> None:
        traded = make_signal(0)
        ledger.observe(traded, NOW)
        ledger.intend(make_intent(traded), 1, NOW, time.time_ns())
        before, changes = _contents(ledger), ledger.connection.total_changes
        rehearsed = traded.model_copy(update={"id": "sig-rehearsal"})
        ledger.rehearse(rehearsed, make_intent(rehearsed), 1, NOW)
        # the signal, the order, the day's committed premium and the audit record were written
        assert ledger.connection.total_changes - changes == 4
        assert not ledger.connection.in_transaction
        assert _contents(ledger) == before

    def test_inside_a_transaction_a_rehearsal_does_nothing_and_leaves_it_open(
        self, ledger: Ledger
    ) -> None:
        signal = make_signal()
        with ledger.atomic():
            ledger.observe(signal, NOW)
            changes = ledger.connection.total_changes
            rehearsed = signal.model_copy(update={"id": "sig-rehearsal"})
            ledger.rehearse(rehearsed, make_intent(rehearsed), 1, NOW)
            assert ledger.connection.total_changes == changes
            assert ledger.connection.in_transaction
        assert ledger.signal(signal.id) == signal


class TestTransaction:
    def test_a_failed_commit_rolls_back_and_the_next_transaction_works(self) -> None:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.executescript(
            "PRAGMA foreign_keys=ON; CREATE TABLE parent (id INTEGER PRIMARY KEY);"
            "CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY "
            "DEFERRED);"
        )
        rolled_back: list[bool] = []

        def orphan() -> None:  # the deferred constraint fails at COMMIT
            with transaction(conn, lambda: rolled_back.append(True)):
                conn.execute("INSERT INTO child VALUES (1)")

        with pytest.raises(sqlite3.IntegrityError):
            orphan()
        assert (conn.in_transaction, rolled_back) == (False, [True])
        with transaction(conn), transaction(conn):  # the inner one joins the outer
            conn.execute("INSERT INTO parent VALUES (1)")
            conn.execute("INSERT INTO child VALUES (1)")
        assert conn.execute("SELECT COUNT(*) FROM child").fetchone() == (1,)


def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    first = Ledger.open(path, "bot-1")
    signal = make_signal()
    first.observe(signal, NOW)
    first.intend(make_intent(signal), 1, NOW, 0)
    first.close()
    again = Ledger.open(path, "bot-1")
    entries = again.undecided()
    assert [e.signal.id for e in entries] == [signal.id]
    assert entries[0].order is not None
    assert entries[0].order.status is OrderStatus.INTENDED
    assert connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_without_autocheckpoint_the_wal_waits_for_an_explicit_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    wal = path.with_name(path.name + "-wal")
    ledger = Ledger.open(path, "bot-1", autocheckpoint=False)
    page = int(ledger.connection.execute("PRAGMA page_size").fetchone()[0])
    empty = path.stat().st_size
    for n in range(1500):  # a commit each: past the 1000 pages after which one would checkpoint
        ledger.observe(make_signal(n), NOW)
    assert wal.stat().st_size > 1100 * page  # nothing was copied back on commit
    assert path.stat().st_size == empty
    checkpoint(path)
    assert path.stat().st_size > empty + 100 * page  # the signals are in the database file
    assert ledger.signal(make_signal(1499).id) is not None
