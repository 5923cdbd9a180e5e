"""IB Gateway through ib_async, behind the Broker port.

- Every order carries orderRef = signal id, so it is found again after any reconnect.
- The local order-id counter is never trusted across a reconnect: after connecting, the next id
  is raised above every id the ledger ever used and every id the gateway lists (a gateway that
  restarted once rolled nextValidId back and handed out the ids of orders it had lost).
- The credential (IB Gateway's API startApi optionalCapabilities) is read from the SecretStore
  at every connect, so a rotated one is used by the next session.
- IB's connectivity codes are session events: 1100 (IB <-> gateway lost) stops trading until
  1101/1102 restore it; a closed socket stops it until the next connect.
- ib_async keeps every trade of the session (each with its events, log and fills, ~70 objects):
  over a trading day that is memory without bound, and the garbage collector's full passes over
  it stall the event loop (60 ms at 1,100 trades in the bot bench). A trade that ended is
  dropped from the library's records a little later (late commission reports still find it);
  the ledger keeps the record, and reconciliation asks the gateway afresh.
- A new order is placed as ib_async's IB.placeOrder places one, less its log line (it formats
  the whole trade eagerly, whatever the log level: 40-150 us). `place` returns once the order
  is written to the socket; the library's record of the trade, and the next order's ~150-field
  Order, are made in the loop's very next callback, ahead of anything the gateway answers
  (which is read only after that). A contract is encoded from one `Contract` kept per contract;
  the trade gets a fresh one of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from ib_async import IB, Contract, Trade
from ib_async import Order as IbOrder
from ib_async.client import Client
from ib_async.ib import StartupFetch
from ib_async.objects import CommissionReport, Fill, TradeLogEntry
from ib_async.order import OrderStatus as IbOrderStatus
from ib_async.util import UNSET_DOUBLE

from system.adapters import ib_connect
from system.domain.contracts import OptionContract
from system.domain.orders import Execution, Order, OrderIntent, OrderStatus, OrderType
from system.domain.signals import Side
from system.ports import BrokerLink, OrderEvent, SecretStore

log = logging.getLogger(__name__)

T = TypeVar("T")

_LINK_LOST = 1100
_LINK_RESTORED = (1101, 1102)
_CANCEL_UNKNOWN = 10147  # "OrderId ... that needs to be cancelled is not found"
_CANCEL_TOO_LATE = 10148  # "... cannot be cancelled, state: Filled"
_CANCEL_CONFIRMED = 202  # "Order Canceled - reason:"
_LIVE = {"PreSubmitted", "Submitted"}
_SENT = {"PendingSubmit", "ApiPending"}
_ENDED = {"Cancelled", "ApiCancelled", "Inactive"}

BrokerEvent = OrderEvent | Execution | BrokerLink


def _not_a_cancel_answer(record: logging.LogRecord) -> bool:
    """ib_async logs IB's answer to every cancel at ERROR ("Error 202 ... Order Canceled", or
    10148 when the order ended first). Here those are expected answers, read in `_on_error`
    and kept in the ledger; at one per expired order they made half the leader's log."""
    return not record.getMessage().startswith(
        (f"Error {_CANCEL_CONFIRMED},", f"Error {_CANCEL_TOO_LATE},")
    )


logging.getLogger("ib_async.wrapper").addFilter(_not_a_cancel_answer)


def _side(action: str) -> Side:
    return Side.BUY if action in ("BUY", "BOT") else Side.SELL


def _known(value: float | Decimal) -> float:
    return 0.0 if value >= UNSET_DOUBLE else float(value)


def _occ(local_symbol: str) -> OptionContract:
    return OptionContract.from_local_symbol(local_symbol)


@functools.lru_cache(maxsize=4096)
def _normal(local_symbol: str) -> str:
    """IB's localSymbol in the domain's OCC spelling (risk reads positions on every signal)."""
    return _occ(local_symbol).local_symbol


def good_till_date(moment: dt.datetime) -> str:
    """IB's goodTillDate in UTC ("yyyymmdd-hh:mm:ss"), rounded up to the second: the order
    lives to its moment and at most a second beyond."""
    t = moment.astimezone(dt.UTC)
    if t.microsecond:
        t = t.replace(microsecond=0) + dt.timedelta(seconds=1)
    return t.strftime("%Y%m%d-%H:%M:%S")


@functools.lru_cache(maxsize=4096)
def _encoded_contract(contract: OptionContract) -> Contract:
    """The contract as placeOrder encodes it (read, never changed, by the encoding)."""
    return Contract(**_contract_fields(contract))


