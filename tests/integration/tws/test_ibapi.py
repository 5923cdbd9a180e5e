"""Conformance with IB's own ibapi 9.81.1.post1 (EClient reader thread, EWrapper callbacks)."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.wrapper import EWrapper

from fakes.tws.instruments import SPY_CON_ID
from harness.ports import LOOPBACK
from tests.integration.tws.support import Sim, next_client_id

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
WAIT_S = 10.0


class Recorder(EWrapper):  # type: ignore[misc]
    """Every callback lands in a queue as (name, args)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def __getattribute__(self, name: str) -> Any:
        if name in EWrapper.__dict__ and not name.startswith("_") and name != "logAnswer":
            events = object.__getattribute__(self, "events")
            return lambda *args: events.put((name, args))
        return object.__getattribute__(self, name)

    def wait(
        self, name: str, match: Callable[..., bool] = lambda *args: True, fresh: bool = False
    ) -> tuple[Any, ...]:
        """The first `name` callback whose args satisfy `match`: among those seen already
        (unless `fresh`), else the next to come."""
        for seen_name, args in [] if fresh else self.seen:
            if seen_name == name and match(*args):
                return args
        while True:
            try:
                event = self.events.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"no {name} callback within {WAIT_S} s") from None
            self.seen.append(event)
            if event[0] == name and match(*event[1]):
                return event[1]

    def all(self, name: str, end: str, req_id: int | None = None) -> list[tuple[Any, ...]]:
        """Every `name` callback up to the `end` callback (of `req_id`, if given)."""
        self.wait(end, lambda *args: req_id is None or args[0] == req_id)
        return [args for n, args in self.seen if n == name]


class Api:
    def __init__(self, port: int, client_id: int, credential: str = "") -> None:
        self.wrapper = Recorder()
        self.client = EClient(self.wrapper)
        self.client.optCapab = credential  # sent in startApi, where the simulator checks it
        self.client.connect(LOOPBACK, port, client_id)
        self.thread = threading.Thread(target=self.client.run, daemon=True)
        self.thread.start()
        (self.next_id,) = self.wrapper.wait("nextValidId")

    def order_id(self) -> int:
        self.next_id += 1
        return int(self.next_id - 1)

    def close(self) -> None:
        self.client.disconnect()
        self.thread.join(timeout=WAIT_S)


@pytest.fixture
def api(sim: Sim) -> Iterator[Api]:
    connection = Api(sim.port, next_client_id())
    yield connection
    connection.close()


def contract(**fields: Any) -> Contract:
    c = Contract()
    for name, value in {"symbol": "SPY", "exchange": "SMART", "currency": "USD", **fields}.items():
        setattr(c, name, value)
    return c


def order(**fields: Any) -> Order:
    o = Order()
    for name, value in fields.items():
        setattr(o, name, value)
    return o


