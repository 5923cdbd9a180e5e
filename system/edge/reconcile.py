"""Reconciliation: what to do with each undecided signal, given what the broker holds.

Pure logic. The broker is the truth for every order that left a process (found by orderRef =
signal id, whichever replica or connection placed it); the decision board is the truth for
signals a leader closed without an order. An order the ledger knows but the broker does not
show is never re-sent: a gateway may hold an order without listing it (unacknowledged, or held
while it lost its own connectivity), so a second order could be a duplicate. It is left alone
while its signal lives, then cancelled; a broker that does not know the order at all proves it
was lost, which is recorded as the signal's outcome.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from system.domain.orders import Execution, Order, OrderStatus
from system.domain.signals import Signal
from system.edge.ledger import Entry
from system.ports import Decision


@dataclass(frozen=True, slots=True)
class Adopt:
    """The broker holds an order for this signal: take its status and fills. Cancel it if the
    signal has expired and the order still works."""

    signal: Signal
    order: Order
    executions: tuple[Execution, ...]
    cancel: bool


@dataclass(frozen=True, slots=True)
class AdoptDecision:
    signal: Signal
    decision: Decision


@dataclass(frozen=True, slots=True)
class Probe:
    """The ledger has an order with a broker id that the broker does not list, and its signal
    has expired: cancel it by id; 'unknown to the broker' means it was lost."""

    signal: Signal
    broker_order_id: int


@dataclass(frozen=True, slots=True)
class Trade:
    """No order anywhere and the signal is alive: decide it now (risk, then the broker)."""

    signal: Signal


@dataclass(frozen=True, slots=True)
class Close:
    """Nothing will ever happen to this signal: record the outcome."""

    signal: Signal
    outcome: OrderStatus
    reason: str


Action = Adopt | AdoptDecision | Probe | Trade | Close


@dataclass(frozen=True, slots=True)
class Plan:
    actions: list[Action]
    waiting: int  # orders not visible at the broker whose signal still lives: looked at later
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # orderRef -> broker ids


_WORKING = {OrderStatus.PLACED, OrderStatus.ACKNOWLEDGED, OrderStatus.PARTIALLY_FILLED}


def _most_advanced(orders: list[Order]) -> Order:
    """Of several broker orders for one ref (a duplicate: reported), the one that went furthest."""
    return max(orders, key=lambda o: (o.status.is_terminal, o.filled_quantity, o.broker_order_id))


def reconcile(
    entries: list[Entry],
    broker_orders: list[Order],
    executions: list[Execution],
    decisions: dict[str, Decision],
    now: datetime,
) -> Plan:
    by_ref: dict[str, dict[tuple[str, int], Order]] = defaultdict(dict)
    for order in broker_orders:
        # The permId identifies an order for good (completed orders carry no order id); the
        # open and completed lists may both carry one order: the terminal report wins.
        key = ("perm", order.perm_id) if order.perm_id else ("id", order.broker_order_id)
        known = by_ref[order.order_ref].get(key)
        if known is None or order.status.is_terminal or not known.status.is_terminal:
            by_ref[order.order_ref][key] = order
    fills: dict[str, list[Execution]] = defaultdict(list)
    for execution in executions:
        fills[execution.order_ref].append(execution)

    actions: list[Action] = []
    waiting = 0
    duplicates: dict[str, list[int]] = {}
    for entry in entries:
        signal = entry.signal
        expired = signal.is_expired(now)
        held = list(by_ref.get(signal.id, {}).values())
        if len(held) > 1:
            duplicates[signal.id] = sorted(o.broker_order_id for o in held)
        if held:
            order = _most_advanced(held)
            actions.append(
                Adopt(
                    signal,
                    order,
                    tuple(fills.get(signal.id, ())),
                    cancel=expired and order.status in _WORKING,
                )
            )
        elif signal.id in fills:
            # Executions without an order listed: the order filled and aged out of the lists.
            first = fills[signal.id][0]
            filled = sum(e.quantity for e in fills[signal.id])
            actions.append(
                Adopt(
                    signal,
                    Order(
                        broker_order_id=0,
                        order_ref=signal.id,
                        contract=first.contract,
                        side=first.side,
                        quantity=filled,
                        status=OrderStatus.FILLED,
                        filled_quantity=filled,
                    ),
                    tuple(fills[signal.id]),
                    cancel=False,
                )
            )
        elif signal.id in decisions:
            actions.append(AdoptDecision(signal, decisions[signal.id]))
        elif entry.order is not None:
            if not expired:
                waiting += 1
            elif entry.order.broker_order_id is not None:
                actions.append(Probe(signal, entry.order.broker_order_id))
            else:
                # Intended, then the process died before the write returned an id: with no
                # trace at the broker after the signal's life, it never reached it.
                actions.append(
                    Close(signal, OrderStatus.REJECTED, "intended order never reached the broker")
                )
        elif expired:
            actions.append(Close(signal, OrderStatus.EXPIRED, "expired before it was traded"))
        else:
            actions.append(Trade(signal))
    return Plan(actions, waiting, duplicates)