@functools.lru_cache(maxsize=4096)
def _contract_fields(contract: OptionContract) -> dict[str, Any]:
    return {
        "secType": "OPT",
        "symbol": contract.symbol,
        "lastTradeDateOrContractMonth": f"{contract.expiry:%Y%m%d}",
        "strike": float(contract.strike),
        "right": contract.right.value,
        "multiplier": str(contract.multiplier),
        "exchange": "SMART",
        "currency": "USD",
        "localSymbol": contract.local_symbol,
    }


class _Rehearsal(Client):
    """Encodes messages exactly as the session's client does, at its server version, and sends
    none of them: `IbBroker.rehearse` runs the order encoding between signals."""

    def __init__(self, session: Client) -> None:
        super().__init__(session.wrapper)  # type: ignore[no-untyped-call]
        self._session = session

    def isConnected(self) -> bool:
        return True

    def serverVersion(self) -> int:
        return self._session.serverVersion()

    def sendMsg(self, msg: str) -> None:
        pass


class IbBroker:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: int,
        *,
        id_floor: Callable[[], int],
        secrets: SecretStore | None = None,
        credential_name: str | None = None,
        account: str = "",
        timeout_s: float = 5.0,
        forget_after_s: float = 3.0,
    ) -> None:
        self._host, self._port, self._client_id = host, port, client_id
        self._id_floor = id_floor
        self._secrets = secrets
        self._credential_name = credential_name
        self._account = account
        self._timeout_s = timeout_s
        self._forget_after_s = forget_after_s
        self._ib = IB()
        self._ib.RequestTimeout = timeout_s
        self._queue: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._link_ok = asyncio.Event()
        self._closing = False
        self._connect_error = ""
        self._cancels: dict[int, asyncio.Future[bool]] = {}
        self._next_order: IbOrder | None = IbOrder()
        self._rehearsal = _Rehearsal(self._ib.client)
        self._rehearsal_order = IbOrder()
        self.credential_version: str | None = None
        self._ib.orderStatusEvent += self._on_status
        self._ib.commissionReportEvent += self._on_commission
        self._ib.errorEvent += self._on_error
        self._ib.disconnectedEvent += self._on_disconnected

    @property
    def connected(self) -> bool:
        return self._ib.isConnected() and self._link_ok.is_set()

    # -- session -------------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._ib.isConnected():
            try:
                await asyncio.wait_for(self._link_ok.wait(), self._timeout_s)
            except TimeoutError:
                raise ConnectionError("gateway has lost its connection to IB (1100)") from None
            return
        version = None
        if self._secrets is not None and self._credential_name is not None:
            secret = await self._secrets.get(self._credential_name)
            self._ib.client.optCapab = secret.value
            version = secret.version
        self._connect_error = ""
        try:
            await ib_connect.connect(
                self._ib,
                self._host,
                self._port,
                self._client_id,
                self._timeout_s,
                account=self._account,
                fetchFields=StartupFetch.POSITIONS,
            )
        except (OSError, TimeoutError, ConnectionError) as error:
            why = self._connect_error or f"{type(error).__name__}: {error}"
            raise ConnectionError(
                f"cannot connect to IB Gateway {self._host}:{self._port}: {why}"
            ) from None
        self.credential_version = version
        self._link_ok.set()
        self._raise_next_id(self._id_floor())
        log.info(
            "connected to IB Gateway %s:%d as client %d", self._host, self._port, self._client_id
        )

    def _raise_next_id(self, floor: int) -> None:
        """Never hand out an id at or below one already used, whatever nextValidId says."""
        self._ib.client.updateReqId(floor)  # type: ignore[no-untyped-call]

    async def disconnect(self) -> None:
        self._closing = True
        try:
            self._ib.disconnect()
        finally:
            self._closing = False
            self._link_ok.clear()

    def _on_disconnected(self) -> None:
        self._link_ok.clear()
        for waiter in self._cancels.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("session closed"))
        if not self._closing:
            self._queue.put_nowait(BrokerLink(up=False, reason="gateway session closed"))

    # -- orders --------------------------------------------------------------------------------

    def _contract(self, contract: OptionContract) -> Contract:
        return Contract(**_contract_fields(contract))  # a fresh one: ib_async's to keep

    async def place(self, intent: OrderIntent) -> int:
        if not self.connected:
            raise ConnectionError("not connected to IB Gateway")
        order, self._next_order = self._next_order or IbOrder(), None
        self._fill(order, intent)
        client = self._ib.client
        order_id = client.getReqId()
        # Encoded and written to the gateway socket now (queued past 45 messages a second):
        client.placeOrder(order_id, _encoded_contract(intent.contract), order)  # type: ignore[no-untyped-call]
        asyncio.get_running_loop().call_soon(self._record_new, intent.contract, order, order_id)
        return order_id

    def rehearse(self, intent: OrderIntent) -> None:
        """Build and encode `intent`'s order as `place` does, on a client that sends nothing."""
        if self.connected:
            self._fill(self._rehearsal_order, intent)
            contract = _encoded_contract(intent.contract)
            self._rehearsal.placeOrder(0, contract, self._rehearsal_order)  # type: ignore[no-untyped-call]

    def _fill(self, order: IbOrder, intent: OrderIntent) -> None:
        if intent.order_type is OrderType.MARKET:
            order.orderType, order.lmtPrice = "MKT", UNSET_DOUBLE
        elif intent.order_type is OrderType.LIMIT and intent.limit_price is not None:
            order.orderType, order.lmtPrice = "LMT", float(intent.limit_price)
        else:
            raise ValueError(f"{intent.order_type.value} orders are not supported")
        order.action = intent.side.value
        order.totalQuantity = intent.quantity
        order.orderRef = intent.order_ref
        order.tif = intent.time_in_force.value
        order.goodTillDate = good_till_date(intent.good_till) if intent.good_till else ""
        if self._account:
            order.account = self._account

    def _record_new(self, contract: OptionContract, order: IbOrder, order_id: int) -> None:
        """The rest of IB.placeOrder (ib_async 2.x) for a new order: the trade recorded and
        announced as the library does; then the next order is built."""
        ib, wrapper = self._ib, self._ib.wrapper
        order.clientId = wrapper.clientId
        order.orderId = order_id
        status = IbOrderStatus(orderId=order_id, status=IbOrderStatus.PendingSubmit)
        entry = TradeLogEntry(dt.datetime.now(wrapper.defaultTimezone), status.status)
        trade = Trade(self._contract(contract), order, status, [], [entry])
        wrapper.trades[wrapper.orderKey(wrapper.clientId, order_id, order.permId)] = trade
        log.debug("placeOrder: new order %s", trade)
        ib.newOrderEvent.emit(trade)
        self._next_order = IbOrder()

    async def cancel(self, order_ref: str, broker_order_id: int) -> bool:
        if not self.connected:
            raise ConnectionError("not connected to IB Gateway")
        waiter = asyncio.get_running_loop().create_future()
        self._cancels[broker_order_id] = waiter
        try:
            # The request alone: ib_async's IB.cancelOrder also formats and logs the whole trade
            # (40 us, a line of 1 kB per order) and sets a local PendingCancel nothing here reads.
            self._ib.client.cancelOrder(broker_order_id)  # type: ignore[no-untyped-call]
            return await asyncio.wait_for(waiter, self._timeout_s)
        finally:
            self._cancels.pop(broker_order_id, None)

    def _answer_cancel(self, order_id: int, known: bool) -> None:
        waiter = self._cancels.get(order_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(known)

    # -- what the gateway holds ------------------------------------------------------------

    def _order(self, trade: Trade) -> Order | None:
        ref = trade.order.orderRef
        status = self._status(trade)
        if not ref or status is None or trade.contract.secType != "OPT":
            return None
        self._raise_next_id(trade.order.orderId + 1)
        return Order(
            broker_order_id=trade.order.orderId,
            perm_id=trade.order.permId or None,
            order_ref=ref,
            contract=_occ(trade.contract.localSymbol),
            side=_side(trade.order.action),
            quantity=int(trade.order.totalQuantity),
            status=status[0],
            filled_quantity=int(max(trade.orderStatus.filled, _known(trade.order.filledQuantity))),
        )

    async def open_orders(self) -> list[Order]:
        trades = await self._request(self._ib.reqAllOpenOrdersAsync())
        return [o for o in map(self._order, trades) if o is not None]

    async def completed_orders(self) -> list[Order]:
        trades = await self._request(self._ib.reqCompletedOrdersAsync(apiOnly=True))
        return [o for o in map(self._order, trades) if o is not None]

    async def executions(self) -> list[Execution]:
        fills = await self._request(self._ib.reqExecutionsAsync())
        # Commission reports land on the session's own copy of each fill.
        known = {f.execution.execId: f for f in self._ib.fills()}
        return [e for e in (self._execution(known.get(f.execution.execId, f)) for f in fills) if e]

    async def positions(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for position in self._ib.positions():
            if position.contract.secType == "OPT" and position.position:
                symbol = _normal(position.contract.localSymbol)
                held[symbol] = held.get(symbol, 0) + int(position.position)
        return held

    async def _request(self, request: Awaitable[T]) -> T:
        if not self.connected:
            raise ConnectionError("not connected to IB Gateway")
        try:
            return await asyncio.wait_for(request, self._timeout_s)
        except TimeoutError:
            raise ConnectionError("IB Gateway did not answer in time") from None

    # -- events --------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            yield await self._queue.get()

    def _status(self, trade: Trade) -> tuple[OrderStatus, str] | None:
        status = trade.orderStatus.status
        filled = int(trade.orderStatus.filled)
        if status in _SENT:
            return OrderStatus.PLACED, ""
        if status in _LIVE:
            return (OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACKNOWLEDGED), ""
        if status == "Filled":
            return OrderStatus.FILLED, ""
        if status in _ENDED:
            last = trade.log[-1] if trade.log else None
            if last is not None and last.errorCode and last.errorCode != _CANCEL_CONFIRMED:
                return OrderStatus.REJECTED, last.message
            if status == "Inactive":
                return OrderStatus.REJECTED, "inactive at the gateway"
            return OrderStatus.CANCELLED, ""
        return None  # PendingCancel, ValidationError: the order is still what it was

    def _on_status(self, trade: Trade) -> None:
        order_id = trade.order.orderId
        mapped = self._status(trade)
        if trade.orderStatus.status != "PendingCancel":  # not yet the answer
            self._answer_cancel(order_id, True)
        if trade.isDone():
            asyncio.get_running_loop().call_later(self._forget_after_s, self._forget, trade)
        if mapped is None or not trade.order.orderRef:
            return
        status, reason = mapped
        self._queue.put_nowait(
            OrderEvent(
                order_ref=trade.order.orderRef,
                broker_order_id=order_id,
                status=status,
                filled=int(trade.orderStatus.filled),
                perm_id=trade.order.permId or None,
                reason=reason,
            )
        )

    def _forget(self, trade: Trade) -> None:
        wrapper = self._ib.wrapper
        order = trade.order
        key = wrapper.orderKey(order.clientId, order.orderId, order.permId)
        if wrapper.trades.get(key) is trade:
            del wrapper.trades[key]
        if wrapper.permId2Trade.get(order.permId) is trade:
            del wrapper.permId2Trade[order.permId]
        for fill in trade.fills:
            wrapper.fills.pop(fill.execution.execId, None)
        for name in trade.events:  # each holds its last emission, the trade: a reference cycle
            delattr(trade, name)  # broken, so the trade is freed now, not by a collector pass

    def _execution(self, fill: Fill) -> Execution | None:
        execution = fill.execution
        if not execution.orderRef or fill.contract.secType != "OPT":
            return None
        return Execution(
            exec_id=execution.execId,
            order_ref=execution.orderRef,
            contract=_occ(fill.contract.localSymbol),
            side=_side(execution.side),
            quantity=int(execution.shares),
            price=Decimal(str(execution.price)),
            commission=Decimal(str(max(fill.commissionReport.commission, 0.0))),
            executed_at=execution.time,
        )

    def _on_commission(self, trade: Trade, fill: Fill, report: CommissionReport) -> None:
        # The fill is complete (commission included) only now; it follows execDetails.
        execution = self._execution(fill)
        if execution is not None:
            self._queue.put_nowait(execution)

    def _on_error(self, req_id: int, code: int, message: str, contract: object) -> None:
        if req_id == -1 and code == _LINK_LOST:
            self._link_ok.clear()
            self._queue.put_nowait(BrokerLink(up=False, reason=f"{code}: {message}"))
        elif req_id == -1 and code in _LINK_RESTORED:
            self._link_ok.set()
            self._queue.put_nowait(BrokerLink(up=True, reason=f"{code}: {message}"))
        elif code == _CANCEL_UNKNOWN:
            self._answer_cancel(req_id, False)
        elif code in (_CANCEL_TOO_LATE, _CANCEL_CONFIRMED):
            self._answer_cancel(req_id, True)
        elif req_id == -1 and not self._link_ok.is_set() and code < 2100:
            self._connect_error = f"{code}: {message}"  # why a connect attempt was refused
