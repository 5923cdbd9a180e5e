"""Conformance with the real ib_insync 0.9.86 and ib_async clients (same API, both run)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import itertools
import math
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fakes.tws.instruments import SPY_CON_ID
from harness.ports import LOOPBACK
from tests.integration.tws.support import Sim, next_client_id, simulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
STOPPED_S = 0.3


@pytest.fixture(params=["ib_insync", "ib_async"])
def lib(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


async def connect(lib: ModuleType, port: int, client_id: int | None = None) -> Any:
    ib = lib.IB()
    ib.RaiseRequestErrors = True
    chosen = next_client_id() if client_id is None else client_id
    await ib.connectAsync(LOOPBACK, port, clientId=chosen, timeout=10)
    return ib


@pytest.fixture
async def ib(lib: ModuleType, sim: Sim) -> AsyncIterator[Any]:
    client = await connect(lib, sim.port)
    yield client
    client.disconnect()


async def until(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    """Wait until `check()` is truthy; a bound for failing, not a timing assertion."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return result


def known(*values: float) -> bool:
    """Ticker fields start as NaN (which is truthy): a value is known once it is a number > 0."""
    return all(v > 0 for v in values)


async def atm_option(ib: Any, lib: ModuleType, right: str = "C") -> Any:
    (chain,) = [c for c in await ib.reqSecDefOptParamsAsync("SPY", "", "STK", SPY_CON_ID)
                if c.exchange == "SMART"]  # fmt: skip
    (spy,) = await ib.reqTickersAsync(stock(lib))
    strike = min(chain.strikes, key=lambda s: abs(s - spy.marketPrice()))
    option = lib.Option("SPY", chain.expirations[1], strike, right, "SMART")
    await ib.qualifyContractsAsync(option)
    return option


def stock(lib: ModuleType) -> Any:
    """SPY as qualified (ib_async refuses market data for a contract without a conId)."""
    return lib.Stock("SPY", "SMART", "USD", conId=SPY_CON_ID)


async def test_connect(ib: Any) -> None:
    assert ib.isConnected()
    assert ib.managedAccounts() == ["DU1234567"]
    assert ib.client.serverVersion() == 157
    assert await ib.reqCurrentTimeAsync()


async def test_many_concurrent_clients(lib: ModuleType, sim: Sim) -> None:
    clients = await asyncio.gather(*(connect(lib, sim.port) for _ in range(20)))
    times = await asyncio.gather(*(ib.reqCurrentTimeAsync() for ib in clients))
    assert len(times) == 20
    assert len(sim.get("/health")["clients"]) >= 20
    for ib in clients:
        ib.disconnect()


async def test_client_zero_binds_auto_open_orders(sim: Sim) -> None:
    """ib_insync sends reqAutoOpenOrders(True) when it connects as client 0."""
    ib = await connect(importlib.import_module("ib_insync"), sim.port, client_id=0)
    assert await ib.reqCurrentTimeAsync()
    ib.disconnect()


async def test_qualify_spy_and_an_option(ib: Any, lib: ModuleType) -> None:
    spy = lib.Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    assert (spy.conId, spy.primaryExchange) == (SPY_CON_ID, "ARCA")
    option = await atm_option(ib, lib, "P")
    assert option.conId > 0
    assert option.localSymbol == (
        f"SPY   {option.lastTradeDateOrContractMonth[2:]}P{round(option.strike * 1000):08d}"
    )
    assert option.multiplier == "100"
    partial = await ib.reqContractDetailsAsync(
        lib.Option("SPY", option.lastTradeDateOrContractMonth, option.strike, "", "SMART")
    )
    assert sorted(d.contract.right for d in partial) == ["C", "P"]


async def test_option_chain_parameters(ib: Any) -> None:
    chains = await ib.reqSecDefOptParamsAsync("SPY", "", "STK", SPY_CON_ID)
    assert {c.exchange for c in chains} >= {"SMART", "CBOE"}
    smart = next(c for c in chains if c.exchange == "SMART")
    assert (smart.tradingClass, smart.multiplier) == ("SPY", "100")
    assert len(smart.expirations) >= 8
    strikes = sorted(smart.strikes)
    assert all(b - a == 1.0 for a, b in itertools.pairwise(strikes))


async def test_streaming_market_data_with_greeks(ib: Any, lib: ModuleType) -> None:
    option = await atm_option(ib, lib)
    ticker = ib.reqMktData(option, "100,101,106")
    await until(lambda: ticker.modelGreeks and ticker.bidGreeks and ticker.askGreeks, "greeks")
    await until(lambda: known(ticker.callOpenInterest, ticker.callVolume), "generic ticks")
    assert ticker.bid > 0
    assert ticker.ask > ticker.bid
    assert 0 < ticker.modelGreeks.delta < 1
    assert 0 < ticker.impliedVolatility < 1
    updates = []
    ticker.updateEvent += updates.append
    await until(lambda: len(updates) >= 2, "streamed updates")
    ib.cancelMktData(option)


