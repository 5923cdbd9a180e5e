"""The simulated gateway: request handlers, order timing, streaming, faults, persistence.

One instance per process, driven by one asyncio loop. Connections (server.py) hand it whole
messages; it answers through `Connection.send`. All outgoing bytes of one loop turn are
written in `_flush`, after the journal: state is persisted before it is acknowledged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fakes.tws import messages as msg
from fakes.tws.account import LEDGER_KEYS, Account, Position
from fakes.tws.ids import Counters, Ids
from fakes.tws.instruments import EXCHANGES, SPY, Contract, Instruments, InvalidQuery
from fakes.tws.market import Market, MarketConfig
from fakes.tws.messages import In
from fakes.tws.metrics import Metrics
from fakes.tws.orders import (
    Event,
    Filled,
    Order,
    OrderBook,
    Rejection,
)
from fakes.tws.state import (
    SavedState,
    StateStore,
    execution_record,
    order_record,
    position_record,
)
from fakes.tws.wire import Field, FieldError

NO_SECURITY = "No security definition has been found for the request"
FARMS = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
CONNECTIVITY = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
}


@dataclass(frozen=True)
class GatewayConfig:
    host: str
    port: int
    admin_port: int
    seed: int
    state_file: Path
    pacing: bool = True
    max_rate: int = 50
    account: str = "DU1234567"
    spot: float = 590.0
    step_seconds: float = 0.25
    ack_delay_s: float = 0.0
    fill_delay_s: float = 0.0
    reject_etrade_firm_quote: bool = False
    credential: str | None = None


class Connection(Protocol):
    """What the gateway needs from one client connection (implemented in server.py)."""

    client_id: int | None
    market_data_type: int
    subscriptions: dict[int, Subscription]
    account_updates: bool
    positions: bool
    position_multi: set[int]
    account_multi: set[int]
    summaries: dict[int, frozenset[str]]
    received_ns: int  # when the request being handled reached the socket (ns since the epoch)

    def send(self, fields: Sequence[Field]) -> None: ...

    def flush_out(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Subscription:
    req_id: int
    contract: Contract
    generic: frozenset[int]
    delayed: bool
    sent: dict[int, list[Field]] = field(default_factory=dict)


@dataclass(frozen=True)
class SwallowedOrder:
    order_id: int
    client_id: int
    order_ref: str
    received_at_ns: int


Handler = Callable[[Connection, list[str]], None]


class Gateway:
    def __init__(self, config: GatewayConfig, metrics: Metrics, start: dt.datetime) -> None:
        self.config = config
        self.metrics = metrics
        self.instruments = Instruments(start.date(), config.spot)
        self.market = Market(
            MarketConfig(config.seed, start, config.spot, config.step_seconds), self.instruments
        )
        self.store = StateStore(config.state_file)
        self.connections: set[Connection] = set()
        self.clients: dict[int, Connection] = {}
        self.credential = config.credential
        self.ack_delay_s = config.ack_delay_s
        self.connectivity_lost = False
        self.swallow_next = False
        self.swallowed: list[SwallowedOrder] = []
        self._held: list[Order] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._dirty: set[Connection] = set()
        self._flush_scheduled = False
        self._account_changed: set[int] = set()  # positions to push to account subscribers
        self._changed_orders: dict[int, Order] = {}  # to journal at the next flush
        self._changed_positions: set[int] = set()
        self._loop = asyncio.get_running_loop()
        self.ids, self.account, self.book = self._load()
        self.handlers: dict[int, Handler] = {
            In.REQ_MKT_DATA: self._req_mkt_data,
            In.CANCEL_MKT_DATA: self._cancel_mkt_data,
            In.PLACE_ORDER: self._place_order,
            In.CANCEL_ORDER: self._cancel_order,
            In.REQ_OPEN_ORDERS: self._req_open_orders,
            In.REQ_ACCOUNT_UPDATES: self._req_account_updates,
            In.REQ_EXECUTIONS: self._req_executions,
            In.REQ_IDS: self._req_ids,
            In.REQ_CONTRACT_DETAILS: self._req_contract_details,
            In.REQ_AUTO_OPEN_ORDERS: self._req_auto_open_orders,
            In.REQ_ALL_OPEN_ORDERS: self._req_all_open_orders,
            In.REQ_MANAGED_ACCTS: self._req_managed_accts,
            In.REQ_CURRENT_TIME: self._req_current_time,
            In.REQ_GLOBAL_CANCEL: self._req_global_cancel,
            In.REQ_MARKET_DATA_TYPE: self._req_market_data_type,
            In.REQ_POSITIONS: self._req_positions,
            In.REQ_ACCOUNT_SUMMARY: self._req_account_summary,
            In.CANCEL_ACCOUNT_SUMMARY: self._cancel_account_summary,
            In.CANCEL_POSITIONS: self._cancel_positions,
            In.START_API: self._start_api_again,
            In.REQ_POSITIONS_MULTI: self._req_positions_multi,
            In.CANCEL_POSITIONS_MULTI: self._cancel_positions_multi,
            In.REQ_ACCOUNT_UPDATES_MULTI: self._req_account_updates_multi,
            In.CANCEL_ACCOUNT_UPDATES_MULTI: self._cancel_account_updates_multi,
            In.REQ_SEC_DEF_OPT_PARAMS: self._req_sec_def_opt_params,
            In.REQ_COMPLETED_ORDERS: self._req_completed_orders,
        }

    # -- state -----------------------------------------------------------------------------

    def _load(self) -> tuple[Ids, Account, OrderBook]:
        saved = self.store.load(self.instruments)
        self.store.compact(saved)  # fold the journal in: every run starts from one file
        ids = Ids(saved.counters, self._reserve)
        account = Account(self.config.account, saved.cash, saved.positions.values())
        book = OrderBook(
            ids,
            account,
            self.market.quote,
            lambda: self.market.spot,
            sorted(saved.orders.values(), key=lambda o: o.perm_id),
            list(saved.executions.values()),
            self.config.reject_etrade_firm_quote,
        )
        return ids, account, book

    def _reserve(self, ceiling: Counters) -> None:
        self.store.append("counters", ceiling.as_dict())
        self.store.flush()

    def saved_state(self) -> SavedState:
        """What survives a restart: acknowledged orders (an unacked one never reached IB)."""
        return SavedState(
            counters=self.ids.current(),
            cash=self.account.cash,
            orders={o.perm_id: o for o in self.book.orders.values() if o.acked_at_ns},
            executions={e.exec_id: e for e in self.book.executions},
            positions=dict(self.account.positions),
        )

    def _journal(self) -> None:
        """Queue what changed since the last flush, once per order/position however often;
        position subscribers hear of a position once per flush too."""
        for order in self._changed_orders.values():
            if order.acked_at_ns:  # an unacknowledged order never reached IB: not persisted
                self.store.append("order", order_record(order))
        for con_id in self._changed_positions:
            position = self.account.positions[con_id]
            self.store.append("position", position_record(position))
            self._push_position(position)
        if self._changed_positions:
            self.store.append("cash", self.account.cash)
        self._changed_orders.clear()
        self._changed_positions.clear()

    # -- output ------------------------------------------------------------------------------

    def mark_dirty(self, conn: Connection) -> None:
        self._dirty.add(conn)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._journal()
        self.store.flush()  # write-ahead: persisted before the client hears of it
        dirty, self._dirty = self._dirty, set()
        for conn in dirty:
            conn.flush_out()
        records = len(self.book.orders) + len(self.book.executions)
        if self.store.needs_compaction(records):
            self.store.compact(self.saved_state())

    def _error(self, conn: Connection, req_id: int, code: int, message: str) -> None:
        self.metrics.errors.labels(str(code)).inc()
        conn.send(msg.error(req_id, code, message))

    def broadcast_error(self, code: int, message: str) -> None:
        for conn in self.ready_connections():
            self._error(conn, -1, code, message)

    def ready_connections(self) -> list[Connection]:
        return list(self.clients.values())

    # -- connections -----------------------------------------------------------------------

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.metrics.connections.set(len(self.connections))

    def unregister(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if conn.client_id is not None and self.clients.get(conn.client_id) is conn:
            del self.clients[conn.client_id]
        self._dirty.discard(conn)
        self.metrics.connections.set(len(self.connections))

    def start_api(self, conn: Connection, fields: list[str]) -> bool:
        """startApi: admit the client (True) or refuse it with an IB error and close."""
        start = msg.decode_start_api(fields)
        if self.credential is not None and start.optional_capabilities != self.credential:
            self._error(
                conn,
                -1,
                321,
                "Error validating request:-'startApi' : cause - "
                "the credential in optionalCapabilities was not accepted",
            )
            conn.close()
            return False
        if start.client_id in self.clients:
            self._error(
                conn,
                -1,
                326,
                "Unable to connect as the client id is already in use. "
                "Retry with a unique client id.",
            )
            conn.close()
            return False
        conn.client_id = start.client_id
        self.clients[start.client_id] = conn
        conn.send(msg.managed_accounts(self.account.code))
        conn.send(msg.next_valid_id(self.ids.next_order_id))
        for code, text in FARMS:
            self._error(conn, -1, code, text)
        return True

    def handle(self, conn: Connection, fields: list[str]) -> None:
        """Dispatch one message of an admitted client; a bad one costs only an error reply."""
        self.metrics.messages_in.inc()
        try:
            msg_id = int(fields[0])
        except (IndexError, ValueError):
            self._error(conn, -1, 321, "Error validating request:-'' : cause - no message id")
            return
        handler = self.handlers.get(msg_id)
        if handler is None:
            self._error(
                conn, -1, 321, f"Error validating request:-'{msg_id}' : cause - unknown message id"
            )
            return
        try:
            handler(conn, fields)
        except (FieldError, InvalidQuery) as problem:
            index = msg.REQ_ID_INDEX.get(In(msg_id))
            try:
                req_id = msg.request_id(fields, index) if index is not None else -1
            except FieldError:
                req_id = -1
            text = f"Error validating request:-'{msg_id}' : cause - {problem}"
            self._error(conn, req_id, 321, text)

    def _start_api_again(self, conn: Connection, fields: list[str]) -> None:
        self._error(conn, -1, 321, "Error validating request:-'71' : cause - API already started")

    # -- simple requests ---------------------------------------------------------------------

    def _req_ids(self, conn: Connection, fields: list[str]) -> None:
        conn.send(msg.next_valid_id(self.ids.next_order_id))

    def _req_managed_accts(self, conn: Connection, fields: list[str]) -> None:
        conn.send(msg.managed_accounts(self.account.code))

    def _req_current_time(self, conn: Connection, fields: list[str]) -> None:
        conn.send(msg.current_time(int(time.time())))

    def _req_auto_open_orders(self, conn: Connection, fields: list[str]) -> None:
        if conn.client_id != 0:
            self._error(
                conn,
                -1,
                321,
                "Error validating request:-'15' : cause - "
                "reqAutoOpenOrders is only allowed for client id 0",
            )
        # Client 0 is bound to manual TWS orders; this gateway has none to bind.

    def _req_market_data_type(self, conn: Connection, fields: list[str]) -> None:
        data_type = msg.request_id(fields, 2)
        if data_type not in (1, 2, 3, 4):
            raise FieldError(f"invalid market data type {data_type}")
        conn.market_data_type = data_type

    # -- contracts -----------------------------------------------------------------------------

    def _req_contract_details(self, conn: Connection, fields: list[str]) -> None:
        request = msg.decode_contract_details(fields)
        if request.sec_id_type or request.sec_id:
            isin = (request.sec_id_type.upper(), request.sec_id.upper())
            found = [SPY] if isin == ("ISIN", "US78462F1030") else []
        else:
            found = self.instruments.match(request.contract)
        if not found:
            self._error(conn, request.req_id, 200, NO_SECURITY)
            return
        for contract in found:
            hours = self.instruments.trading_hours(contract)
            conn.send(msg.contract_details(request.req_id, contract, hours))
        conn.send(msg.contract_details_end(request.req_id))

    def _req_sec_def_opt_params(self, conn: Connection, fields: list[str]) -> None:
        request = msg.decode_sec_def(fields)
        known = (
            request.symbol.upper() == "SPY"
            and request.sec_type in ("STK", "")
            and request.con_id in (0, SPY.con_id)
        )
        if not known:
            self._error(conn, request.req_id, 200, NO_SECURITY)
            return
        expirations = [f"{e:%Y%m%d}" for e in self.instruments.expiries]
        strikes = [float(s) for s in self.instruments.strikes]
        for exchange in EXCHANGES:
            conn.send(msg.sec_def_opt_params(request.req_id, exchange, expirations, strikes))
        conn.send(msg.sec_def_opt_params_end(request.req_id))

    # -- market data ---------------------------------------------------------------------------

    def _req_mkt_data(self, conn: Connection, fields: list[str]) -> None:
        request = msg.decode_market_data(fields)
        req_id = request.req_id
        contract = self.instruments.resolve(request.contract)
        if contract is None:
            self._error(conn, req_id, 200, NO_SECURITY)
            return
        if not request.snapshot and req_id in conn.subscriptions:
            self._error(
                conn, req_id, 322, "Error processing request:-'1' : cause - Duplicate ticker id"
            )
            return
        delayed = conn.market_data_type in (3, 4)
        if delayed:
            self._error(
                conn,
                req_id,
                10167,
                "Requested market data is not subscribed. Displaying delayed market data.",
            )
        conn.send(msg.market_data_type(req_id, conn.market_data_type))
        conn.send(msg.tick_req_params(req_id))
        subscription = Subscription(req_id, contract, request.generic_ticks, delayed)
        self._send_ticks(conn, subscription)
        if request.snapshot:
            conn.send(msg.tick_snapshot_end(req_id))
        else:
            conn.subscriptions[req_id] = subscription

    def _cancel_mkt_data(self, conn: Connection, fields: list[str]) -> None:
        req_id = msg.request_id(fields, 2)
        if conn.subscriptions.pop(req_id, None) is None:
            self._error(conn, req_id, 300, f"Can't find EId with tickerId:{req_id}")

    def _send_ticks(self, conn: Connection, sub: Subscription) -> None:
        """The ticks that changed since this subscription last heard (all, the first time)."""
        quote = self.market.quote(sub.contract)
        totals = None
        if not sub.contract.is_option and sub.generic & {100, 101, 106}:
            call_volume, put_volume, call_oi, put_oi = self.market.chain_totals()
            totals = msg.ChainTotals(call_volume, put_volume, call_oi, put_oi, self.market.atm_iv())
        stamp = int(self.market.now().timestamp())
        for key, tick in msg.ticks(
            sub.req_id, sub.contract, quote, sub.generic, sub.delayed, totals, stamp
        ):
            if sub.sent.get(key) != tick:
                sub.sent[key] = tick
                conn.send(tick)

    def market_step(self) -> Iterator[None]:
        """One step of the market, yielding between subscriptions: the caller gives the event
        loop a turn at each yield, so an order arriving mid-step is read at once (sending a
        hundred lines' ticks took ~25 ms in one piece), as a real gateway reads orders while it
        streams quotes."""
        self.market.step()
        if self.connectivity_lost:
            return
        self._emit(self.book.on_market_step(time.time_ns()))
        for conn in list(self.ready_connections()):
            for sub in list(conn.subscriptions.values()):
                if sub.req_id in conn.subscriptions:  # not cancelled while we yielded
                    self._send_ticks(conn, sub)
                    yield
        self._push_account()

    # -- orders ------------------------------------------------------------------------------

    def _place_order(self, conn: Connection, fields: list[str]) -> None:
        received = conn.received_ns
        placed = msg.decode_place_order(fields)
        request = placed.order
        client_id = conn.client_id or 0
        self.metrics.orders.labels("received").inc()
        contract = self.instruments.resolve(placed.contract)
        if contract is None:
            self._reject(conn, request.order_id, Rejection(200, NO_SECURITY))
            return
        verdict = self.book.validate(client_id, request, contract)
        if isinstance(verdict, Rejection):
            self._reject(conn, request.order_id, verdict)
            return
        if request.what_if:
            preview = self.book.what_if(request, contract)
            order = Order(0, client_id, request.order_id, contract, request.action,
                          request.quantity, request.order_type, request.lmt_price,
                          request.aux_price, request.tif or "DAY", self.account.code,
                          request.order_ref, request.outside_rth)  # fmt: skip
            conn.send(msg.open_order(order, "PreSubmitted", preview))
            return
        if verdict is not None:
            self.book.modify(verdict, request)
            self._after(self.ack_delay_s, self._ack_modification, verdict)
            return
        if self.swallow_next:
            # A paper server sometimes just loses an order: no reply, no trace for the client.
            self.swallow_next = False
            self.ids.saw_order_id(request.order_id)
            self.swallowed.append(
                SwallowedOrder(request.order_id, client_id, request.order_ref, received)
            )
            self.metrics.orders.labels("swallowed").inc()
            return
        order = self.book.accept(client_id, request, contract, received)
        self._after(self.ack_delay_s, self._ack, order)

    def _reject(self, conn: Connection, order_id: int, rejection: Rejection) -> None:
        self.metrics.orders.labels("rejected").inc()
        self._error(conn, order_id, rejection.code, rejection.message)

    def _after(self, delay: float, action: Callable[[Order], None], order: Order) -> None:
        if delay <= 0:
            action(order)
            return

        def fire() -> None:
            self._timers.discard(handle)
            action(order)

        handle = self._loop.call_later(delay, fire)
        self._timers.add(handle)

    def _ack(self, order: Order) -> None:
        if self.connectivity_lost:
            self._held.append(order)
            return
        now = time.time_ns()
        events = self.book.acknowledge(order, now)
        if not events:
            return
        self.metrics.orders.labels("acked").inc()
        self.metrics.ack_seconds.observe((now - order.received_at_ns) / 1e9)
        self._emit(events)
        self._after(self.config.fill_delay_s, self._fill, order)

    def _ack_modification(self, order: Order) -> None:
        self._changed_orders[order.perm_id] = order
        self._emit(self.book.acknowledge_modification(order))
        self._after(self.config.fill_delay_s, self._fill, order)

    def _fill(self, order: Order) -> None:
        if not self.connectivity_lost:
            self._emit(self.book.try_fill(order, time.time_ns()))

    def _emit(self, events: Iterable[Event]) -> None:
        """Send each event to the order's owner and queue what it changed for the journal."""
        changed: set[int] = set()
        for event in events:
            status = event.status if isinstance(event, Filled) else event
            order = status.order
            self._changed_orders[order.perm_id] = order
            self._schedule_flush()
            conn = self.clients.get(order.client_id)
            if isinstance(event, Filled):
                execution = event.execution
                self.metrics.executions.inc()
                self.store.append("execution", execution_record(execution))
                changed.add(execution.contract.con_id)
                if conn is not None:
                    conn.send(msg.exec_details(-1, execution))
            if conn is not None:
                if status.open_order:
                    conn.send(msg.open_order(order, status.status))
                conn.send(msg.order_status(status))
                if isinstance(event, Filled):
                    conn.send(msg.commission_report(event.execution))
            if status.status in ("Filled", "Cancelled"):
                self.metrics.orders.labels(status.status.lower()).inc()
        self._changed_positions |= changed
        self._account_changed |= changed

    def _push_position(self, position: Position) -> None:
        for conn in self.ready_connections():
            if conn.positions:
                conn.send(msg.position(self.account.code, position))
            for req_id in conn.position_multi:
                conn.send(msg.position_multi(req_id, self.account.code, position))

    def _cancel_order(self, conn: Connection, fields: list[str]) -> None:
        order_id = msg.request_id(fields, 2)
        order = self.book.orders.get((conn.client_id or 0, order_id))
        if order is None:
            self._error(
                conn,
                order_id,
                10147,
                f"OrderId {order_id} that needs to be cancelled is not found.",
            )
            return
        if not order.working:
            self._error(
                conn,
                order_id,
                10148,
                f"OrderId {order_id} that needs to be cancelled cannot be cancelled, "
                f"state: {order.status}.",
            )
            return
        self._cancel(order)

    def _cancel(self, order: Order) -> None:
        self._emit(self.book.cancel(order, time.time_ns()))
        owner = self.clients.get(order.client_id)
        if owner is not None:
            self._error(owner, order.order_id, 202, "Order Canceled - reason:")

    def _req_global_cancel(self, conn: Connection, fields: list[str]) -> None:
        for order in list(self.book.working_orders()):
            self._cancel(order)

    def _send_open_orders(self, conn: Connection, orders: Iterable[Order]) -> None:
        for order in orders:
            if order.acked_at_ns:  # an unacknowledged order has not reached IB yet
                conn.send(msg.open_order(order, order.status))
                conn.send(msg.order_status(self.book.status_of(order)))
        conn.send(msg.open_order_end())

    def _req_open_orders(self, conn: Connection, fields: list[str]) -> None:
        self._send_open_orders(conn, self.book.working_orders(conn.client_id or 0))

    def _req_all_open_orders(self, conn: Connection, fields: list[str]) -> None:
        self._send_open_orders(conn, self.book.working_orders())

    def _req_completed_orders(self, conn: Connection, fields: list[str]) -> None:
        for order in self.book.completed_orders():
            conn.send(msg.completed_order(order))
        conn.send(msg.completed_orders_end())

    def _req_executions(self, conn: Connection, fields: list[str]) -> None:
        wanted = msg.decode_executions(fields)
        for execution in self.book.executions:
            if wanted.accepts(execution):
                conn.send(msg.exec_details(wanted.req_id, execution))
                conn.send(msg.commission_report(execution))
        conn.send(msg.exec_details_end(wanted.req_id))

    # -- account -------------------------------------------------------------------------------

    def _mark(self, contract: Contract) -> float:
        quote = self.market.quote(contract)
        return round((quote.bid + quote.ask) / 2, 4) if quote.bid > 0 else quote.ask

    def _values(self) -> list[tuple[str, str, str]]:
        return self.account.values(self._mark, self.market.spot)

    def _check_account(self, conn: Connection, account: str, req_id: int) -> bool:
        if account and account not in (self.account.code, "All"):
            self._error(
                conn,
                req_id,
                321,
                f"Error validating request:-'' : cause - unknown account {account}",
            )
            return False
        return True

    def _send_account(self, conn: Connection, con_ids: Iterable[int] | None) -> None:
        code = self.account.code
        for key, value, currency in self._values():
            conn.send(msg.account_value(key, value, currency, code))
        positions = self.account.positions
        for con_id in positions if con_ids is None else con_ids:
            position = positions[con_id]
            if con_ids is not None or position.quantity:
                conn.send(msg.portfolio_value(code, position, self._mark(position.contract)))
        conn.send(msg.account_time(dt.datetime.now(dt.UTC)))

    def _req_account_updates(self, conn: Connection, fields: list[str]) -> None:
        subscribe = msg.request_id(fields, 2) != 0
        account = fields[3] if len(fields) > 3 else ""
        if not self._check_account(conn, account, -1):
            return
        conn.account_updates = subscribe
        if subscribe:
            self._send_account(conn, None)
            conn.send(msg.account_download_end(self.account.code))

    def _summary_rows(self, tags: frozenset[str]) -> list[tuple[str, str, str]]:
        ledger = any(t.startswith("$LEDGER") for t in tags)
        return [
            (key, value, currency)
            for key, value, currency in self._values()
            if (key in LEDGER_KEYS and ledger and currency == "USD")
            or (key not in LEDGER_KEYS and key in tags)
        ]

    def _req_account_summary(self, conn: Connection, fields: list[str]) -> None:
        req_id = msg.request_id(fields, 2)
        tags = frozenset(t.strip() for t in (fields[4] if len(fields) > 4 else "").split(","))
        if req_id in conn.summaries:
            self._error(conn, req_id, 322, "Error processing request:-'62' : cause - Duplicate id")
            return
        conn.summaries[req_id] = tags
        for key, value, currency in self._summary_rows(tags):
            conn.send(msg.account_summary(req_id, self.account.code, key, value, currency))
        conn.send(msg.account_summary_end(req_id))

    def _cancel_account_summary(self, conn: Connection, fields: list[str]) -> None:
        conn.summaries.pop(msg.request_id(fields, 2), None)

    def _req_positions(self, conn: Connection, fields: list[str]) -> None:
        conn.positions = True
        for position in self.account.positions.values():
            if position.quantity:
                conn.send(msg.position(self.account.code, position))
        conn.send(msg.position_end())

    def _cancel_positions(self, conn: Connection, fields: list[str]) -> None:
        conn.positions = False

    def _req_positions_multi(self, conn: Connection, fields: list[str]) -> None:
        req_id = msg.request_id(fields, 2)
        if not self._check_account(conn, fields[3] if len(fields) > 3 else "", req_id):
            return
        conn.position_multi.add(req_id)
        for position in self.account.positions.values():
            if position.quantity:
                conn.send(msg.position_multi(req_id, self.account.code, position))
        conn.send(msg.position_multi_end(req_id))

    def _cancel_positions_multi(self, conn: Connection, fields: list[str]) -> None:
        conn.position_multi.discard(msg.request_id(fields, 2))

    def _req_account_updates_multi(self, conn: Connection, fields: list[str]) -> None:
        req_id = msg.request_id(fields, 2)
        if not self._check_account(conn, fields[3] if len(fields) > 3 else "", req_id):
            return
        conn.account_multi.add(req_id)
        for key, value, currency in self._values():
            conn.send(msg.account_update_multi(req_id, self.account.code, key, value, currency))
        conn.send(msg.account_update_multi_end(req_id))

    def _cancel_account_updates_multi(self, conn: Connection, fields: list[str]) -> None:
        conn.account_multi.discard(msg.request_id(fields, 2))

    def _push_account(self) -> None:
        """Account values change with every fill; like TWS, push them coalesced, not per fill."""
        if not self._account_changed:
            return
        changed, self._account_changed = self._account_changed, set()
        code = self.account.code
        values = self._values()
        for conn in self.ready_connections():
            if conn.account_updates:
                self._send_account(conn, changed)
            for req_id in conn.account_multi:
                for key, value, currency in values:
                    conn.send(msg.account_update_multi(req_id, code, key, value, currency))
            for req_id, tags in conn.summaries.items():
                for key, value, currency in self._summary_rows(tags):
                    conn.send(msg.account_summary(req_id, code, key, value, currency))

    # -- faults and admin ----------------------------------------------------------------------

    def drop_connections(self) -> int:
        dropped = list(self.connections)
        for conn in dropped:
            conn.close()
        return len(dropped)

    def connectivity(self, code: int) -> None:
        """1100 lost (market data and order handling pause), 1101/1102 restored."""
        self.broadcast_error(code, CONNECTIVITY[code])
        self.connectivity_lost = code == 1100
        if code == 1101:
            for conn in self.ready_connections():
                conn.subscriptions.clear()
        if not self.connectivity_lost:
            held, self._held = self._held, []
            for order in held:
                self._ack(order)

    def reload(self) -> None:
        """The restart: forget everything in memory and come back from the state file."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._held.clear()
        self.swallowed.clear()
        self.swallow_next = False
        self.connectivity_lost = False
        self.ack_delay_s = self.config.ack_delay_s
        self.store.compact(self.saved_state())  # holds every change still queued for the journal
        self._changed_orders.clear()
        self._changed_positions.clear()
        self._account_changed.clear()
        self.ids, self.account, self.book = self._load()

    def shutdown(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._flush()
        self.store.compact(self.saved_state())
        self.store.close()

    def inject(self, contracts: list[Contract], volume: float, interest: float, iv: float) -> None:
        self.market.inject(contracts, volume, interest, iv)

    def orders_view(self) -> list[dict[str, Any]]:
        rows = [
            {
                "orderId": o.order_id,
                "clientId": o.client_id,
                "permId": o.perm_id,
                "orderRef": o.order_ref,
                "status": o.status,
                "action": o.action,
                "quantity": o.quantity,
                "filled": o.filled,
                "orderType": o.order_type,
                "lmtPrice": o.lmt_price,
                "auxPrice": o.aux_price,
                "tif": o.tif,
                "goodTillNs": o.good_till_ns,
                "conId": o.contract.con_id,
                "localSymbol": o.contract.local_symbol,
                "received_at_ns": o.received_at_ns,
                "acked_at_ns": o.acked_at_ns,
            }
            for o in self.book.orders.values()
        ]
        rows += [
            {
                "orderId": s.order_id,
                "clientId": s.client_id,
                "permId": None,
                "orderRef": s.order_ref,
                "status": "Swallowed",
                "received_at_ns": s.received_at_ns,
                "acked_at_ns": None,
            }
            for s in self.swallowed
        ]
        return rows

    def executions_view(self) -> list[dict[str, Any]]:
        return [
            {
                "execId": e.exec_id,
                "orderId": e.order_id,
                "clientId": e.client_id,
                "permId": e.perm_id,
                "orderRef": e.order_ref,
                "conId": e.contract.con_id,
                "localSymbol": e.contract.local_symbol,
                "side": e.side,
                "shares": e.shares,
                "price": e.price,
                "commission": e.commission,
                "time_ns": e.time_ns,
            }
            for e in self.book.executions
        ]
