"""Limits, faults and bad input: what real gateways do, through ib_async, ibapi and raw bytes."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import ib_async
import pytest

from fakes.tws.instruments import SPY_CON_ID
from harness.ports import LOOPBACK
from tests.integration.tws.support import (
    RawClient,
    Sim,
    error_with,
    eventually,
    length_prefix,
    next_client_id,
    simulator,
)
from tests.integration.tws.test_async_clients import atm_option, filled, known, until
from tests.integration.tws.test_ibapi import Api, contract, order

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
SPY = ib_async.Stock("SPY", "SMART", "USD", conId=SPY_CON_ID)


async def connect(
    port: int, client_id: int | None = None, credential: str = "", connect_s: float = 10
) -> ib_async.IB:
    ib = ib_async.IB()
    ib.client.optCapab = credential
    await ib.connectAsync(LOOPBACK, port, clientId=client_id or next_client_id(), timeout=connect_s)
    return ib


@pytest.fixture
async def ib(sim: Sim) -> AsyncIterator[ib_async.IB]:
    client = await connect(sim.port)
    errors: list[tuple[int, int]] = []
    client.errorEvent += lambda req_id, code, *rest: errors.append((req_id, code))
    client.errors = errors  # type: ignore[attr-defined]
    yield client
    client.disconnect()


@pytest.fixture
def raw(sim: Sim) -> Iterator[RawClient]:
    client = RawClient(sim.port)
    yield client
    client.close()


async def test_drop_connections(sim: Sim) -> None:
    client_id = next_client_id()
    ib = await connect(sim.port, client_id)
    assert sim.post("/faults/drop-connections").json()["dropped"] >= 1
    await until(lambda: not ib.isConnected(), "dropped")
    ib = await connect(sim.port, client_id)
    assert await ib.reqCurrentTimeAsync()
    ib.disconnect()


async def test_duplicate_client_id_gets_326_and_is_closed(ib: ib_async.IB, raw: RawClient) -> None:
    raw.start(ib.client.clientId)
    assert raw.wait_for(error_with(326))[2] == "-1"
    assert raw.closed_by_peer()
    assert await ib.reqCurrentTimeAsync()


@pytest.mark.parametrize("versions", [b"v158..176", b"v100..156"])
def test_no_common_version_closes_the_connection(raw: RawClient, versions: bytes) -> None:
    with pytest.raises(ConnectionError):
        raw.handshake(versions)


async def test_bad_input_costs_only_the_offender(ib: ib_async.IB, sim: Sim) -> None:
    before = await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1, orderRef="kept")))
    offenders = {
        "garbage before the handshake": b"GET / HTTP/1.1\r\n\r\n",
        "oversize length prefix": b"API\0" + length_prefix(0x7FFFFFFF) + b"v100..157",
    }
    for what, data in offenders.items():
        client = RawClient(sim.port)
        client.send_raw(data)
        assert client.closed_by_peer(), what
        client.close()
    raw = RawClient(sim.port)
    raw.start(next_client_id())
    raw.send([1, 11, "abc"])  # reqMktData with a non-numeric ticker id
    assert raw.wait_for(error_with(321))[2] == "-1"
    bad_strike = [0, "SPY", "OPT", "", "not-a-strike", "", "", "SMART", "", "USD", "", ""]
    raw.send([9, 8, 77, *bad_strike, 0, "", ""])
    assert raw.wait_for(error_with(321))[2] == "77"
    raw.send([999, 1])
    raw.wait_for(error_with(321))
    raw.send_raw(length_prefix(0))
    raw.wait_for(error_with(321))
    raw.send([49, 1])
    raw.wait_for(lambda fields: fields[0] == "49")
    raw.send_raw(length_prefix(0x1000000))
    assert raw.closed_by_peer()
    raw.close()
    assert await ib.reqCurrentTimeAsync()
    assert "kept" in {o["orderRef"] for o in sim.get("/orders")}
    assert before.fills[0].execution.execId in {e["execId"] for e in sim.get("/executions")}


def test_pacing_refuses_bursts_and_disconnects_when_sustained(raw: RawClient) -> None:
    raw.start(next_client_id())
    for _ in range(70):
        raw.send([49, 1])
    text = raw.wait_for(error_with(100))[4]
    assert text.startswith("Max rate of messages per second has been exceeded:max=50")
    # Bursts well over the limit for as long as it takes (a busy machine slows the sender).
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            for _ in range(20):
                raw.send([49, 1])
            time.sleep(0.05)
    except OSError:
        pass  # the simulator hung up while we were still sending
    assert raw.closed_by_peer()


def test_pacing_can_be_switched_off(tmp_path: Path) -> None:
    with simulator(tmp_path, tmp_path / "state.json", "--pacing", "off", name="tws-nopace") as sim:
        raw = RawClient(sim.port)
        raw.start(next_client_id())
        for _ in range(500):
            raw.send([49, 1])
        seen: list[list[str]] = []
        while sum(fields[0] == "49" for fields in seen) < 500:
            seen.append(raw.next_message())
        assert not [fields for fields in seen if error_with(100)(fields)]
        raw.close()


async def test_twenty_active_orders_per_side_and_global_cancel(ib: ib_async.IB) -> None:
    option = await atm_option(ib, ib_async)
    trades = [ib.placeOrder(option, ib_async.LimitOrder("BUY", 1, 0.01)) for _ in range(21)]
    await until(lambda: trades[-1].orderStatus.status == "Cancelled", "21st refused")
    assert (trades[-1].order.orderId, 201) in ib.errors  # type: ignore[attr-defined]
    await until(lambda: all(t.orderStatus.status == "Submitted" for t in trades[:20]), "20 work")
    other = await connect(ib.client.port)
    mine = {t.order.permId for t in trades[:20]}
    assert mine <= {t.order.permId for t in await other.reqAllOpenOrdersAsync()}
    assert not mine & {t.order.permId for t in await other.reqOpenOrdersAsync()}
    other.reqGlobalCancel()
    await until(lambda: all(t.orderStatus.status == "Cancelled" for t in trades), "cancelled")
    other.disconnect()


async def test_duplicate_order_id_gets_103(ib: ib_async.IB) -> None:
    await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1)))
    stale = ib_async.LimitOrder("BUY", 1, 1.0, orderId=1)
    trade = ib.placeOrder(SPY, stale)
    await until(lambda: trade.orderStatus.status == "Cancelled", "refused")
    assert (1, 103) in ib.errors  # type: ignore[attr-defined]


async def test_connectivity_lost_holds_orders_until_restored(ib: ib_async.IB, sim: Sim) -> None:
    sim.post("/faults/connectivity-lost")
    await until(lambda: (-1, 1100) in ib.errors, "1100")  # type: ignore[attr-defined]
    held = ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1))
    sim.post("/faults/connectivity-restored")
    await until(lambda: (-1, 1102) in ib.errors, "1102")  # type: ignore[attr-defined]
    await filled(held)
    sim.post("/faults/connectivity-restored-data-lost")
    await until(lambda: (-1, 1101) in ib.errors, "1101")  # type: ignore[attr-defined]


async def test_slow_acks_leave_orders_pending_until_acknowledged(ib: ib_async.IB, sim: Sim) -> None:
    assert sim.post("/faults/slow-acks", {"delay_ms": 60000}).status_code == 200
    try:
        trade = ib.placeOrder(SPY, ib_async.LimitOrder("BUY", 1, 1.0, orderRef="slow"))
        row = eventually(
            lambda: [o for o in sim.get("/orders") if o["orderRef"] == "slow"], "order recorded"
        )[0]
        assert (row["status"], row["acked_at_ns"]) == ("PendingSubmit", None)
        assert row["received_at_ns"] > 0
        assert trade.orderStatus.status == "PendingSubmit"
        ib.cancelOrder(trade.order)
        await until(lambda: trade.orderStatus.status == "Cancelled", "cancelled before ack")
    finally:
        sim.post("/faults/slow-acks", {"delay_ms": 0})


async def test_a_swallowed_order_gets_no_answer(ib: ib_async.IB, sim: Sim) -> None:
    sim.post("/faults/swallow-next-order")
    lost = ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1, orderRef="swallowed"))
    await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1, orderRef="after")))
    assert lost.orderStatus.status == "PendingSubmit"
    (row,) = [o for o in sim.get("/orders") if o["orderRef"] == "swallowed"]
    assert (row["status"], row["acked_at_ns"]) == ("Swallowed", None)
    ib.cancelOrder(lost.order)
    await until(lambda: (lost.order.orderId, 10147) in ib.errors, "10147")  # type: ignore[attr-defined]


async def test_unusual_activity_shows_in_the_option_ticks(ib: ib_async.IB, sim: Sim) -> None:
    option = await atm_option(ib, ib_async, "P")
    ticker = ib.reqMktData(option, "100,101,106")
    await until(
        lambda: known(ticker.putVolume, ticker.putOpenInterest, ticker.impliedVolatility), "ticks"
    )
    volume, interest, iv = ticker.putVolume, ticker.putOpenInterest, ticker.impliedVolatility
    response = sim.post(
        "/market/unusual-activity",
        {"strikes": [option.strike], "expiry": option.lastTradeDateOrContractMonth, "right": "P",
         "volume_multiplier": 20, "open_interest_multiplier": 4, "iv_bump": 0.25},
    )  # fmt: skip
    assert response.json()["contracts"] == [
        {"conId": option.conId, "localSymbol": option.localSymbol}
    ]
    await until(lambda: ticker.putVolume >= 15 * volume, "volume surge")
    await until(lambda: ticker.putOpenInterest >= 3 * interest, "open interest surge")
    await until(lambda: ticker.impliedVolatility >= iv + 0.2, "IV surge")
    ib.cancelMktData(option)
    assert sim.post("/market/unusual-activity", {"strikes": [1.0]}).status_code == 404
    assert sim.post("/market/unusual-activity", {"volume_multiplier": 2}).status_code == 422


def test_admin_api(sim: Sim) -> None:
    health = sim.get("/health")
    assert (health["status"], health["server_version"]) == ("ok", 157)
    metrics = httpx.get(sim.admin + "/metrics").text
    assert "tws_messages_received_total" in metrics
    assert "tws_orders_total" in metrics
    unknown = sim.post("/faults/nope")
    assert unknown.status_code == 404
    assert "restart" in unknown.json()["faults"]
    assert sim.post("/faults/slow-acks", {"delay_ms": -1}).status_code == 422
    assert sim.post("/faults/restart", {"bogus": 1}).status_code == 422


async def test_restart_mid_order_loses_the_unacknowledged_order(sim: Sim) -> None:
    client_id = next_client_id()
    ib = await connect(sim.port, client_id)
    sim.post("/faults/slow-acks", {"delay_ms": 60000})
    lost = ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1, orderRef="in-flight"))
    eventually(lambda: [o for o in sim.get("/orders") if o["orderRef"] == "in-flight"], "received")
    assert (
        sim.post("/faults/restart", {"downtime_s": 0.1}).json()["next_valid_id"]
        > lost.order.orderId
    )
    await until(lambda: not ib.isConnected(), "disconnect")
    ib = await connect(sim.port, client_id)
    assert "in-flight" not in {o["orderRef"] for o in sim.get("/orders")}
    assert "in-flight" not in {t.order.orderRef for t in ib.openTrades()}
    redo = await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1, orderRef="redo")))
    assert redo.order.orderId > lost.order.orderId
    ib.disconnect()


async def test_a_crash_loses_no_acknowledged_fill_and_rolls_no_id_back(tmp_path: Path) -> None:
    state, client_id = tmp_path / "state.json", next_client_id()
    with simulator(tmp_path, state, name="tws-crash") as sim:
        ib = await connect(sim.port, client_id)
        trades = [
            await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1))) for _ in range(3)
        ]
        sim.proc.signal(signal.SIGKILL)
        sim.proc.popen.wait()
        ib.disconnect()
    with simulator(tmp_path, state, name="tws-after-crash") as sim:
        ib = await connect(sim.port, client_id)
        exec_ids = {f.execution.execId for f in ib.fills()}
        assert {t.fills[0].execution.execId for t in trades} <= exec_ids
        after = await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1)))
        assert after.order.orderId > max(t.order.orderId for t in trades)
        assert after.order.permId > max(t.order.permId for t in trades)
        assert after.fills[0].execution.execId not in exec_ids
        ib.disconnect()


async def test_startup_options_credential_etrade_and_fill_delay(tmp_path: Path) -> None:
    (tmp_path / "credential").write_text("s3cret\n")
    extra = (
        "--credential-file", str(tmp_path / "credential"), "--reject-etrade-firm-quote",
        "--fill-delay-ms", "20",
    )  # fmt: skip
    with simulator(tmp_path, tmp_path / "state.json", *extra, name="tws-options") as sim:
        refused = RawClient(sim.port)
        refused.start(next_client_id(), "wrong")
        assert "credential" in refused.wait_for(error_with(321))[4]
        assert refused.closed_by_peer()
        ib = await connect(sim.port, credential="s3cret")
        delayed = await filled(ib.placeOrder(SPY, ib_async.MarketOrder("BUY", 1)))
        assert [e.status for e in delayed.log][-2:] == ["Submitted", "Filled"]
        sim.post("/credential", {"credential": "rotated"})
        with pytest.raises(TimeoutError):  # refused before ready: the client waits it out
            await connect(sim.port, credential="s3cret", connect_s=1)
        assert await ib.reqCurrentTimeAsync()  # already admitted: rotation does not cut it
        ib.disconnect()
        ibapi = Api(sim.port, next_client_id(), credential="rotated")
        order_id = ibapi.order_id()
        market = order(action="BUY", totalQuantity=1, orderType="MKT")  # eTradeOnly=1 by default
        ibapi.client.placeOrder(order_id, contract(secType="STK"), market)
        assert ibapi.wrapper.wait("error", lambda req_id, *_: req_id == order_id)[1] == 10268
        ibapi.close()
