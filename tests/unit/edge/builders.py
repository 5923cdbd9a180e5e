"""Signals, intents and broker views for the edge's unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from system.domain.contracts import OptionContract, Right
from system.domain.orders import Execution, Order, OrderIntent, OrderStatus
from system.domain.signals import Side, Signal, signal_id

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
CALL = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal("600"), right=Right.CALL
)


def make_signal(
    n: int = 0,
    *,
    created: datetime = NOW,
    ttl_s: float = 30,
    side: Side = Side.BUY,
    price: str | None = "2.50",
    contract: OptionContract = CALL,
) -> Signal:
    return Signal(
        id=signal_id(created + timedelta(microseconds=n), contract, side, "volume_surge"),
        created_at=created,
        contract=contract,
        side=side,
        score=7.5,
        reason="volume 9.1 MADs above median",
        expires_at=created + timedelta(seconds=ttl_s),
        reference_price=None if price is None else Decimal(price),
        trace_context={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )


def make_intent(signal: Signal, quantity: int = 1, price: str = "2.55") -> OrderIntent:
    return OrderIntent(
        signal_id=signal.id,
        contract=signal.contract,
        side=signal.side,
        quantity=quantity,
        limit_price=Decimal(price),
    )


def broker_order(
    signal: Signal, status: OrderStatus, broker_id: int = 7, filled: int = 0, quantity: int = 1
) -> Order:
    return Order(
        broker_order_id=broker_id,
        perm_id=1000 + broker_id,
        order_ref=signal.id,
        contract=signal.contract,
        side=signal.side,
        quantity=quantity,
        status=status,
        filled_quantity=filled,
    )


def execution(signal: Signal, exec_id: str = "0001.01", quantity: int = 1) -> Execution:
    return Execution(
        exec_id=exec_id,
        order_ref=signal.id,
        contract=signal.contract,
        side=signal.side,
        quantity=quantity,
        price=Decimal("2.55"),
        commission=Decimal("0.65"),
        executed_at=NOW,
    )
