"""Orders: what the edge intends, what the broker holds, and what got filled."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from system.domain.contracts import OptionContract
from system.domain.signals import Side


class OrderType(StrEnum):
    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"
    STOP_LIMIT = "STP LMT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    GTD = "GTD"  # until good_till: the broker cancels the order itself then


class OrderIntent(BaseModel):
    """An order the edge means to place for one signal; the signal id is its orderRef."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    contract: OptionContract
    side: Side
    quantity: int = Field(gt=0)
    order_type: OrderType = OrderType.LIMIT
    limit_price: Decimal | None = Field(default=None, gt=0)
    stop_price: Decimal | None = Field(default=None, gt=0)
    # What risk values an order without a limit at: the option's quote when the signal was raised.
    reference_price: Decimal | None = Field(default=None, gt=0)
    time_in_force: TimeInForce = TimeInForce.DAY
    good_till: AwareDatetime | None = None  # with GTD only

    @model_validator(mode="after")
    def _prices_match_type(self) -> OrderIntent:
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise ValueError(
                f"limit_price is {'required' if needs_limit else 'not allowed'} "
                f"for {self.order_type.value} orders"
            )
        if needs_stop != (self.stop_price is not None):
            raise ValueError(
                f"stop_price is {'required' if needs_stop else 'not allowed'} "
                f"for {self.order_type.value} orders"
            )
        dated = self.time_in_force is TimeInForce.GTD
        if dated != (self.good_till is not None):
            raise ValueError(
                f"good_till is {'required' if dated else 'not allowed'} "
                f"for {self.time_in_force.value} orders"
            )
        return self

    @property
    def order_ref(self) -> str:
        return self.signal_id

    @property
    def notional(self) -> Decimal:
        """Premium at risk: at the limit, else the stop, else the reference price (a market
        order); 0 only for an order nothing prices (one adopted without a reference)."""
        price = self.limit_price or self.stop_price or self.reference_price or Decimal(0)
        return price * self.quantity * self.contract.multiplier


class OrderStatus(StrEnum):
    """The ledger's view of one order, from intent to outcome."""

    INTENDED = "intended"  # written to the ledger, not yet on the wire
    PLACED = "placed"  # written to the broker's socket
    ACKNOWLEDGED = "acknowledged"  # broker says PreSubmitted/Submitted
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"  # never sent: its signal expired first

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
_LIVE = {
    OrderStatus.ACKNOWLEDGED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
}
_NEXT: dict[OrderStatus, set[OrderStatus]] = {
    OrderStatus.INTENDED: {
        OrderStatus.PLACED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
        *_LIVE,
    },  # reconciliation may find the order already live
    OrderStatus.PLACED: _LIVE,
    OrderStatus.ACKNOWLEDGED: _LIVE - {OrderStatus.ACKNOWLEDGED},
    OrderStatus.PARTIALLY_FILLED: {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
    },
}


class InvalidTransition(ValueError):
    pass


def advance(current: OrderStatus, new: OrderStatus) -> OrderStatus:
    """The status after a broker event. Repeating the current status is a no-op (brokers resend);
    anything that would move an order backwards or out of a terminal state is refused."""
    if new == current or new in _NEXT.get(current, set()):
        return new
    raise InvalidTransition(f"order cannot go from {current.value} to {new.value}")


class Execution(BaseModel):
    """One fill as the broker reported it; exec_id is unique for ever."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exec_id: str
    order_ref: str
    contract: OptionContract
    side: Side
    quantity: int = Field(gt=0)
    price: Decimal = Field(gt=0)
    commission: Decimal = Field(ge=0)
    executed_at: AwareDatetime


class Order(BaseModel):
    """An order as the broker holds it: matched to its intent by orderRef."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker_order_id: int
    perm_id: int | None = None
    order_ref: str
    contract: OptionContract
    side: Side
    quantity: int = Field(gt=0)
    status: OrderStatus
    filled_quantity: int = Field(default=0, ge=0)
