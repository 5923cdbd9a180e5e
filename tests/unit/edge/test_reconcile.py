from datetime import timedelta

from system.domain.orders import OrderStatus
from system.edge.ledger import Entry, OrderRow
from system.edge.reconcile import Adopt, AdoptDecision, Close, Probe, Trade, reconcile
from system.ports import Decision
from tests.unit.edge.builders import NOW, broker_order, execution, make_signal

LATER = NOW + timedelta(minutes=5)  # every test signal has expired by then


def entry(n: int = 0, status: OrderStatus | None = None, broker_id: int | None = 7) -> Entry:
    order = None if status is None else OrderRow(status, 1, 0, broker_id, None)
    return Entry(make_signal(n), order)


def test_a_signal_nobody_traded_is_traded_while_alive_and_expires_after() -> None:
    fresh = entry()
    assert reconcile([fresh], [], [], {}, NOW).actions == [Trade(fresh.signal)]
    [closed] = reconcile([fresh], [], [], {}, LATER).actions
    assert closed == Close(fresh.signal, OrderStatus.EXPIRED, "expired before it was traded")


def test_an_order_at_the_broker_is_adopted_by_order_ref_whoever_placed_it() -> None:
    unknown_to_ledger = entry()
    held = broker_order(unknown_to_ledger.signal, OrderStatus.FILLED, filled=1)
    fill = execution(unknown_to_ledger.signal)
    plan = reconcile([unknown_to_ledger], [held], [fill], {}, NOW)
    assert plan.actions == [Adopt(unknown_to_ledger.signal, held, (fill,), cancel=False)]


def test_a_working_order_of_an_expired_signal_is_adopted_and_cancelled() -> None:
    e = entry(status=OrderStatus.PLACED)
    working = broker_order(e.signal, OrderStatus.ACKNOWLEDGED)
    [action] = reconcile([e], [working], [], {}, LATER).actions
    assert isinstance(action, Adopt)
    assert action.cancel


def test_the_completed_report_wins_over_a_stale_open_one() -> None:
    e = entry(status=OrderStatus.PLACED)
    open_view = broker_order(e.signal, OrderStatus.ACKNOWLEDGED)
    done_view = broker_order(e.signal, OrderStatus.FILLED, filled=1)
    for orders in ([open_view, done_view], [done_view, open_view]):
        [action] = reconcile([e], orders, [], {}, NOW).actions
        assert isinstance(action, Adopt)
        assert action.order.status is OrderStatus.FILLED


def test_fills_without_a_listed_order_still_close_the_signal() -> None:
    e = entry(status=OrderStatus.PLACED)
    [action] = reconcile([e], [], [execution(e.signal)], {}, NOW).actions
    assert isinstance(action, Adopt)
    assert (action.order.status, action.order.filled_quantity) == (OrderStatus.FILLED, 1)


def test_another_leaders_decision_is_adopted_not_remade() -> None:
    e = entry()
    decision = Decision(OrderStatus.REJECTED, "order rate limit reached", "bot-2")
    assert reconcile([e], [], [], {e.signal.id: decision}, NOW).actions == [
        AdoptDecision(e.signal, decision)
    ]


def test_an_order_the_broker_does_not_show_is_never_sent_again() -> None:
    placed = entry(0, OrderStatus.PLACED, broker_id=7)
    intended = entry(1, OrderStatus.INTENDED, broker_id=None)
    alive = reconcile([placed, intended], [], [], {}, NOW)
    assert (alive.actions, alive.waiting) == ([], 2)
    expired = reconcile([placed, intended], [], [], {}, LATER)
    assert expired.actions == [
        Probe(placed.signal, 7),
        Close(intended.signal, OrderStatus.REJECTED, "intended order never reached the broker"),
    ]


def test_two_broker_orders_for_one_signal_are_reported() -> None:
    e = entry(status=OrderStatus.PLACED)
    first = broker_order(e.signal, OrderStatus.ACKNOWLEDGED, broker_id=7)
    second = broker_order(e.signal, OrderStatus.FILLED, broker_id=9, filled=1)
    plan = reconcile([e], [first, second], [], {}, NOW)
    assert plan.duplicates == {e.signal.id: [7, 9]}
    [action] = plan.actions
    assert isinstance(action, Adopt)
    assert action.order.broker_order_id == 9