def atm_option(api: Api) -> Contract:
    api.client.reqSecDefOptParams(1, "SPY", "", "STK", SPY_CON_ID)
    chains = api.wrapper.all(
        "securityDefinitionOptionParameter", "securityDefinitionOptionParameterEnd", 1
    )
    chain = next(a for a in chains if a[1] == "SMART")
    expiry, strikes = sorted(chain[5])[1], sorted(chain[6])
    return contract(
        secType="OPT", lastTradeDateOrContractMonth=expiry, strike=strikes[len(strikes) // 2],
        right="C", multiplier="100",
    )  # fmt: skip


def test_connect(api: Api) -> None:
    assert api.wrapper.wait("managedAccounts") == ("DU1234567",)
    assert api.client.serverVersion() == 157
    api.client.reqCurrentTime()
    assert api.wrapper.wait("currentTime")[0] > 0
    first = api.next_id
    api.client.reqIds(-1)
    assert api.wrapper.wait("nextValidId", fresh=True)[0] >= first


def test_contract_details_and_chain(api: Api) -> None:
    api.client.reqContractDetails(2, contract(secType="STK"))
    ((_, stock),) = api.wrapper.all("contractDetails", "contractDetailsEnd", 2)
    assert stock.contract.conId == SPY_CON_ID
    option = atm_option(api)
    api.client.reqContractDetails(3, option)
    details = api.wrapper.all("contractDetails", "contractDetailsEnd", 3)
    (found,) = [d for r, d in details if r == 3]
    assert found.contract.localSymbol.startswith("SPY   ")
    assert found.underConId == SPY_CON_ID
    api.client.reqContractDetails(4, contract(symbol="NOPE", secType="STK"))
    assert api.wrapper.wait("error", lambda req_id, *_: req_id == 4)[1] == 200


def test_snapshot_and_streaming_market_data(api: Api) -> None:
    option = atm_option(api)
    api.client.reqMktData(5, option, "100,101,106", True, False, [])
    api.wrapper.wait("tickSnapshotEnd", lambda req_id: req_id == 5)
    greeks = [a for n, a in api.wrapper.seen if n == "tickOptionComputation" and a[0] == 5]
    assert {a[1] for a in greeks} >= {10, 11, 13}
    api.client.reqMktData(6, contract(secType="STK"), "", False, False, [])
    first = api.wrapper.wait("tickPrice", lambda req_id, tick, *_: req_id == 6 and tick == 1)
    api.wrapper.wait("tickString", lambda req_id, tick, value: req_id == 6 and tick == 45)
    api.wrapper.wait(
        "tickString",
        lambda req_id, tick, value: req_id == 6 and tick == 45 and value != first,
    )
    api.client.cancelMktData(6)


def test_account_summary_and_positions(api: Api) -> None:
    api.client.reqAccountSummary(7, "All", "NetLiquidation,BuyingPower")
    rows = api.wrapper.all("accountSummary", "accountSummaryEnd", 7)
    assert {r[2] for r in rows if r[0] == 7} == {"NetLiquidation", "BuyingPower"}
    api.client.reqPositions()
    api.wrapper.wait("positionEnd")


def test_what_if_commission(api: Api) -> None:
    order_id = api.order_id()
    preview = order(action="BUY", totalQuantity=10, orderType="MKT", whatIf=True)
    api.client.placeOrder(order_id, contract(secType="STK"), preview)
    _, _, placed, state = api.wrapper.wait("openOrder", lambda oid, *_: oid == order_id)
    assert placed.whatIf
    assert state.commission > 0
    assert float(state.initMarginChange) > 0


def test_orders_fill_cancel_and_executions_after_reconnect(api: Api, sim: Sim) -> None:
    ref = f"ibapi-{uuid.uuid4().hex[:8]}"
    market_id = api.order_id()
    market = order(action="BUY", totalQuantity=3, orderType="MKT", orderRef=ref)
    api.client.placeOrder(market_id, contract(secType="STK"), market)
    api.wrapper.wait("orderStatus", lambda oid, status, *_: oid == market_id and status == "Filled")
    _, _, execution = api.wrapper.wait("execDetails", lambda r, c, e: e.orderId == market_id)
    (report,) = api.wrapper.wait("commissionReport", lambda r: r.execId == execution.execId)
    assert report.commission > 0
    option = atm_option(api)
    limit_id = api.order_id()
    api.client.placeOrder(
        limit_id, option, order(action="BUY", totalQuantity=1, orderType="LMT", lmtPrice=0.01)
    )
    api.wrapper.wait(
        "orderStatus", lambda oid, status, *_: oid == limit_id and status == "Submitted"
    )
    api.client.cancelOrder(limit_id)
    api.wrapper.wait(
        "orderStatus", lambda oid, status, *_: oid == limit_id and status == "Cancelled"
    )
    assert api.wrapper.wait("error", lambda req_id, *_: req_id == limit_id)[1] == 202
    api.close()
    again = Api(sim.port, next_client_id())
    try:
        again.client.reqExecutions(9, ExecutionFilter())
        executions = again.wrapper.all("execDetails", "execDetailsEnd", 9)
        assert ref in {e.orderRef for r, _, e in executions if r == 9}
        again.client.reqCompletedOrders(False)
        completed = again.wrapper.all("completedOrder", "completedOrdersEnd")
        assert ref in {o.orderRef for _, o, _ in completed}
    finally:
        again.close()