async def test_snapshot_market_data_with_greeks(ib: Any, lib: ModuleType) -> None:
    option = await atm_option(ib, lib)
    spy_ticker, option_ticker = await ib.reqTickersAsync(stock(lib), option)
    assert spy_ticker.bid > 0
    assert spy_ticker.ask > spy_ticker.bid
    assert option_ticker.modelGreeks is not None
    assert math.isfinite(option_ticker.modelGreeks.gamma)


async def test_delayed_market_data(ib: Any, lib: ModuleType) -> None:
    ib.reqMarketDataType(3)
    (ticker,) = await ib.reqTickersAsync(stock(lib))
    assert ticker.marketDataType == 3
    assert ticker.bid > 0


async def test_account_summary(ib: Any) -> None:
    summary = {v.tag: v for v in await ib.accountSummaryAsync() if v.currency in ("USD", "")}
    assert float(summary["NetLiquidation"].value) > 0
    assert {"BuyingPower", "AvailableFunds", "InitMarginReq", "AccountType"} <= summary.keys()


async def test_what_if_has_commission_and_margin(ib: Any, lib: ModuleType) -> None:
    state = await ib.whatIfOrderAsync(stock(lib), lib.MarketOrder("BUY", 100))
    assert float(state.commission) > 0
    assert float(state.initMarginChange) > 0


async def test_a_bad_contract_raises_request_error(ib: Any, lib: ModuleType) -> None:
    with pytest.raises(lib.RequestError) as unknown:
        await ib.reqContractDetailsAsync(lib.Stock("NOPE", "SMART", "USD"))
    assert unknown.value.code == 200
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, *rest: errors.append(code)
    request = asyncio.ensure_future(ib.reqContractDetailsAsync(lib.Contract(symbol="SPY")))
    if lib.__name__ == "ib_insync":
        with pytest.raises(lib.RequestError) as invalid:
            await request
        assert invalid.value.code == 321
    else:  # ib_async counts 321 as a warning: the request stays open, as with real TWS
        await until(lambda: 321 in errors, "error 321")
        request.cancel()


async def filled(trade: Any) -> Any:
    await until(trade.isDone, f"order {trade.order.orderId} done")
    await until(lambda: all(f.commissionReport.execId for f in trade.fills), "commissions")
    return trade


async def test_market_and_limit_orders_fill_with_commission(ib: Any, lib: ModuleType) -> None:
    ref = f"sig-{uuid.uuid4().hex[:8]}"
    market = await filled(ib.placeOrder(stock(lib), lib.MarketOrder("BUY", 5, orderRef=ref)))
    assert market.orderStatus.status == "Filled"
    assert market.orderStatus.filled == 5
    assert market.fills[0].execution.orderRef == ref
    assert market.fills[0].commissionReport.commission > 0
    option = await atm_option(ib, lib)
    (quote,) = await ib.reqTickersAsync(option)
    limit = lib.LimitOrder("BUY", 1, round(quote.ask + 0.5, 2))
    trade = await filled(ib.placeOrder(option, limit))
    assert trade.orderStatus.status == "Filled"
    assert trade.fills[0].execution.price <= limit.lmtPrice
    positions = {p.contract.conId: p.position for p in await until(ib.positions, "positions")}
    await until(lambda: option.conId in {p.contract.conId for p in ib.positions()}, "position")
    assert positions.get(SPY_CON_ID, 0) >= 5


async def test_an_order_is_stamped_when_it_reaches_the_gateway(
    ib: Any, lib: ModuleType, sim: Sim
) -> None:
    """The gateway's receipt is the kernel's: an order sent while the simulator cannot run is
    stamped when its bytes arrived, not when the simulator woke to read them."""
    ref = f"sig-{uuid.uuid4().hex[:8]}"
    sim.proc.signal(signal.SIGSTOP)
    try:
        sent = time.time_ns()
        trade = ib.placeOrder(stock(lib), lib.MarketOrder("BUY", 1, orderRef=ref))
        await asyncio.sleep(STOPPED_S)
    finally:
        sim.proc.signal(signal.SIGCONT)
    await filled(trade)
    (order,) = [o for o in sim.get("/orders") if o["orderRef"] == ref]
    assert sent <= order["received_at_ns"] < sent + STOPPED_S * 1e9 / 2


async def test_modify_partial_fills_and_portfolio(ib: Any, lib: ModuleType) -> None:
    option = await atm_option(ib, lib)
    order = lib.LimitOrder("BUY", 1, 0.01)
    trade = ib.placeOrder(option, order)
    await until(lambda: trade.orderStatus.status == "Submitted", "resting")
    (quote,) = await ib.reqTickersAsync(option)
    order.lmtPrice = round(quote.ask + 1.0, 2)  # re-sent with the same orderId: a modification
    ib.placeOrder(option, order)
    await filled(trade)
    assert trade.orderStatus.status == "Filled"
    big = await filled(ib.placeOrder(option, lib.MarketOrder("SELL", 300)))
    assert len(big.fills) > 1  # more than the displayed size: partial fills
    assert sum(f.execution.shares for f in big.fills) == 300
    await until(lambda: option.conId in {p.contract.conId for p in ib.portfolio()}, "portfolio")


