"""Order lifecycle, fills at the simulated bid/ask, limits, and what fills do to the account."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from fakes.tws.account import Account, fill_commission, order_commission
from fakes.tws.ids import Counters, Ids
from fakes.tws.instruments import SPY, Contract
from fakes.tws.market import Quote
from fakes.tws.orders import (
    MAX_ACTIVE_PER_SIDE,
    Filled,
    Order,
    OrderBook,
    OrderRequest,
    Rejection,
    StatusChanged,
    good_till_ns,
)

OPTION = Contract(
    1_000_000_001, "SPY", "OPT", "20240119", 470.0, "C", "100", "SMART", "", "USD",
    "SPY   240119C00470000", "SPY",
)  # fmt: skip


def quote(bid: float, ask: float, size: int = 100) -> Quote:
    return Quote(bid, ask, (bid + ask) / 2, size, size, 1, 0, ask, bid, bid, bid, None)


class Book:
    """An order book over quotes the test sets, with a clock the test owns."""

    def __init__(self, **options: Any) -> None:
        self.quotes = {SPY.con_id: quote(469.99, 470.01), OPTION.con_id: quote(3.1, 3.2, 20)}
        self.reserved: list[Counters] = []
        self.ids = Ids(Counters(), self.reserved.append)
        self.account = Account("DU1", 100_000.0, [])
        self.book = OrderBook(
            self.ids, self.account, lambda c: self.quotes[c.con_id], lambda: 470.0, **options
        )
        self.now = 0

    def place(self, order_id: int, client_id: int = 1, contract: Contract = SPY, **fields: Any
              ) -> Order | Rejection:  # fmt: skip
        request = request_for(order_id, **fields)
        verdict = self.book.validate(client_id, request, contract)
        if isinstance(verdict, Rejection):
            return verdict
        assert verdict is None, "a new order expected"
        return self.book.accept(client_id, request, contract, self.now)

    def working(self, order_id: int, **fields: Any) -> Order:
        order = self.place(order_id, **fields)
        assert isinstance(order, Order)
        self.ack(order)
        return order

    def ack(self, order: Order) -> list[StatusChanged | Filled]:
        self.now += 1
        return self.book.acknowledge(order, self.now)

    def fill(self, order: Order) -> list[StatusChanged | Filled]:
        self.now += 1
        return self.book.try_fill(order, self.now)


def request_for(order_id: int, **fields: Any) -> OrderRequest:
    base: dict[str, Any] = {
        "order_id": order_id,
        "action": "BUY",
        "quantity": 1.0,
        "order_type": "MKT",
        "lmt_price": None,
        "aux_price": None,
        "tif": "",
        "good_till": "",
        "oca_group": "",
        "account": "",
        "order_ref": "",
        "transmit": True,
        "parent_id": 0,
        "outside_rth": False,
        "e_trade_only": False,
        "firm_quote_only": False,
        "what_if": False,
    }
    return OrderRequest(**{**base, **fields})


def statuses(events: list[StatusChanged | Filled]) -> list[str]:
    return [(e.status if isinstance(e, Filled) else e).status for e in events]


def test_market_order_is_acked_then_filled_at_the_ask() -> None:
    b = Book()
    order = b.place(1, order_ref="sig-1")
    assert isinstance(order, Order)
    assert order.status == "PendingSubmit"
    assert statuses(b.ack(order)) == ["Submitted"]
    (filled,) = b.fill(order)
    assert isinstance(filled, Filled)
    assert filled.status.status == "Filled"
    assert (filled.execution.price, filled.execution.side) == (470.01, "BOT")
    assert filled.execution.order_ref == "sig-1"
    assert filled.execution.commission == 1.0
    assert b.account.positions[SPY.con_id].quantity == 1.0


def test_sell_fills_at_the_bid() -> None:
    b = Book()
    order = b.working(1, action="SELL", contract=OPTION)
    (filled,) = b.fill(order)
    assert isinstance(filled, Filled)
    assert filled.execution.price == 3.1
    assert b.account.positions[OPTION.con_id].quantity == -1.0


def test_limit_order_rests_until_marketable() -> None:
    b = Book()
    order = b.working(1, order_type="LMT", lmt_price=470.0)
    assert b.fill(order) == []
    assert order.status == "Submitted"
    b.quotes[SPY.con_id] = quote(469.98, 469.99)
    (filled,) = b.book.on_market_step(b.now)
    assert isinstance(filled, Filled)
    assert filled.execution.price == 469.99


def test_stop_is_held_presubmitted_then_triggers_on_the_touch_and_trades_at_market() -> None:
    b = Book()
    order = b.place(1, action="SELL", order_type="STP", aux_price=469.5)
    assert isinstance(order, Order)
    assert statuses(b.ack(order)) == ["PreSubmitted"]
    assert b.fill(order) == []
    b.quotes[SPY.con_id] = quote(469.4, 469.42)
    submitted, filled = b.fill(order)
    assert statuses([submitted, filled]) == ["Submitted", "Filled"]
    assert isinstance(filled, Filled)
    assert filled.execution.price == 469.4


def test_stop_limit_needs_trigger_and_limit() -> None:
    b = Book()
    order = b.working(1, order_type="STP LMT", aux_price=470.5, lmt_price=470.6)
    assert b.fill(order) == []
    b.quotes[SPY.con_id] = quote(470.7, 470.8)  # triggered, but beyond the limit
    assert statuses(b.fill(order)) == ["Submitted"]
    b.quotes[SPY.con_id] = quote(470.5, 470.55)
    assert statuses(b.fill(order)) == ["Filled"]


def test_big_orders_fill_partially_at_the_displayed_size() -> None:
    b = Book()
    order = b.working(1, contract=OPTION, quantity=50.0)
    assert statuses(b.fill(order)) == ["Submitted"]
    assert (order.filled, order.remaining) == (20.0, 30.0)
    b.fill(order)
    events = b.fill(order)
    assert statuses(events) == ["Filled"]
    assert [e.shares for e in b.book.executions] == [20.0, 20.0, 10.0]
    assert len({e.exec_id for e in b.book.executions}) == 3
    assert sum(e.commission for e in b.book.executions) == order_commission(OPTION, 50, 3.2)


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    b = Book()
    order = b.working(1, contract=OPTION, quantity=30.0, tif="IOC")
    assert statuses(b.fill(order)) == ["Submitted", "Cancelled"]
    assert order.filled == 20.0
    unfilled = b.working(2, order_type="LMT", lmt_price=1.0, tif="IOC")
    assert statuses(b.fill(unfilled)) == ["Cancelled"]


def test_a_gtd_order_rests_until_its_good_till_date_then_the_gateway_cancels_it() -> None:
    b = Book()
    dated = {"order_type": "LMT", "lmt_price": 1.0, "good_till": "20240105-15:00:00"}
    order = b.working(1, tif="GTD", **dated)
    deadline = order.good_till_ns
    assert deadline == good_till_ns("20240105-15:00:00")
    assert deadline is not None
    assert b.book.on_market_step(deadline - 1) == []  # not marketable: it rests
    assert statuses(b.book.on_market_step(deadline)) == ["Cancelled"]
    assert b.book.on_market_step(deadline + 1) == []
    assert b.working(2, tif="GTC", **dated).good_till_ns is None  # read with GTD only
    refused = b.place(3, tif="GTD", good_till="tomorrow")
    assert isinstance(refused, Rejection)
    assert refused.code == 201
    assert "Invalid goodTillDate 'tomorrow'" in refused.message


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("20240105-15:00:00", "2024-01-05T15:00:00+00:00"),
        ("20240105 10:00:00 US/Eastern", "2024-01-05T15:00:00+00:00"),
        ("20240105 15:00:00", "2024-01-05T15:00:00+00:00"),  # no zone: the login's, UTC here
        ("20240105 15:00:00 Mars/Olympus", None),
        ("2024-01-05T15:00:00", None),
        ("", None),
    ],
)
def test_good_till_dates_are_read_as_ib_reads_them(text: str, utc: str | None) -> None:
    expected = None if utc is None else int(dt.datetime.fromisoformat(utc).timestamp()) * 10**9
    assert good_till_ns(text) == expected


def test_cancel_and_cancel_before_ack() -> None:
    b = Book()
    resting = b.working(1, order_type="LMT", lmt_price=1.0)
    assert statuses(b.book.cancel(resting, 5)) == ["Cancelled"]
    assert b.book.cancel(resting, 6) == []
    pending = b.place(2)
    assert isinstance(pending, Order)
    b.book.cancel(pending, 7)
    assert b.ack(pending) == []
    assert b.fill(pending) == []


def test_modify_by_resending_the_order_id() -> None:
    b = Book()
    order = b.working(1, order_type="LMT", lmt_price=469.0, quantity=2.0)
    request = request_for(1, order_type="LMT", lmt_price=470.5, quantity=3.0, order_ref="new")
    assert b.book.validate(1, request, SPY) is order
    b.book.modify(order, request)
    assert (order.lmt_price, order.quantity, order.order_ref) == (470.5, 3.0, "new")
    assert statuses(b.fill(order)) == ["Filled"]
    assert b.book.validate(1, request, SPY) == Rejection(104, "Can't modify a filled order")


def test_order_id_rules() -> None:
    b = Book()
    b.working(5)
    assert b.place(5, contract=OPTION) == Rejection(
        105, "Order being modified does not match original order"
    )
    assert b.place(4) == Rejection(103, "Duplicate order id")
    assert isinstance(b.place(4, client_id=2), Order)  # ids are per client
    assert b.ids.next_order_id == 6


def test_twenty_active_orders_per_contract_and_side() -> None:
    b = Book()
    for order_id in range(1, MAX_ACTIVE_PER_SIDE + 1):
        b.working(order_id, order_type="LMT", lmt_price=1.0)
    refused = b.place(100, order_type="LMT", lmt_price=1.0)
    assert isinstance(refused, Rejection)
    assert refused.code == 201
    assert isinstance(b.place(101, action="SELL", order_type="LMT", lmt_price=999.0), Order)
    b.book.cancel(b.book.orders[1, 1], 1)
    assert isinstance(b.place(102, order_type="LMT", lmt_price=1.0), Order)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"e_trade_only": True}, 10268),
        ({"firm_quote_only": True}, 10269),
    ],
)
def test_etrade_and_firm_quote_rejected_when_configured(fields: dict[str, Any], code: int) -> None:
    assert isinstance(Book().place(1, **fields), Order)
    refused = Book(reject_etrade_firm_quote=True).place(1, **fields)
    assert isinstance(refused, Rejection)
    assert refused.code == code


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "HOLD"},
        {"quantity": 0.0},
        {"order_type": "TRAIL"},
        {"tif": "FOK"},
        {"order_type": "LMT"},
        {"order_type": "STP"},
        {"parent_id": 3},
        {"account": "U999"},
    ],
)
def test_invalid_orders_are_rejected_with_201(fields: dict[str, Any]) -> None:
    refused = Book().place(1, **fields)
    assert isinstance(refused, Rejection)
    assert refused.code == 201


def test_what_if_previews_margin_and_commission_without_an_order() -> None:
    b = Book()
    preview = b.book.what_if(request_for(1, quantity=100.0, what_if=True), SPY)
    assert preview.init_change > 0
    assert preview.commission == 1.0
    assert b.book.orders == {}
    assert b.book.validate(1, request_for(1), SPY) is None


def test_round_trip_realizes_pnl_net_of_commissions() -> None:
    b = Book()
    b.fill(b.working(1, contract=OPTION, quantity=2.0))
    b.quotes[OPTION.con_id] = quote(4.1, 4.2, 20)
    b.fill(b.working(2, contract=OPTION, quantity=2.0, action="SELL"))
    opening, closing = b.book.executions
    assert opening.realized_pnl is None
    assert closing.realized_pnl == pytest.approx((4.1 - 3.2) * 200 - 1.3 - 1.3)
    assert b.account.positions[OPTION.con_id].quantity == 0
    assert b.account.cash == pytest.approx(100_000 + (4.1 - 3.2) * 200 - 2.6)


def test_commission_schedule() -> None:
    assert order_commission(SPY, 1, 470.0) == 1.0
    assert order_commission(SPY, 1000, 470.0) == 5.0
    assert order_commission(OPTION, 10, 3.2) == 6.5
    assert fill_commission(OPTION, 0, 1, 3.2) == 1.0
    assert fill_commission(OPTION, 1, 1, 3.2) == 0.3


def test_account_values_follow_fills() -> None:
    b = Book()
    b.fill(b.working(1, quantity=100.0))
    values = {(k, c): v for k, v, c in b.account.values(lambda c: 470.0, 470.0)}
    assert float(values["GrossPositionValue", "USD"]) == 47_000.0
    assert float(values["InitMarginReq", "USD"]) == 23_500.0
    assert float(values["NetLiquidation", "USD"]) == pytest.approx(100_000 - 1 - 1.0, abs=0.01)
    assert values["AccountType", ""] == "INDIVIDUAL"


def test_restored_orders_keep_working() -> None:
    b = Book()
    resting = b.working(1, order_type="LMT", lmt_price=1.0)
    copy = dataclasses.replace(resting)
    again = OrderBook(b.ids, b.account, lambda c: b.quotes[c.con_id], lambda: 470.0, [copy])
    assert list(again.working_orders(1)) == [copy]
    assert again.validate(1, request_for(1), SPY) is copy
