"""The IB adapter's order placement, with ib_async's socket stubbed out: the same message goes
out and the same trade is kept as when ib_async's own IB.placeOrder places the order."""

import asyncio
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import pytest
from ib_async import LimitOrder, MarketOrder

from system.adapters.broker_ib import IbBroker
from system.domain.orders import OrderType
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


@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.MARKET])
async def test_a_new_order_is_written_and_kept_as_ib_async_keeps_it(
    connected: list[tuple[IbBroker, Sent]], order_type: OrderType
) -> None:
    (broker, ours), (reference, theirs) = connected[:2]
    signal = make_signal()
    intent = make_intent(signal, quantity=2)
    if order_type is OrderType.MARKET:
        intent = intent.model_copy(update={"order_type": order_type, "limit_price": None})
    announced = MagicMock()
    broker._ib.newOrderEvent += announced

    placed = []
    for _ in range(2):  # the second order is built ahead, after the first is written
        placed.append(await broker.place(intent))
        # ib_async's record of the trade is made in the loop's next callback, not before:
        assert len(broker._ib.trades()) == len(placed) - 1
        await asyncio.sleep(0)
    # The reference: the same orders, as a user of ib_async places them.
    for _ in range(2):
        order = (
            MarketOrder("BUY", 2, orderRef=signal.id, tif="DAY")
            if order_type is OrderType.MARKET
            else LimitOrder("BUY", 2, 2.55, orderRef=signal.id, tif="DAY")
        )
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
