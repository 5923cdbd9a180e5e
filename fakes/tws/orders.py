"""The order book: validation, lifecycle, fills against the simulated quotes, limits.

Pure and synchronous: the server decides *when* (ack and fill delays, market steps) and turns
the returned events into wire messages. Lifecycle, with IB's meanings: PendingSubmit (received,
not yet acknowledged) -> PreSubmitted (accepted but held by IB: a stop not yet triggered) ->
Submitted (working; market and limit orders start here) -> Filled | Cancelled. Fills take the
simulated bid/ask, at most the displayed size per attempt (bigger orders fill partially over
several market steps); limit orders fill only when marketable, stops trigger on the touch and
then act as MKT/LMT.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fakes.tws.account import Account, fill_commission, margin, order_commission
from fakes.tws.ids import Ids
from fakes.tws.instruments import Contract
from fakes.tws.market import Quote

ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT"})
STOPS = frozenset({"STP", "STP LMT"})
TIFS = frozenset({"DAY", "GTC", "IOC", "GTD"})
WORKING = frozenset({"PendingSubmit", "PreSubmitted", "Submitted"})
DONE = frozenset({"Filled", "Cancelled", "Inactive"})
MAX_ACTIVE_PER_SIDE = 20


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a placeOrder asks for (the fields this simulator honours)."""

    order_id: int
    action: str
    quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    good_till: str  # goodTillDate as sent: read with tif GTD only
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    e_trade_only: bool
    firm_quote_only: bool
    what_if: bool


@dataclass(slots=True)
class Order:
    perm_id: int
    client_id: int
    order_id: int
    contract: Contract
    action: str
    quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    account: str
    order_ref: str
    outside_rth: bool
    good_till_ns: int | None = None  # GTD: cancelled at the first market step past it
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    commission: float = 0.0
    received_at_ns: int = 0
    acked_at_ns: int | None = None
    completed_at_ns: int | None = None

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled, 0.0)

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def side(self) -> str:
        return "BOT" if self.action == "BUY" else "SLD"


@dataclass(frozen=True, slots=True)
class Execution:
    exec_id: str
    perm_id: int
    order_id: int
    client_id: int
    contract: Contract
    side: str  # BOT | SLD
    shares: float
    price: float
    time_ns: int
    cum_qty: float
    avg_price: float
    order_ref: str
    account: str
    commission: float
    realized_pnl: float | None


@dataclass(frozen=True, slots=True)
class Rejection:
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The order's status as of this event; `open_order` asks for an openOrder as well."""

    order: Order
    status: str
    filled: float
    remaining: float
    avg_fill_price: float
    last_fill_price: float
    open_order: bool


