"""The bot's IB adapter against the IB Gateway simulator: a resting order is good until its
signal expires, and each answer a cancel can get (cancelled, unknown, too late) is told apart."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from system.adapters.broker_ib import IbBroker
from system.domain.orders import OrderIntent, OrderStatus, OrderType, TimeInForce
from system.domain.signals import Side, signal_id
from system.ports import OrderEvent
from tests.integration.edge.rig import listed_contract
from tests.integration.tws.support import simulator

pytestmark = pytest.mark.integration


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[IbBroker]:
    with simulator(tmp_path, tmp_path / "state.json") as sim:
        connected = IbBroker("127.0.0.1", sim.port, 41, id_floor=lambda: 1)
        await connected.connect()
        try:
            yield connected
        finally:
            await connected.disconnect()


def intent(limit: str, good_for_s: float | None = None) -> OrderIntent:
    now = dt.datetime.now(dt.UTC)
    contract = listed_contract()
    return OrderIntent(
        signal_id=signal_id(now, contract, Side.BUY, "broker test"),
        contract=contract,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        limit_price=Decimal(limit),
        time_in_force=TimeInForce.DAY if good_for_s is None else TimeInForce.GTD,
        good_till=None if good_for_s is None else now + dt.timedelta(seconds=good_for_s),
    )


async def status(broker: IbBroker, ref: str, wanted: OrderStatus) -> OrderEvent:
    async def first() -> OrderEvent:
        async for event in broker.events():
            if isinstance(event, OrderEvent) and (event.order_ref, event.status) == (ref, wanted):
                return event
        raise AssertionError("the event stream ended")

    return await asyncio.wait_for(first(), 10)


async def test_a_resting_order_ends_at_its_good_till_date(broker: IbBroker) -> None:
    order = intent("0.05", good_for_s=1)
    await broker.place(order)
    await status(broker, order.order_ref, OrderStatus.ACKNOWLEDGED)
    await status(broker, order.order_ref, OrderStatus.CANCELLED)
    assert order.good_till is not None
    assert dt.datetime.now(dt.UTC) >= order.good_till  # not before it


async def test_each_answer_to_a_cancel(broker: IbBroker) -> None:
    resting = intent("0.05")
    resting_id = await broker.place(resting)
    await status(broker, resting.order_ref, OrderStatus.ACKNOWLEDGED)
    assert await broker.cancel(resting.order_ref, resting_id)  # known: its status follows
    await status(broker, resting.order_ref, OrderStatus.CANCELLED)

    filled = intent("500")  # marketable: it fills at once
    filled_id = await broker.place(filled)
    await status(broker, filled.order_ref, OrderStatus.FILLED)
    assert await broker.cancel(filled.order_ref, filled_id)  # 10148: too late, but known

    assert not await broker.cancel("sig-never-placed", filled_id + 1000)  # 10147: unknown
