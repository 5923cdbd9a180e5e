"""The IB adapter's order placement, with ib_async's socket stubbed out: the same message goes
out and the same trade is kept as when ib_async's own IB.placeOrder places the order."""

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import pytest
from ib_async import LimitOrder, MarketOrder

from system.adapters.broker_ib import IbBroker, good_till_date
from system.domain.orders import OrderType, TimeInForce
from tests.unit.edge.builders import make_intent, make_signal

Sent = list[tuple[Any, ...]]


@pytest.fixture
def connected() -> Iterator[list[tuple[IbBroker, Sent]]]:
    """Brokers whose ib_async client believes it is connected and records what it would send."""
    made: list[tuple[IbBroker, Sent]] = []

    def make() -> tuple[IbBroker, Sent]:
        broker, sent = IbBroker("127.0.0.1", 4002, 7, id_floor=lambda: 1), []
        client = broker._ib.client
        client.isReady = client.isConnected = lambda: True  # type: ignore[method-assign]
        client.placeOrder = lambda *fields: sent.append(fields)  # type: ignore[method-assign]
        client.updateReqId(41)  # type: ignore[no-untyped-call]
        broker._ib.wrapper.clientId = 7
        broker._link_ok.set()
        made.append((broker, sent))
        return broker, sent

    make()
    make()
    yield made
    for broker, _ in made:  # as disconnected again, so nothing is torn down at collection
        broker._ib.client.isReady = broker._ib.client.isConnected = lambda: False  # type: ignore[method-assign]


REFERENCE_ORDERS = {  # as a user of ib_async writes them (the signal expires at 15:30:30 UTC)
    "LMT": lambda ref: LimitOrder("BUY", 2, 2.55, orderRef=ref, tif="DAY"),
    "MKT": lambda ref: MarketOrder("BUY", 2, orderRef=ref, tif="DAY"),
    "LMT GTD": lambda ref: LimitOrder(
        "BUY", 2, 2.55, orderRef=ref, tif="GTD", goodTillDate="20261124-15:30:30"
    ),
}


@pytest.mark.parametrize("kind", REFERENCE_ORDERS)
async def test_a_new_order_is_written_and_kept_as_ib_async_keeps_it(
    connected: list[tuple[IbBroker, Sent]], kind: str
) -> None:
    (broker, ours), (reference, theirs) = connected[:2]
    signal = make_signal()
    intent = make_intent(signal, quantity=2)
    if kind == "MKT":
        intent = intent.model_copy(update={"order_type": OrderType.MARKET, "limit_price": None})
    if kind == "LMT GTD":
        intent = intent.model_copy(
            update={"time_in_force": TimeInForce.GTD, "good_till": signal.expires_at}
        )
    announced = MagicMock()
    broker._ib.newOrderEvent += announced

    placed = []
    for _ in range(2):  # the second order is built ahead, after the first is written
        placed.append(await broker.place(intent))
        # ib_async's record of the trade is made in the loop's next callback, not before:
        assert len(broker._ib.trades()) == len(placed) - 1
        await asyncio.sleep(0)
    for _ in range(2):
        order = REFERENCE_ORDERS[kind](signal.id)
        reference._ib.placeOrder(broker._contract(signal.contract), order)

    assert placed == [f[0] for f in ours] == [f[0] for f in theirs] == [41, 42]
    assert [f[1] for f in ours] == [f[1] for f in theirs]  # the same contract encoded
    for trade, expected in zip(broker._ib.trades(), reference._ib.trades(), strict=True):
        assert trade.contract == expected.contract
        assert vars(trade.order) == vars(expected.order)  # Order compares by identity
        assert trade.orderStatus == expected.orderStatus
        assert [e.status for e in trade.log] == [e.status for e in expected.log]
    assert broker._ib.openTrades() == broker._ib.trades()
    assert announced.call_count == 2


async def test_a_rehearsal_encodes_what_place_writes_and_writes_nothing() -> None:
    broker = IbBroker("127.0.0.1", 4002, 7, id_floor=lambda: 1)
    client = broker._ib.client
    client.isReady = client.isConnected = lambda: True  # type: ignore[method-assign]
    client._serverVersion = 176  # as the gateway announced it at connect
    client.updateReqId(41)  # type: ignore[no-untyped-call]
    broker._link_ok.set()
    written: list[bytes] = []
    rehearsed: list[str] = []
    client.conn.sendMsg = written.append  # type: ignore[method-assign]  # the socket
    broker._rehearsal.sendMsg = rehearsed.append  # type: ignore[method-assign]  # kept to compare
    intent = make_intent(make_signal(), quantity=2)
    try:
        broker.rehearse(intent)
        assert written == []
        await broker.place(intent)
    finally:
        client.isReady = client.isConnected = lambda: False  # type: ignore[method-assign]
    [sent], [encoded] = written, rehearsed
    theirs, ours = sent[4:].decode().split("\0"), encoded.split("\0")
    assert (theirs[1], ours[1]) == ("41", "0")  # a rehearsal takes no order id
    assert theirs[:1] + theirs[2:] == ours[:1] + ours[2:]
    assert intent.order_ref in theirs


def test_a_good_till_date_is_utc_and_rounded_up_to_the_second() -> None:
    eastern = dt.timezone(dt.timedelta(hours=-5))
    assert good_till_date(dt.datetime(2026, 12, 31, 18, 59, 59, tzinfo=eastern)) == (
        "20261231-23:59:59"
    )
    assert good_till_date(dt.datetime(2026, 12, 31, 18, 59, 59, 1, tzinfo=eastern)) == (
        "20270101-00:00:00"
    )


def test_the_answers_to_cancels_stay_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    wrapper = logging.getLogger("ib_async.wrapper")  # as ib_async words them
    with caplog.at_level(logging.INFO):
        wrapper.error("Error 202, reqId 626: Order Canceled - reason:")
        wrapper.error("Error 10148, reqId 7: OrderId 7 ... cannot be cancelled, state: Filled.")
        wrapper.error("Error 201, reqId 8: Order rejected - reason:Invalid account")
    assert [r.getMessage()[:10] for r in caplog.records] == ["Error 201,"]