@dataclass(frozen=True, slots=True)
class Filled:
    order: Order
    execution: Execution
    status: StatusChanged


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The margin/commission preview of a whatIf order (TWS sends it as one openOrder)."""

    init_before: float
    maint_before: float
    equity_before: float
    init_change: float
    maint_change: float
    commission: float


Event = StatusChanged | Filled
Quotes = Callable[[Contract], Quote]


def _rejected(reason: str) -> Rejection:
    return Rejection(201, f"Order rejected - reason:{reason}")


def good_till_ns(text: str) -> int | None:
    """goodTillDate as IB reads it: "yyyymmdd-hh:mm:ss" in UTC, or "yyyymmdd hh:mm:ss" and a
    time zone (UTC when none is given: the simulated login's zone); None if it is neither."""
    parts = text.split()
    try:
        if len(parts) == 1:
            moment = dt.datetime.strptime(parts[0], "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.UTC)
        elif len(parts) in (2, 3):
            zone = ZoneInfo(parts[2]) if len(parts) == 3 else dt.UTC
            moment = dt.datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S")
            moment = moment.replace(tzinfo=zone)
        else:
            return None
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return int(moment.timestamp()) * 1_000_000_000


def _good_till(request: OrderRequest) -> int | None:
    return good_till_ns(request.good_till) if request.tif == "GTD" else None


class OrderBook:
    def __init__(
        self,
        ids: Ids,
        account: Account,
        quotes: Quotes,
        spot: Callable[[], float],
        orders: list[Order] | None = None,
        executions: list[Execution] | None = None,
        reject_etrade_firm_quote: bool = False,
    ) -> None:
        self.ids = ids
        self.account = account
        self.quotes = quotes
        self.spot = spot
        self.reject_etrade_firm_quote = reject_etrade_firm_quote
        self.orders: dict[tuple[int, int], Order] = {}
        self.executions: list[Execution] = list(executions or [])
        self._active: Counter[tuple[int, str]] = Counter()
        self._live: dict[int, Order] = {}  # acknowledged working orders, by permId
        self._max_order_id: dict[int, int] = {}
        for order in orders or []:
            self._index(order)

    def _index(self, order: Order) -> None:
        self.orders[order.client_id, order.order_id] = order
        if order.order_id > self._max_order_id.get(order.client_id, 0):
            self._max_order_id[order.client_id] = order.order_id
        if order.working:
            self._active[order.contract.con_id, order.action] += 1
            if order.status != "PendingSubmit":
                self._live[order.perm_id] = order

    def working_orders(self, client_id: int | None = None) -> Iterator[Order]:
        return (
            o
            for o in self.orders.values()
            if o.working and (client_id is None or o.client_id == client_id)
        )

    def completed_orders(self) -> Iterator[Order]:
        return (o for o in self.orders.values() if o.status in DONE)

    # -- placing and modifying -------------------------------------------------------------

    def validate(
        self, client_id: int, request: OrderRequest, contract: Contract
    ) -> Order | Rejection | None:
        """The existing order a request modifies, None for a new order, or why it is refused."""
        if request.e_trade_only and self.reject_etrade_firm_quote:
            return Rejection(10268, "The 'EtradeOnly' order attribute is not supported.")
        if request.firm_quote_only and self.reject_etrade_firm_quote:
            return Rejection(10269, "The 'FirmQuoteOnly' order attribute is not supported.")
        if request.account and request.account != self.account.code:
            return _rejected(f"Invalid account: {request.account}")
        if request.action not in ("BUY", "SELL"):
            return _rejected(f"Invalid side: {request.action}")
        if not 0 < request.quantity < 1e9:
            return _rejected("The order size must be positive")
        if request.order_type not in ORDER_TYPES:
            return _rejected(f"Unsupported order type: {request.order_type}")
        if (request.tif or "DAY") not in TIFS:
            return _rejected(f"Unsupported time in force: {request.tif}")
        if request.tif == "GTD" and good_till_ns(request.good_till) is None:
            return _rejected(
                f"Invalid goodTillDate {request.good_till!r}: expected yyyymmdd-hh:mm:ss (UTC) "
                "or yyyymmdd hh:mm:ss [time zone]"
            )
        needs_limit = request.order_type in ("LMT", "STP LMT")
        if needs_limit and (request.lmt_price is None or request.lmt_price <= 0):
            return _rejected("A limit price is required")
        needs_stop = request.order_type in ("STP", "STP LMT")
        if needs_stop and (request.aux_price is None or request.aux_price <= 0):
            return _rejected("A stop price is required")
        if request.parent_id or request.oca_group or not request.transmit:
            return _rejected("Bracket, OCA and untransmitted orders are not simulated")
        existing = self.orders.get((client_id, request.order_id))
        if existing is not None:
            if existing.status == "Filled":
                return Rejection(104, "Can't modify a filled order")
            if not existing.working:
                return Rejection(103, "Duplicate order id")
            if existing.contract != contract or existing.action != request.action:
                return Rejection(105, "Order being modified does not match original order")
            return existing
        if request.order_id <= 0:
            return _rejected("Invalid order id")
        if not request.what_if:
            if request.order_id <= self._max_order_id.get(client_id, 0):
                return Rejection(103, "Duplicate order id")
            if self._active[contract.con_id, request.action] >= MAX_ACTIVE_PER_SIDE:
                return _rejected(
                    f"Cannot have more than {MAX_ACTIVE_PER_SIDE} active orders on the same "
                    "side of the same contract"
                )
        return None

    def accept(
        self, client_id: int, request: OrderRequest, contract: Contract, received_at_ns: int
    ) -> Order:
        """Record a validated new order as PendingSubmit (not yet acknowledged)."""
        self.ids.saw_order_id(request.order_id)
        order = Order(
            perm_id=self.ids.perm_id(),
            client_id=client_id,
            order_id=request.order_id,
            contract=contract,
            action=request.action,
            quantity=request.quantity,
            order_type=request.order_type,
            lmt_price=request.lmt_price,
            aux_price=request.aux_price,
            tif=request.tif or "DAY",
            account=self.account.code,
            order_ref=request.order_ref,
            outside_rth=request.outside_rth,
            good_till_ns=_good_till(request),
            received_at_ns=received_at_ns,
        )
        self._index(order)
        return order

    def modify(self, order: Order, request: OrderRequest) -> None:
        order.quantity = max(request.quantity, order.filled)
        order.order_type = request.order_type
        order.lmt_price = request.lmt_price
        order.aux_price = request.aux_price
        order.tif = request.tif or "DAY"
        order.good_till_ns = _good_till(request)
        order.order_ref = request.order_ref
        order.outside_rth = request.outside_rth

    def what_if(self, request: OrderRequest, contract: Contract) -> WhatIf:
        quote = self.quotes(contract)
        price = quote.ask if request.action == "BUY" else quote.bid
        mark = self._mark
        spot = self.spot()
        init, maint = self.account.margins(mark, spot)
        held = self.account.positions.get(contract.con_id)
        before = held.quantity if held else 0.0
        signed = request.quantity if request.action == "BUY" else -request.quantity
        old_init, old_maint = margin(contract, before, mark(contract), spot)
        new_init, new_maint = margin(contract, before + signed, mark(contract), spot)
        if not contract.is_option and signed > 0:  # buying stock always ties up margin
            new_init = max(new_init, old_init + 0.5 * signed * price)
        return WhatIf(
            init_before=init,
            maint_before=maint,
            equity_before=self.account.net_liquidation(mark),
            init_change=new_init - old_init,
            maint_change=new_maint - old_maint,
            commission=order_commission(contract, request.quantity, max(price, 0.01)),
        )

    def _mark(self, contract: Contract) -> float:
        quote = self.quotes(contract)
        return (quote.bid + quote.ask) / 2 if quote.bid > 0 else quote.ask

    # -- lifecycle -------------------------------------------------------------------------

    def status_of(self, order: Order, open_order: bool = False) -> StatusChanged:
        return StatusChanged(
            order,
            order.status,
            order.filled,
            order.remaining,
            order.avg_fill_price,
            order.last_fill_price,
            open_order,
        )

    def acknowledge(self, order: Order, now_ns: int) -> list[Event]:
        """The order reaches IB: Submitted, or PreSubmitted while IB holds an untriggered stop."""
        if not order.working:
            return []
        order.acked_at_ns = now_ns
        order.status = "PreSubmitted" if order.order_type in STOPS else "Submitted"
        self._live[order.perm_id] = order
        return [self.status_of(order, open_order=True)]

    def acknowledge_modification(self, order: Order) -> list[Event]:
        return [self.status_of(order, open_order=True)] if order.working else []

    def cancel(self, order: Order, now_ns: int) -> list[Event]:
        if not order.working:
            return []
        self._finish(order, "Cancelled", now_ns)
        return [self.status_of(order, open_order=True)]

    def _finish(self, order: Order, status: str, now_ns: int) -> None:
        order.status = status
        order.completed_at_ns = now_ns
        self._live.pop(order.perm_id, None)
        self._active[order.contract.con_id, order.action] -= 1

    def try_fill(self, order: Order, now_ns: int) -> list[Event]:
        """One fill attempt at the current quote (IOC: the only one)."""
        if order.perm_id not in self._live:
            return []
        events: list[Event] = []
        if order.status == "PreSubmitted" and self._triggered(order):
            order.status = "Submitted"
            events.append(self.status_of(order))
        execution = self._fill_once(order, now_ns) if order.status == "Submitted" else None
        if execution is not None:
            if order.remaining <= 0:
                self._finish(order, "Filled", now_ns)
            events.append(Filled(order, execution, self.status_of(order)))
        if order.tif == "IOC" and order.working:
            events += self.cancel(order, now_ns)
        return events

    def _triggered(self, order: Order) -> bool:
        """A stop triggers when the side it would trade at touches the stop price."""
        quote = self.quotes(order.contract)
        stop = order.aux_price or 0.0
        if order.action == "BUY":
            return quote.ask > 0 and quote.ask >= stop
        return 0 < quote.bid <= stop

    def _fill_once(self, order: Order, now_ns: int) -> Execution | None:
        quote = self.quotes(order.contract)
        buy = order.action == "BUY"
        price, size = (quote.ask, quote.ask_size) if buy else (quote.bid, quote.bid_size)
        if price <= 0 or size <= 0:
            return None
        if order.order_type in ("LMT", "STP LMT"):
            limit = order.lmt_price or 0.0
            if (buy and limit < price) or (not buy and limit > price):
                return None
        quantity = min(order.remaining, float(size))
        commission = fill_commission(order.contract, order.filled, quantity, price)
        signed = quantity if buy else -quantity
        _, realized = self.account.apply_fill(order.contract, signed, price, commission)
        cost = order.avg_fill_price * order.filled + price * quantity
        order.filled += quantity
        order.avg_fill_price = cost / order.filled
        order.last_fill_price = price
        order.commission += commission
        execution = Execution(
            exec_id=self.ids.exec_id(),
            perm_id=order.perm_id,
            order_id=order.order_id,
            client_id=order.client_id,
            contract=order.contract,
            side=order.side,
            shares=quantity,
            price=price,
            time_ns=now_ns,
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
            order_ref=order.order_ref,
            account=order.account,
            commission=commission,
            realized_pnl=realized,
        )
        self.executions.append(execution)
        return execution

    def on_market_step(self, now_ns: int) -> list[Event]:
        """Resting orders past their goodTillDate are cancelled; the others get another chance
        at the new quotes."""
        events: list[Event] = []
        for order in list(self._live.values()):
            if order.good_till_ns is not None and order.good_till_ns <= now_ns:
                events += self.cancel(order, now_ns)
            else:
                events += self.try_fill(order, now_ns)
        return events
