"""Every message the simulator sends, read back by the real clients' own decoders.

ib_insync/ib_async unpack fixed-size tuples and ibapi counts fields, so a layout that is one
field off fails here, offline, instead of as a hang in the conformance suite.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from fakes.tws import messages as msg
from fakes.tws.account import Position
from fakes.tws.instruments import SPY, Instruments
from fakes.tws.market import Market, MarketConfig
from fakes.tws.orders import Execution, Order, StatusChanged, WhatIf
from tests.unit.tws.clients import read_by

LIBS = ["ib_insync", "ib_async", "ibapi"]
START = dt.datetime(2024, 1, 15, 15, 0, tzinfo=dt.UTC)
INSTRUMENTS = Instruments(START.date(), 470.0)
OPTION = next(c for c in INSTRUMENTS.options if c.strike == 470.0 and c.right == "P")
ORDER = Order(
    perm_id=1000007,
    client_id=3,
    order_id=42,
    contract=OPTION,
    action="BUY",
    quantity=2.0,
    order_type="LMT",
    lmt_price=1.25,
    aux_price=None,
    tif="GTD",
    account="DU1234567",
    order_ref="sig-abc",
    outside_rth=False,
    good_till_ns=1_705_340_000_000_000_000,
    status="Filled",
    filled=2.0,
    avg_fill_price=1.2,
    completed_at_ns=1_705_330_000_000_000_000,
)
GOOD_TILL = "20240115 17:33:20 UTC"
EXECUTION = Execution(
    exec_id="00000000.00001.01.01",
    perm_id=1000007,
    order_id=42,
    client_id=3,
    contract=OPTION,
    side="BOT",
    shares=2.0,
    price=1.2,
    time_ns=1_705_330_000_000_000_000,
    cum_qty=2.0,
    avg_price=1.2,
    order_ref="sig-abc",
    account="DU1234567",
    commission=1.3,
    realized_pnl=None,
)
POSITION = Position(OPTION, 2.0, 121.3)


@pytest.mark.parametrize("lib", LIBS)
def test_open_order_and_status(lib: str) -> None:
    status = StatusChanged(ORDER, "Submitted", 1.0, 1.0, 1.2, 1.2, True)
    calls = read_by(lib, [msg.open_order(ORDER, "Submitted"), msg.order_status(status)])
    ((order_id, contract, order, state),) = calls.named("openOrder")
    assert (order_id, contract.conId, contract.localSymbol) == (
        42,
        OPTION.con_id,
        OPTION.local_symbol,
    )
    assert (order.clientId, order.permId, order.orderRef) == (3, 1000007, "sig-abc")
    assert (order.totalQuantity, order.lmtPrice, order.tif) == (2.0, 1.25, "GTD")
    assert order.goodTillDate == GOOD_TILL
    assert state.status == "Submitted"
    ((status_args),) = calls.named("orderStatus")
    assert status_args[:3] == (42, "Submitted", 1.0)


@pytest.mark.parametrize("lib", LIBS)
def test_what_if_open_order_carries_numeric_margin_and_commission(lib: str) -> None:
    preview = WhatIf(1000.0, 800.0, 1e6, 250.5, 200.0, 1.3)
    ((_, _, order, state),) = read_by(lib, [msg.open_order(ORDER, "PreSubmitted", preview)]).named(
        "openOrder"
    )
    assert order.whatIf
    assert float(state.initMarginChange) == 250.5  # ib_async calls float() on it
    assert state.commission == 1.3


@pytest.mark.parametrize("lib", LIBS)
def test_completed_order(lib: str) -> None:
    ((contract, order, state),) = read_by(lib, [msg.completed_order(ORDER)]).named("completedOrder")
    assert (contract.conId, order.permId, order.orderRef) == (OPTION.con_id, 1000007, "sig-abc")
    assert (order.tif, order.goodTillDate) == ("GTD", GOOD_TILL)
    assert state.status == "Filled"
    assert state.completedTime.startswith("20240115")


@pytest.mark.parametrize("lib", LIBS)
def test_execution_and_commission(lib: str) -> None:
    calls = read_by(lib, [msg.exec_details(-1, EXECUTION), msg.commission_report(EXECUTION)])
    ((req_id, contract, execution),) = calls.named("execDetails")
    assert (req_id, contract.conId) == (-1, OPTION.con_id)
    assert (execution.execId, execution.orderRef, execution.shares) == (
        EXECUTION.exec_id,
        "sig-abc",
        2.0,
    )
    ((report,),) = calls.named("commissionReport")
    assert (report.execId, report.commission) == (EXECUTION.exec_id, 1.3)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("contract", [SPY, OPTION], ids=["stock", "option"])
def test_contract_details(lib: str, contract: object) -> None:
    details = msg.contract_details(7, contract, INSTRUMENTS.trading_hours(contract))  # type: ignore[arg-type]
    ((req_id, cd),) = read_by(lib, [details]).named("contractDetails")
    assert (req_id, cd.contract.conId) == (7, contract.con_id)  # type: ignore[attr-defined]
    assert cd.longName == "SPDR S&P 500 ETF TRUST"


@pytest.mark.parametrize("lib", LIBS)
def test_sec_def_opt_params(lib: str) -> None:
    calls = read_by(
        lib,
        [
            msg.sec_def_opt_params(5, "SMART", ["20240119"], [469.0, 470.0]),
            msg.sec_def_opt_params_end(5),
        ],
    )
    ((args),) = calls.named("securityDefinitionOptionParameter")
    assert args[0] == 5
    assert list(args[-1]) == [469.0, 470.0]
    assert calls.named("securityDefinitionOptionParameterEnd") == [(5,)]


@pytest.mark.parametrize("lib", LIBS)
def test_account_and_position_messages(lib: str) -> None:
    calls = read_by(
        lib,
        [
            msg.position("DU1234567", POSITION),
            msg.position_end(),
            msg.portfolio_value("DU1234567", POSITION, 0.6),
            msg.account_value("NetLiquidation", "1000000.00", "USD", "DU1234567"),
            msg.account_time(START),
            msg.account_download_end("DU1234567"),
            msg.account_summary(9, "DU1234567", "NetLiquidation", "1.00", "USD"),
            msg.account_summary_end(9),
            msg.position_multi(8, "DU1234567", POSITION),
            msg.position_multi_end(8),
            msg.account_update_multi(8, "DU1234567", "NetLiquidation", "1.00", "USD"),
            msg.account_update_multi_end(8),
            msg.managed_accounts("DU1234567"),
            msg.current_time(1_705_330_000),
        ],
    )
    for name in (
        "position",
        "positionEnd",
        "updatePortfolio",
        "updateAccountValue",
        "updateAccountTime",
        "accountDownloadEnd",
        "accountSummary",
        "accountSummaryEnd",
        "positionMulti",
        "positionMultiEnd",
        "accountUpdateMulti",
        "accountUpdateMultiEnd",
        "managedAccounts",
        "currentTime",
    ):
        assert len(calls.named(name)) == 1, name


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("delayed", [False, True])
def test_every_tick_of_an_option_and_the_underlying(lib: str, delayed: bool) -> None:
    market = Market(MarketConfig(seed=1, start=START, spot=470.0), INSTRUMENTS)
    totals = msg.ChainTotals(10, 20, 30, 40, 0.15)
    messages = [
        fields
        for _, fields in msg.ticks(
            1, OPTION, market.quote(OPTION), frozenset({100, 101, 106}), delayed, None, 1
        )
    ]
    messages += [
        fields
        for _, fields in msg.ticks(
            2, SPY, market.quote(SPY), frozenset({100, 101, 106}), delayed, totals, 1
        )
    ]
    messages += [msg.market_data_type(1, 3), msg.tick_req_params(1), msg.tick_snapshot_end(1)]
    calls = read_by(lib, messages)
    computations = calls.named("tickOptionComputation")
    assert len(computations) == 4
    assert all(math.isfinite(v) for args in computations for v in args[3:] if isinstance(v, float))
    assert calls.named("tickSnapshotEnd") == [(1,)]
    price_ticks = calls.named("tickPrice") + calls.named("priceSizeTick")
    assert {args[1] for args in price_ticks} >= ({66, 67, 68} if delayed else {1, 2, 4})
    generic = {args[1] for args in calls.named("tickSize")} | {
        args[1] for args in calls.named("tickGeneric")
    }
    assert {24, 27, 28, 29, 30} <= generic


@pytest.mark.parametrize("lib", LIBS)
def test_error_layout(lib: str) -> None:
    calls = read_by(
        lib, [msg.error(7, 200, "No security definition has been found for the request")]
    )
    ((args),) = calls.named("error")
    assert args[:2] == (7, 200)
