"""Persistence: snapshot + journal round trips, torn writes, ids that never roll back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fakes.tws.account import Position
from fakes.tws.ids import BLOCK, Counters, Ids
from fakes.tws.instruments import SPY, Instruments
from fakes.tws.orders import Execution, Order
from fakes.tws.state import (
    SavedState,
    StateError,
    StateStore,
    execution_record,
    order_record,
    position_record,
)

CHAIN = Instruments(dt.date(2024, 1, 15), 470.0)
OPTION = CHAIN.options[100]


def order(perm_id: int, order_id: int, status: str = "Filled", good_till_ns: int | None = None
          ) -> Order:  # fmt: skip
    return Order(perm_id, 1, order_id, OPTION, "BUY", 1.0, "LMT", 1.5, None,
                 "DAY" if good_till_ns is None else "GTD", "DU1", f"ref-{order_id}", False,
                 good_till_ns=good_till_ns, status=status, acked_at_ns=5)  # fmt: skip


def execution(exec_id: str, perm_id: int) -> Execution:
    return Execution(exec_id, perm_id, 1, 1, OPTION, "BOT", 1.0, 1.5, 9, 1.0, 1.5, "r", "DU1",
                     1.0, None)  # fmt: skip


def test_snapshot_round_trip_shares_contracts_with_the_chain(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    saved = SavedState(
        Counters(8, 1000010, 3),
        123.5,
        {
            1000008: order(1000008, 6),
            1000009: order(1000009, 7, "Submitted", 1_705_340_000 * 10**9),
        },
        {"e1": execution("e1", 1000008)},
        {OPTION.con_id: Position(OPTION, 1.0, 151.0), SPY.con_id: Position(SPY, -2.0, 470.0)},
    )
    store.compact(saved)
    loaded = StateStore(tmp_path / "state.json").load(CHAIN)
    assert loaded == saved
    assert loaded.orders[1000008].contract is CHAIN.by_con_id[OPTION.con_id]


def test_journal_replays_over_the_snapshot_idempotently(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = StateStore(path)
    store.compact(SavedState())
    working = order(1000001, 1, status="Submitted")
    store.append("order", order_record(working))
    working.status = "Filled"
    store.append("order", order_record(working))
    store.append("execution", execution_record(execution("e1", 1000001)))
    store.append("execution", execution_record(execution("e1", 1000001)))
    store.append("position", position_record(Position(OPTION, 1.0, 151.0)))
    store.append("cash", 99.0)
    store.flush()
    loaded = StateStore(path).load(CHAIN)
    assert loaded.orders[1000001].status == "Filled"
    assert list(loaded.executions) == ["e1"]
    assert loaded.cash == 99.0
    assert loaded.counters.next_order_id == 2
    assert loaded.counters.next_perm_id == 1000002


def test_a_torn_last_journal_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = StateStore(path)
    store.append("order", order_record(order(1000001, 1)))
    store.flush()
    with store.journal_path.open("a") as journal:
        journal.write('{"kind": "order", "val')
    assert list(StateStore(path).load(CHAIN).orders) == [1000001]


def test_compaction_is_atomic_and_empties_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = StateStore(path)
    store.append("cash", 5.0)
    store.flush()
    store.compact(SavedState(cash=5.0))
    assert not store.journal_path.exists()
    assert not path.with_name("state.json.tmp").exists()
    assert json.loads(path.read_text())["cash"] == 5.0


@pytest.mark.parametrize("content", ["{", '{"format": 99}', '{"format": 1}'])
def test_unusable_state_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateError):
        StateStore(path).load(CHAIN)


def test_ids_reserve_ahead_so_a_crash_never_rolls_them_back(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = StateStore(path)

    def reserve(ceiling: Counters) -> None:
        store.append("counters", ceiling.as_dict())
        store.flush()

    ids = Ids(Counters(), reserve)
    ids.saw_order_id(41)
    issued = [ids.perm_id() for _ in range(3)], [ids.exec_id() for _ in range(3)]
    # Crash: nothing but the reservations reached the disk.
    after = StateStore(path).load(CHAIN).counters
    assert after.next_order_id > 41
    assert after.next_perm_id > max(issued[0])
    assert after.next_exec_seq > 3
    assert after.next_order_id <= 42 + BLOCK


def test_a_clean_shutdown_does_not_skip_ids(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    ids = Ids(Counters(), lambda ceiling: None)
    ids.saw_order_id(9)
    store.compact(SavedState(counters=ids.current()))
    assert StateStore(tmp_path / "state.json").load(CHAIN).counters.next_order_id == 10


def test_exec_ids_are_unique_and_ib_shaped() -> None:
    ids = Ids(Counters(next_exec_seq=(1 << 20) - 1), lambda ceiling: None)
    first, second = ids.exec_id(), ids.exec_id()
    assert first != second
    assert second == "00000001.00000.01.01"
