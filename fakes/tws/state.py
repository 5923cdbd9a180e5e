"""Persisted gateway state: orders, executions, positions, cash and id counters.

Two files: the snapshot `F` (JSON, replaced atomically via a temp file + os.replace, so it is
never half-written) and an append-only journal `F.journal` of idempotent upserts written
between snapshots. Loading replays the journal over the snapshot (a torn last line is
ignored) and compacts both into a fresh snapshot. Id reservations are flushed at once, so a
crash can lose the last unflushed order updates but never lets an id roll back.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fakes.tws.account import START_CASH, Position
from fakes.tws.ids import Counters
from fakes.tws.instruments import Contract, Instruments
from fakes.tws.orders import Execution, Order

FORMAT_VERSION = 1
Record = dict[str, Any]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class StateError(Exception):
    """The state file exists but cannot be used; the simulator refuses to start."""


@dataclass
class SavedState:
    counters: Counters = field(default_factory=Counters)
    cash: float = START_CASH
    orders: dict[int, Order] = field(default_factory=dict)  # by permId
    executions: dict[str, Execution] = field(default_factory=dict)  # by execId
    positions: dict[int, Position] = field(default_factory=dict)  # by conId


# -- records ---------------------------------------------------------------------------------

_CONTRACT_FIELDS = Contract.__slots__


@functools.cache  # contracts are frozen and shared; every order record repeats one
def _contract_record(c: Contract) -> Record:
    return {name: getattr(c, name) for name in _CONTRACT_FIELDS}


def order_record(o: Order) -> Record:
    return {
        "perm_id": o.perm_id,
        "client_id": o.client_id,
        "order_id": o.order_id,
        "contract": _contract_record(o.contract),
        "action": o.action,
        "quantity": o.quantity,
        "order_type": o.order_type,
        "lmt_price": o.lmt_price,
        "aux_price": o.aux_price,
        "tif": o.tif,
        "account": o.account,
        "order_ref": o.order_ref,
        "outside_rth": o.outside_rth,
        "good_till_ns": o.good_till_ns,
        "status": o.status,
        "filled": o.filled,
        "avg_fill_price": o.avg_fill_price,
        "last_fill_price": o.last_fill_price,
        "commission": o.commission,
        "received_at_ns": o.received_at_ns,
        "acked_at_ns": o.acked_at_ns,
        "completed_at_ns": o.completed_at_ns,
    }


def execution_record(e: Execution) -> Record:
    return {
        "exec_id": e.exec_id,
        "perm_id": e.perm_id,
        "order_id": e.order_id,
        "client_id": e.client_id,
        "contract": _contract_record(e.contract),
        "side": e.side,
        "shares": e.shares,
        "price": e.price,
        "time_ns": e.time_ns,
        "cum_qty": e.cum_qty,
        "avg_price": e.avg_price,
        "order_ref": e.order_ref,
        "account": e.account,
        "commission": e.commission,
        "realized_pnl": e.realized_pnl,
    }


def position_record(p: Position) -> Record:
    return {
        "contract": _contract_record(p.contract),
        "quantity": p.quantity,
        "avg_cost": p.avg_cost,
        "realized_pnl": p.realized_pnl,
    }


class _Reader:
    """Rebuilds objects from records, sharing Contract objects with the live instrument set."""

    def __init__(self, instruments: Instruments) -> None:
        self._instruments = instruments

    def contract(self, record: Record) -> Contract:
        known = self._instruments.by_con_id.get(int(record["con_id"]))
        return known if known is not None else Contract(**record)

    def order(self, r: Record) -> Order:
        return Order(**{**r, "contract": self.contract(r["contract"])})

    def execution(self, r: Record) -> Execution:
        return Execution(**{**r, "contract": self.contract(r["contract"])})

    def position(self, r: Record) -> Position:
        return Position(**{**r, "contract": self.contract(r["contract"])})


def apply(state: SavedState, kind: str, value: Any, reader: _Reader) -> None:
    """One journal upsert; applying a record twice changes nothing."""
    if kind == "order":
        order = reader.order(value)
        state.orders[order.perm_id] = order
    elif kind == "execution":
        execution = reader.execution(value)
        state.executions[execution.exec_id] = execution
    elif kind == "position":
        position = reader.position(value)
        state.positions[position.contract.con_id] = position
    elif kind == "cash":
        state.cash = float(value)
    elif kind == "counters":
        state.counters = state.counters.merge(Counters(**value))
    else:
        raise StateError(f"unknown journal record kind {kind!r}")


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        self._journal: TextIO | None = None
        self._pending: list[str] = []
        self._lines = 0

    # -- loading -----------------------------------------------------------------------------

    def load(self, instruments: Instruments) -> SavedState:
        reader = _Reader(instruments)
        state = SavedState()
        try:
            if self.path.exists():
                snapshot = json.loads(self.path.read_text())
                if snapshot.get("format") != FORMAT_VERSION:
                    raise StateError(f"{self.path}: unsupported format {snapshot.get('format')}")
                for kind in ("order", "execution", "position"):
                    for record in snapshot[kind + "s"]:
                        apply(state, kind, record, reader)
                apply(state, "cash", snapshot["cash"], reader)
                apply(state, "counters", snapshot["counters"], reader)
            if self.journal_path.exists():
                for line in self.journal_path.read_text().splitlines():
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        break  # a torn last line from a crash: everything before it counts
                    apply(state, entry["kind"], entry["value"], reader)
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise StateError(f"{self.path}: unreadable state: {error}") from None
        # Ids in use must stay behind the counters even if a reservation record was lost.
        seen = Counters(
            max((o.order_id for o in state.orders.values()), default=0) + 1,
            max((o.perm_id for o in state.orders.values()), default=0) + 1,
        )
        state.counters = state.counters.merge(seen)
        return state

    # -- writing -----------------------------------------------------------------------------

    def append(self, kind: str, value: Any) -> None:
        """Queue one upsert; `flush` writes the queue (the server flushes once per batch)."""
        self._pending.append(_dumps({"kind": kind, "value": value}))

    def flush(self) -> None:
        if not self._pending:
            return
        if self._journal is None:
            self._journal = self.journal_path.open("a")
        self._journal.write("\n".join(self._pending) + "\n")
        self._journal.flush()
        self._lines += len(self._pending)
        self._pending.clear()

    def needs_compaction(self, records: int) -> bool:
        """Compact when the journal outgrows the state it describes (amortised O(1))."""
        return self._lines > max(50_000, 2 * records)

    def compact(self, state: SavedState) -> None:
        """Write a full snapshot atomically (streamed record by record, so its size never
        sits in memory twice), then start an empty journal."""
        self.flush()
        temp = self.path.with_name(self.path.name + ".tmp")
        sections = (
            ("orders", map(order_record, state.orders.values())),
            ("executions", map(execution_record, state.executions.values())),
            ("positions", map(position_record, state.positions.values())),
        )
        try:
            with temp.open("w") as out:
                out.write(f'{{"format":{FORMAT_VERSION},"counters":')
                out.write(_dumps(state.counters.as_dict()) + f',"cash":{_dumps(state.cash)}')
                for name, records in sections:
                    out.write(f',"{name}":[')
                    for index, record in enumerate(records):
                        out.write(("," if index else "") + _dumps(record))
                    out.write("]")
                out.write("}")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except OSError as error:
            raise StateError(f"{self.path}: cannot write state: {error.strerror}") from None
        # The snapshot holds everything the journal did; replaying it again would be harmless.
        self.close()
        self.journal_path.unlink(missing_ok=True)
        self._lines = 0

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
