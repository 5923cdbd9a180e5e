"""Requests exactly as the three real clients write them, decoded by the simulator."""

from __future__ import annotations

import contextlib
from typing import Any

import ib_async
import ib_insync
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.contract import Contract as IbapiContract
from ibapi.execution import ExecutionFilter as IbapiExecutionFilter
from ibapi.order import Order as IbapiOrder

from fakes.tws import messages as msg
from fakes.tws.wire import FieldError
from tests.unit.tws.clients import ASYNC_LIBS, written

LIBS = ["ib_insync", "ib_async", "ibapi"]


def _contract(lib: str, **fields: Any) -> Any:
    if lib == "ibapi":
        contract = IbapiContract()
        for name, value in fields.items():
            setattr(contract, name, value)
        return contract
    return ASYNC_LIBS[lib].Contract(**fields)


def _order(lib: str, **fields: Any) -> Any:
    if lib == "ibapi":
        order = IbapiOrder()
        for name, value in fields.items():
            setattr(order, name, value)
        return order
    return ASYNC_LIBS[lib].Order(**fields)


OPTION = {
    "symbol": "SPY",
    "secType": "OPT",
    "lastTradeDateOrContractMonth": "20240119",
    "strike": 470.0,
    "right": "C",
    "exchange": "SMART",
    "currency": "USD",
}
ORDERS = [
    {"action": "BUY", "totalQuantity": 10, "orderType": "MKT", "orderRef": "sig-1"},
    {"action": "SELL", "totalQuantity": 2.0, "orderType": "LMT", "lmtPrice": 1.25, "tif": "GTC"},
    {"action": "BUY", "totalQuantity": 1, "orderType": "STP", "auxPrice": 3.5, "tif": "IOC"},
    {
        "action": "BUY",
        "totalQuantity": 1,
        "orderType": "LMT",
        "lmtPrice": 0.5,
        "tif": "GTD",
        "goodTillDate": "20240105-15:00:00",
    },
    {
        "action": "SELL",
        "totalQuantity": 5,
        "orderType": "STP LMT",
        "lmtPrice": 2.0,
        "auxPrice": 2.1,
        "whatIf": True,
    },
]


def _place(lib: str, order: dict[str, Any]) -> list[str]:
    (fields,) = written(
        lib, lambda c: c.placeOrder(42, _contract(lib, **OPTION), _order(lib, **order))
    )
    return fields


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("order", ORDERS, ids=[f"{o['orderType']}-{o.get('tif')}" for o in ORDERS])
def test_place_order_of_every_client_decodes(lib: str, order: dict[str, Any]) -> None:
    placed = msg.decode_place_order(_place(lib, order))
    request = placed.order
    assert request.order_id == 42
    assert placed.contract.sec_type == "OPT"
    assert placed.contract.strike == 470.0
    assert placed.contract.right == "C"
    assert request.action == order["action"]
    assert request.quantity == float(order["totalQuantity"])
    assert request.order_type == order["orderType"]
    assert request.lmt_price == order.get("lmtPrice")
    assert request.aux_price == order.get("auxPrice")
    assert request.tif == order.get("tif", "")
    assert request.good_till == order.get("goodTillDate", "")
    assert request.order_ref == order.get("orderRef", "")
    assert request.what_if is order.get("whatIf", False)
    assert request.transmit
    assert request.parent_id == 0
    # ibapi 9.81 sets these by default; TWS >= 983 would refuse such an order.
    assert request.e_trade_only is (lib == "ibapi")
    assert request.firm_quote_only is (lib == "ibapi")


@pytest.mark.parametrize("lib", ["ib_insync", "ib_async"])
def test_place_order_with_algo_and_conditions_still_decodes(lib: str) -> None:
    module = ASYNC_LIBS[lib]
    order = module.LimitOrder("BUY", 1, 1.0, algoStrategy="Adaptive")
    order.algoParams = [module.TagValue("adaptivePriority", "Normal")]
    order.conditions = [module.PriceCondition(price=500.0, conId=756733, exch="SMART")]
    (fields,) = written(lib, lambda c: c.placeOrder(7, _contract(lib, **OPTION), order))
    assert msg.decode_place_order(fields).order.lmt_price == 1.0


@pytest.mark.parametrize("lib", LIBS)
def test_market_data_request_decodes(lib: str) -> None:
    def call(client: Any) -> None:
        args = (9, _contract(lib, **OPTION), "100,101,106", True, False)
        client.reqMktData(*args, [])

    (fields,) = written(lib, call)
    request = msg.decode_market_data(fields)
    assert request.req_id == 9
    assert request.generic_ticks == {100, 101, 106}
    assert request.snapshot is True