async def test_cancel(ib: Any, lib: ModuleType, sim: Sim) -> None:
    option = await atm_option(ib, lib)
    trade = ib.placeOrder(option, lib.LimitOrder("BUY", 1, 0.01))
    await until(lambda: trade.orderStatus.status == "Submitted", "submitted")
    ib.cancelOrder(trade.order)
    await until(lambda: trade.orderStatus.status == "Cancelled", "cancelled")
    (row,) = [o for o in sim.get("/orders") if o["permId"] == trade.order.permId]
    assert row["status"] == "Cancelled"


async def test_a_gtd_order_is_cancelled_by_the_gateway_at_its_date(
    ib: Any, lib: ModuleType
) -> None:
    option = await atm_option(ib, lib)
    good_till = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=2)
    text = f"{good_till:%Y%m%d-%H:%M:%S}"
    trade = ib.placeOrder(option, lib.LimitOrder("BUY", 1, 0.01, tif="GTD", goodTillDate=text))
    await until(lambda: trade.orderStatus.status == "Submitted", "resting")
    await until(lambda: trade.orderStatus.status == "Cancelled", "cancelled at its date")
    assert time.time() >= good_till.timestamp()
    completed = await ib.reqCompletedOrdersAsync(apiOnly=True)  # decoded afresh: the echo
    assert [
        (t.order.tif, t.order.goodTillDate)
        for t in completed
        if t.order.permId == trade.order.permId
    ] == [("GTD", f"{good_till:%Y%m%d %H:%M:%S} UTC")]


async def test_executions_with_order_ref_survive_a_reconnect(lib: ModuleType, sim: Sim) -> None:
    client_id, ref = next_client_id(), f"sig-{uuid.uuid4().hex[:8]}"
    first = await connect(lib, sim.port, client_id)
    await filled(first.placeOrder(stock(lib), lib.MarketOrder("SELL", 1, orderRef=ref)))
    first.disconnect()
    again = await connect(lib, sim.port, client_id)
    try:
        synced = [f for f in again.fills() if f.execution.orderRef == ref]
        assert len(synced) == 1
        assert synced[0].commissionReport.commission > 0
        fills = await again.reqExecutionsAsync(lib.ExecutionFilter(clientId=client_id))
        assert ref in {f.execution.orderRef for f in fills}
        completed = await again.reqCompletedOrdersAsync(apiOnly=True)
        assert ref in {t.order.orderRef for t in completed}
    finally:
        again.disconnect()


async def test_restart_then_reconnect_never_reuses_an_order_id(
    lib: ModuleType, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    client_id = 7
    with simulator(tmp_path, state, name="tws-restart") as sim:
        ib = await connect(lib, sim.port, client_id)
        await filled(ib.placeOrder(stock(lib), lib.MarketOrder("BUY", 1, orderRef="before")))
        resting = ib.placeOrder(stock(lib), lib.LimitOrder("BUY", 1, 1.0, orderRef="resting"))
        await until(lambda: resting.orderStatus.status == "Submitted", "resting order")
        used = {t.order.orderId for t in ib.trades()}
        assert sim.post("/faults/restart", {"downtime_s": 0.2}).status_code == 200
        await until(lambda: not ib.isConnected(), "disconnect seen by the client")
        ib = await connect(lib, sim.port, client_id)
        assert {t.order.orderRef for t in ib.openTrades()} == {"resting"}
        after = await filled(ib.placeOrder(stock(lib), lib.MarketOrder("BUY", 1)))
        assert after.order.orderId > max(used)
        ib.disconnect()
        assert sim.proc.stop() == 0  # SIGTERM: a clean exit, state persisted
    # A process restart on the same state file: ids keep climbing, fills are still there.
    with simulator(tmp_path, state, name="tws-restart-2") as sim:
        ib = await connect(lib, sim.port, client_id)
        assert {"before"} <= {f.execution.orderRef for f in ib.fills()}
        last = await filled(ib.placeOrder(stock(lib), lib.MarketOrder("BUY", 1)))
        assert last.order.orderId > after.order.orderId
        orders = sim.get("/orders")
        ids = [o["orderId"] for o in orders if o["clientId"] == client_id]
        assert len(ids) == len(set(ids))
        assert len({o["permId"] for o in orders}) == len(orders)
        exec_ids = [e["execId"] for e in sim.get("/executions")]
        assert len(exec_ids) == len(set(exec_ids)) >= 3
        ib.disconnect()