@pytest.mark.parametrize("lib", LIBS)
def test_contract_details_request_decodes(lib: str) -> None:
    (fields,) = written(lib, lambda c: c.reqContractDetails(3, _contract(lib, **OPTION)))
    request = msg.decode_contract_details(fields)
    assert (request.req_id, request.contract.symbol, request.contract.expiry) == (
        3,
        "SPY",
        "20240119",
    )


@pytest.mark.parametrize("lib", LIBS)
def test_executions_request_decodes(lib: str) -> None:
    if lib == "ibapi":
        execution_filter = IbapiExecutionFilter()
        execution_filter.side = "BUY"
    else:
        execution_filter = ASYNC_LIBS[lib].ExecutionFilter(side="BUY")
    (fields,) = written(lib, lambda c: c.reqExecutions(4, execution_filter))
    request = msg.decode_executions(fields)
    assert (request.req_id, request.client_id, request.side) == (4, 0, "BUY")


@pytest.mark.parametrize("lib", LIBS)
def test_sec_def_request_decodes(lib: str) -> None:
    (fields,) = written(lib, lambda c: c.reqSecDefOptParams(5, "SPY", "", "STK", 756733))
    assert msg.decode_sec_def(fields) == msg.SecDefRequest(5, "SPY", "STK", 756733)


@pytest.mark.parametrize("lib", LIBS)
def test_start_api_decodes(lib: str) -> None:
    def call(client: Any) -> None:
        client.clientId = 12
        client.optCapab = "secret"
        client.startApi()

    (fields,) = written(lib, call)
    assert msg.decode_start_api(fields) == msg.StartApi(12, "secret")


def test_the_clients_agree_on_every_request_layout() -> None:
    """ib_insync and ib_async write byte-identical requests at 157 (one code path suffices)."""
    for order in ORDERS:
        assert _place("ib_insync", order) == _place("ib_async", order)


# Mutation fuzzing: real messages with one field replaced or the tail cut off.
REAL = [_place(lib, order) for lib in LIBS for order in ORDERS]
garbage = st.one_of(
    st.text(max_size=12).map(lambda s: s.replace("\0", "")),
    st.sampled_from(["", "-1", "1e308", "nan", "inf", "99999999999999999999", "1.5", "BAG"]),
)


@settings(deadline=None)  # on a shared, busy machine a slow example is no bug
@given(st.sampled_from(REAL), st.integers(0, 200), garbage, st.booleans())
def test_mutated_orders_decode_or_raise_field_error(
    fields: list[str], index: int, value: str, truncate: bool
) -> None:
    mutated = list(fields)
    if truncate:
        del mutated[index % len(mutated) :]
    else:
        mutated[index % len(mutated)] = value
    with contextlib.suppress(FieldError):
        msg.decode_place_order(mutated)


MARKET_DATA = written(
    "ib_async",
    lambda c: c.reqMktData(1, ib_async.Contract(**OPTION), "100,101", False, False, []),
)[0]
DETAILS = written("ib_insync", lambda c: c.reqContractDetails(1, ib_insync.Contract(**OPTION)))[0]


@settings(deadline=None)
@given(st.sampled_from([MARKET_DATA, DETAILS]), st.integers(0, 40), garbage, st.booleans())
def test_mutated_requests_decode_or_raise_field_error(
    fields: list[str], index: int, value: str, truncate: bool
) -> None:
    mutated = list(fields)
    if truncate:
        del mutated[index % len(mutated) :]
    else:
        mutated[index % len(mutated)] = value
    for decode in (msg.decode_market_data, msg.decode_contract_details):
        with contextlib.suppress(FieldError):
            decode(mutated)


def test_execution_filter_matches_like_tws() -> None:
    from fakes.tws.instruments import SPY
    from fakes.tws.orders import Execution

    fill = Execution("e", 1, 2, 3, SPY, "SLD", 1.0, 470.0, 1_705_330_000 * 10**9, 1.0, 470.0,
                     "r", "DU1", 1.0, None)  # fmt: skip

    def accepts(*fields: str) -> bool:
        return msg.decode_executions(["7", "3", "1", *fields]).accepts(fill)

    assert accepts("0", "", "", "", "", "", "")
    assert accepts("3", "DU1", "20240115 14:00:00", "SPY", "STK", "ARCA", "SELL")
    assert not accepts("4", "", "", "", "", "", "")
    assert not accepts("0", "", "20240115 15:00:00", "", "", "", "")
    assert not accepts("0", "", "", "", "OPT", "", "")
    assert not accepts("0", "", "", "", "", "CBOE", "")
    assert not accepts("0", "", "", "", "", "", "BUY")
    with pytest.raises(FieldError):
        accepts("0", "", "yesterday", "", "", "", "")
