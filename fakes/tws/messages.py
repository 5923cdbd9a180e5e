"""Message ids and field layouts at server version 157, both directions.

Decoders turn incoming field lists into typed requests (raising wire.FieldError); encoders
build outgoing field lists. Layouts follow shared/notes/tws-wire-protocol.md, sections 2-3;
several clients unpack fixed-size tuples, so every encoder keeps its exact field count.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

from fakes.tws.account import Position
from fakes.tws.instruments import LONG_NAME, ORDER_TYPES, SPY_CON_ID, Contract, ContractQuery
from fakes.tws.market import Greeks, Quote
from fakes.tws.orders import Execution, Order, OrderRequest, StatusChanged, WhatIf
from fakes.tws.wire import UNSET_DOUBLE_TEXT, Field, FieldError, Fields, Run

SERVER_VERSION = 157


class In(IntEnum):
    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCOUNT_UPDATES = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DETAILS = 9
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQ_CURRENT_TIME = 49
    REQ_GLOBAL_CANCEL = 58
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_POSITIONS_MULTI = 74
    CANCEL_POSITIONS_MULTI = 75
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_SEC_DEF_OPT_PARAMS = 78
    REQ_COMPLETED_ORDERS = 99


class Out(IntEnum):
    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    TICK_OPTION_COMPUTATION = 21
    TICK_GENERIC = 45
    TICK_STRING = 46
    CURRENT_TIME = 49
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    POSITION_MULTI = 71
    POSITION_MULTI_END = 72
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    SEC_DEF_OPT_PARAMS = 75
    SEC_DEF_OPT_PARAMS_END = 76
    TICK_REQ_PARAMS = 81
    COMPLETED_ORDER = 101
    COMPLETED_ORDERS_END = 102


# Where the request id sits in each request, so a malformed one still gets a targeted error.
REQ_ID_INDEX = {
    In.REQ_MKT_DATA: 2,
    In.CANCEL_MKT_DATA: 2,
    In.PLACE_ORDER: 1,
    In.CANCEL_ORDER: 2,
    In.REQ_EXECUTIONS: 2,
    In.REQ_CONTRACT_DETAILS: 2,
    In.REQ_ACCOUNT_SUMMARY: 2,
    In.CANCEL_ACCOUNT_SUMMARY: 2,
    In.REQ_POSITIONS_MULTI: 2,
    In.CANCEL_POSITIONS_MULTI: 2,
    In.REQ_ACCOUNT_UPDATES_MULTI: 2,
    In.CANCEL_ACCOUNT_UPDATES_MULTI: 2,
    In.REQ_SEC_DEF_OPT_PARAMS: 1,
}

# -- decoders ----------------------------------------------------------------------------


def _contract(f: Fields) -> ContractQuery:
    return ContractQuery(
        con_id=f.integer(0),
        symbol=f.text().strip(),
        sec_type=f.text().strip().upper(),
        expiry=f.text().strip(),
        strike=f.number(),
        right=f.text(),
        multiplier=f.text(),
        exchange=f.text().strip(),
        primary_exchange=f.text().strip(),
        currency=f.text().strip(),
        local_symbol=f.text().strip(),
        trading_class=f.text().strip(),
    )


def request_id(fields: Sequence[str], index: int) -> int:
    return Fields(fields, index).integer()


@dataclass(frozen=True, slots=True)
class StartApi:
    client_id: int
    optional_capabilities: str


def decode_start_api(fields: Sequence[str]) -> StartApi:
    f = Fields(fields, 2)
    client_id = f.integer()
    return StartApi(client_id, f.text() if len(fields) > 3 else "")


@dataclass(frozen=True, slots=True)
class MarketDataRequest:
    req_id: int
    contract: ContractQuery
    generic_ticks: frozenset[int]
    snapshot: bool


def decode_market_data(fields: Sequence[str]) -> MarketDataRequest:
    f = Fields(fields, 2)
    req_id = f.integer()
    contract = _contract(f)
    if contract.sec_type == "BAG":
        f.skip(4 * f.count())
    if f.flag():  # delta-neutral contract
        f.skip(3)
    generic = f.text()
    snapshot = f.flag()
    regulatory = f.flag()
    try:
        ticks = frozenset(int(t) for t in generic.split(",") if t.strip())
    except ValueError:
        raise FieldError(f"invalid generic tick list {generic[:40]!r}") from None
    return MarketDataRequest(req_id, contract, ticks, snapshot or regulatory)


@dataclass(frozen=True, slots=True)
class ContractDetailsRequest:
    req_id: int
    contract: ContractQuery
    sec_id_type: str
    sec_id: str


def decode_contract_details(fields: Sequence[str]) -> ContractDetailsRequest:
    f = Fields(fields, 2)
    req_id = f.integer()
    contract = _contract(f)
    f.flag()  # includeExpired: the chain has no expired contracts to include
    return ContractDetailsRequest(req_id, contract, f.text().strip(), f.text().strip())


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    contract: ContractQuery
    order: OrderRequest


def decode_place_order(fields: Sequence[str]) -> PlaceOrder:
    """placeOrder at 157 (no version field); stops after whatIf, the last field simulated."""
    f = Fields(fields, 1)
    order_id = f.integer()
    contract = _contract(f)
    f.skip(2)  # secIdType, secId
    action = f.text().strip().upper()
    quantity = f.number() or 0.0
    order_type = f.text().strip().upper()
    lmt_price, aux_price = f.number(), f.number()
    tif = f.text().strip().upper()
    oca_group, account = f.text(), f.text().strip()
    f.skip(2)  # openClose, origin
    order_ref = f.text()
    transmit = f.integer(1) != 0
    parent_id = f.integer(0)
    f.skip(4)  # blockOrder, sweepToFill, displaySize, triggerMethod
    outside_rth = f.flag()
    f.skip(1)  # hidden
    if contract.sec_type == "BAG":
        f.skip(8 * f.count())
        f.skip(f.count())
        f.skip(2 * f.count())
    f.skip(3)  # sharesAllocation, discretionaryAmt, goodAfterTime
    good_till = f.text().strip()
    f.skip(14)  # faGroup ... percentOffset
    e_trade_only, firm_quote_only = f.flag(), f.flag()
    f.skip(10)  # nbboPriceCap ... volatilityType
    if f.text():  # deltaNeutralOrderType
        f.skip(9)
    else:
        f.skip(1)
    f.skip(6)  # continuousUpdate ... scaleSubsLevelSize
    increment = f.number()
    if increment is not None and increment > 0:
        f.skip(7)
    f.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if f.text():  # hedgeType
        f.skip(1)
    f.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if f.flag():  # delta-neutral contract
        f.skip(3)
    if f.text():  # algoStrategy
        f.skip(2 * f.count())
    f.skip(1)  # algoId
    what_if = f.flag()
    request = OrderRequest(
        order_id=order_id,
        action=action,
        quantity=quantity,
        order_type=order_type,
        lmt_price=lmt_price,
        aux_price=aux_price,
        tif=tif,
        good_till=good_till,
        oca_group=oca_group,
        account=account,
        order_ref=order_ref,
        transmit=transmit,
        parent_id=parent_id,
        outside_rth=outside_rth,
        e_trade_only=e_trade_only,
        firm_quote_only=firm_quote_only,
        what_if=what_if,
    )
    return PlaceOrder(contract, request)


_SIDES = {"BUY": "BOT", "BOT": "BOT", "SELL": "SLD", "SLD": "SLD"}


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    req_id: int
    client_id: int
    account: str
    since_ns: int | None
    symbol: str
    sec_type: str
    exchange: str
    side: str

    def accepts(self, execution: Execution) -> bool:
        c = execution.contract
        return (
            (not self.client_id or self.client_id == execution.client_id)
            and (not self.account or self.account == execution.account)
            and (self.since_ns is None or execution.time_ns >= self.since_ns)
            and (not self.symbol or self.symbol.upper() == c.symbol)
            and (not self.sec_type or self.sec_type.upper() == c.sec_type)
            and (not self.exchange or self.exchange.upper() == c.venue)
            and (not self.side or _SIDES.get(self.side.upper()) == execution.side)
        )


def _filter_time(text: str) -> int | None:
    """IB's ``yyyymmdd hh:mm:ss`` (or ``yyyymmdd-hh:mm:ss``), read as UTC like all times here."""
    if not text.strip():
        return None
    try:
        when = dt.datetime.strptime(text.strip()[:17].replace("-", " "), "%Y%m%d %H:%M:%S")
    except ValueError:
        raise FieldError(f"invalid execution filter time {text[:30]!r}") from None
    return int(when.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def decode_executions(fields: Sequence[str]) -> ExecutionFilter:
    f = Fields(fields, 2)
    req_id = f.integer()
    if len(fields) <= 3:
        return ExecutionFilter(req_id, 0, "", None, "", "", "", "")
    return ExecutionFilter(
        req_id,
        f.integer(0),
        f.text(),
        _filter_time(f.text()),
        f.text(),
        f.text(),
        f.text().strip(),
        f.text(),
    )


@dataclass(frozen=True, slots=True)
class SecDefRequest:
    req_id: int
    symbol: str
    sec_type: str
    con_id: int


def decode_sec_def(fields: Sequence[str]) -> SecDefRequest:
    f = Fields(fields, 1)
    req_id = f.integer()
    symbol = f.text().strip()
    f.skip(1)  # futFopExchange
    return SecDefRequest(req_id, symbol, f.text().strip().upper(), f.integer(0))


# -- encoders ------------------------------------------------------------------------------


def error(req_id: int, code: int, message: str) -> list[Field]:
    return [Out.ERR_MSG, 2, req_id, code, message]


def handshake_reply(now: dt.datetime) -> list[Field]:
    return [SERVER_VERSION, f"{now:%Y%m%d %H:%M:%S} UTC"]


def managed_accounts(account: str) -> list[Field]:
    return [Out.MANAGED_ACCTS, 1, account]


def next_valid_id(order_id: int) -> list[Field]:
    return [Out.NEXT_VALID_ID, 1, order_id]


def current_time(epoch_seconds: int) -> list[Field]:
    return [Out.CURRENT_TIME, 1, epoch_seconds]


@functools.cache
def _contract_block(c: Contract, exchange: str) -> Run:
    """conId ... tradingClass (11 fields), as order, execution and position messages carry it."""
    return Run.of(
        c.con_id,
        c.symbol,
        c.sec_type,
        c.expiry,
        c.strike,
        c.right,
        c.multiplier,
        exchange,
        c.currency,
        c.local_symbol,
        c.trading_class,
    )


def contract_details(req_id: int, c: Contract, hours: tuple[str, str]) -> list[Field]:
    option = c.is_option
    return [
        Out.CONTRACT_DATA,
        8,
        req_id,
        c.symbol,
        c.sec_type,
        c.expiry,
        c.strike,
        c.right,
        c.exchange,
        c.currency,
        c.local_symbol,
        c.trading_class,  # marketName
        c.trading_class,
        c.con_id,
        0.01,  # minTick
        1,  # mdSizeMultiplier
        c.multiplier,
        ORDER_TYPES,
        "SMART,AMEX,CBOE,ISE,PHLX,BOX,ARCA" if option else "SMART,AMEX,NYSE,CBOE,ARCA,IEX",
        1,  # priceMagnifier
        SPY_CON_ID if option else 0,
        LONG_NAME,
        c.primary_exchange,
        c.expiry[:6],  # contractMonth
        "" if option else "Funds",
        "" if option else "Equity Fund",
        "" if option else "Growth-Large Cap",
        "US/Eastern",
        hours[0],
        hours[1],
        "",  # evRule
        "",  # evMultiplier
        0 if option else 1,
        *([] if option else ["ISIN", "US78462F1030"]),
        1 if option else 0,  # aggGroup
        "SPY" if option else "",
        "STK" if option else "",
        "32,32" if option else "26,26",
        c.expiry,  # realExpirationDate
        "" if option else "ETF",
    ]


def contract_details_end(req_id: int) -> list[Field]:
    return [Out.CONTRACT_DATA_END, 1, req_id]


def sec_def_opt_params(
    req_id: int, exchange: str, expirations: Sequence[str], strikes: Sequence[float]
) -> list[Field]:
    # ib_insync reads every field after the strike count as a strike: nothing may follow.
    return [
        Out.SEC_DEF_OPT_PARAMS,
        req_id,
        exchange,
        SPY_CON_ID,
        "SPY",
        "100",
        len(expirations),
        *expirations,
        len(strikes),
        *strikes,
    ]


def sec_def_opt_params_end(req_id: int) -> list[Field]:
    return [Out.SEC_DEF_OPT_PARAMS_END, req_id]


# -- market data ---------------------------------------------------------------------------

DELAYED = {1: 66, 2: 67, 4: 68, 0: 69, 3: 70, 5: 71, 6: 72, 7: 73, 8: 74, 9: 75, 14: 76, 45: 88,
           10: 80, 11: 81, 12: 82, 13: 83}  # fmt: skip
NOT_COMPUTED = (-1.0, -2.0, -1.0, -1.0, -2.0, -2.0, -2.0, -1.0)


def market_data_type(req_id: int, data_type: int) -> list[Field]:
    return [Out.MARKET_DATA_TYPE, 1, req_id, data_type]


def tick_req_params(req_id: int) -> list[Field]:
    return [Out.TICK_REQ_PARAMS, req_id, 0.01, "9c0001", 3]


def tick_snapshot_end(req_id: int) -> list[Field]:
    return [Out.TICK_SNAPSHOT_END, 1, req_id]


@dataclass(frozen=True, slots=True)
class ChainTotals:
    call_volume: int
    put_volume: int
    call_open_interest: int
    put_open_interest: int
    atm_iv: float


def _computation(
    req_id: int, tick: int, iv: float | None, greeks: Greeks | None, und: float, pv: float
) -> list[Field]:
    if iv is None or greeks is None:
        values: Sequence[float] = NOT_COMPUTED
    else:
        g = greeks
        values = (iv, g.delta, g.price, pv, g.gamma, g.vega, g.theta, und)
    return [Out.TICK_OPTION_COMPUTATION, req_id, tick, 1, *values]


def ticks(
    req_id: int,
    contract: Contract,
    quote: Quote,
    generic: frozenset[int],
    delayed: bool,
    totals: ChainTotals | None,
    timestamp: int,
) -> Iterator[tuple[int, list[Field]]]:
    """Every tick message describing `quote`, keyed (by tick type) so callers can diff."""

    def t(tick: int) -> int:
        return DELAYED.get(tick, tick) if delayed else tick

    def price(tick: int, value: float, size: int) -> tuple[int, list[Field]]:
        return t(tick), [Out.TICK_PRICE, 6, req_id, t(tick), value, size, 0]

    def size(tick: int, value: int) -> tuple[int, list[Field]]:
        return 1000 + t(tick), [Out.TICK_SIZE, 6, req_id, t(tick), value]

    q = quote
    yield price(1, q.bid, q.bid_size)
    yield price(2, q.ask, q.ask_size)
    yield price(4, q.last, q.last_size)
    yield size(0, q.bid_size)
    yield size(3, q.ask_size)
    yield size(5, q.last_size)
    yield size(8, q.volume)
    yield price(6, q.high, 0)
    yield price(7, q.low, 0)
    yield price(9, q.close, 0)
    yield price(14, q.open, 0)
    yield 2000 + t(45), [Out.TICK_STRING, 6, req_id, t(45), str(timestamp)]
    option = q.option
    if option is not None:
        und, pv = option.und_price, option.pv_dividend
        yield 3000 + t(10), _computation(req_id, t(10), option.bid_iv, option.bid, und, pv)
        yield 3000 + t(11), _computation(req_id, t(11), option.ask_iv, option.ask, und, pv)
        yield 3000 + t(12), _computation(req_id, t(12), option.iv, option.model, und, pv)
        yield 3000 + t(13), _computation(req_id, t(13), option.iv, option.model, und, pv)
        call = contract.right == "C"
        if 100 in generic:
            yield size(29 if call else 30, q.volume)
        if 101 in generic:
            yield size(27 if call else 28, option.open_interest)
        if 106 in generic:
            yield 4024, [Out.TICK_GENERIC, 6, req_id, 24, option.iv]
    elif totals is not None:
        if 100 in generic:
            yield size(29, totals.call_volume)
            yield size(30, totals.put_volume)
        if 101 in generic:
            yield size(27, totals.call_open_interest)
            yield size(28, totals.put_open_interest)
        if 106 in generic:
            yield 4024, [Out.TICK_GENERIC, 6, req_id, 24, totals.atm_iv]


# -- orders ----------------------------------------------------------------------------------


def _money(value: float) -> str:
    return f"{value:.2f}"


# Constant stretches of the order layouts, encoded once (see the field maps in the notes).
_OPEN_ORDER_MIDDLE = Run.of(
    False,  # hidden
    "", "", "",  # discretionaryAmt, goodAfterTime, sharesAllocation
    "", "", "", "", "",  # faGroup, faMethod, faPercentage, faProfile, modelCode
)  # fmt: skip
_OPEN_ORDER_AFTER_GOOD_TILL = Run.of(
    "", "", "",  # rule80A, percentOffset, settlingFirm
    0, "", -1, 0,  # shortSaleSlot, designatedLocation, exemptCode, auctionStrategy
    "", "", "", "", "",  # startingPrice, stockRefPrice, delta, stockRangeLower/Upper
    0, False, False, False,  # displaySize, blockOrder, sweepToFill, allOrNone
    "", 0, False, False, "",  # minQty, ocaType, eTradeOnly, firmQuoteOnly, nbboPriceCap
    0, 0, "", 0,  # parentId, triggerMethod, volatility, volatilityType
    "", "", False, 0,  # deltaNeutralOrderType/AuxPrice, continuousUpdate, referencePriceType
    "", "", "", "",  # trailStopPrice, trailingPercent, basisPoints, basisPointsType
    "", 0, 0, 0,  # comboLegsDescrip; comboLegs, orderComboLegs, smartComboParams counts
    "", "", "", "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement, hedgeType
    False, "", "", False,  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    False, "", False,  # deltaNeutralContract present, algoStrategy, solicited
)  # fmt: skip
_OPEN_ORDER_TAIL = Run.of(
    "",  # warningText
    False, False, 0,  # randomizeSize, randomizePrice, conditions count
    "", "", "", "", "", "", "",  # adjustedOrderType ... adjustedTrailingAmount
    0, "", "", "",  # adjustableTrailingUnit, softDollarTier name/value/displayName
    "", False, False, False, False,  # cashQty, dontUseAutoPriceForHedge ... usePriceMgmtAlgo
)  # fmt: skip
_NO_WHAT_IF = Run.of(*[UNSET_DOUBLE_TEXT] * 9, "", "", "", "")  # margins, commissions


def open_order(order: Order, status: str, what_if: WhatIf | None = None) -> list[Field]:
    """openOrder at 157: 120 fields for a plain (non-combo, non-algo) order."""
    c = order.contract
    if what_if is None:
        preview: list[Field] = [_NO_WHAT_IF]
    else:
        w = what_if
        preview = [
            _money(w.init_before),
            _money(w.maint_before),
            _money(w.equity_before),
            _money(w.init_change),
            _money(w.maint_change),
            "0.00",  # equityWithLoanChange
            _money(w.init_before + w.init_change),
            _money(w.maint_before + w.maint_change),
            _money(w.equity_before),
            w.commission,  # commission, minCommission, maxCommission
            w.commission,
            w.commission,
            "USD",
        ]
    return [
        Out.OPEN_ORDER,
        order.order_id,
        _contract_block(c, c.exchange),
        order.action,
        order.quantity,
        order.order_type,
        order.lmt_price,
        order.aux_price,
        order.tif,
        "",  # ocaGroup
        order.account,
        "",  # openClose
        0,  # origin
        order.order_ref,
        order.client_id,
        order.perm_id,
        order.outside_rth,
        _OPEN_ORDER_MIDDLE,
        _utc_or_blank(order.good_till_ns),
        _OPEN_ORDER_AFTER_GOOD_TILL,
        what_if is not None,
        status,
        *preview,
        _OPEN_ORDER_TAIL,
    ]


def order_status(event: StatusChanged) -> list[Field]:
    o = event.order
    return [
        Out.ORDER_STATUS,
        o.order_id,
        event.status,
        event.filled,
        event.remaining,
        event.avg_fill_price,
        o.perm_id,
        0,  # parentId
        event.last_fill_price,
        o.client_id,
        "",  # whyHeld
        0.0,  # mktCapPrice
    ]


def _utc_or_blank(ns: int | None) -> str:
    return "" if ns is None else execution_time(ns)


_COMPLETED_MIDDLE = Run.of(
    False, "", "",  # hidden, discretionaryAmt, goodAfterTime
    "", "", "", "", "",  # faGroup, faMethod, faPercentage, faProfile, modelCode
)  # fmt: skip
_COMPLETED_AFTER_GOOD_TILL = Run.of(
    "", "", "",  # rule80A, percentOffset, settlingFirm
    0, "", -1,  # shortSaleSlot, designatedLocation, exemptCode
    "", "", "", "", "",  # startingPrice, stockRefPrice, delta, stockRangeLower/Upper
    0, False, False, "",  # displaySize, sweepToFill, allOrNone, minQty
    0, 0,  # ocaType, triggerMethod
    "", 0, "", "",  # volatility, volatilityType, deltaNeutralOrderType, dnAuxPrice
    False, 0, "", "",  # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent
    "", 0, 0, 0,  # comboLegsDescrip; comboLegs, orderComboLegs, smartComboParams counts
    "", "", "", "",  # scale fields x3, hedgeType
    "", "", False, False,  # clearingAccount, clearingIntent, notHeld, deltaNeutral present
    "", False,  # algoStrategy, solicited
)  # fmt: skip
_COMPLETED_AFTER_STATUS = Run.of(
    False, False, 0,  # randomizeSize, randomizePrice, conditions count
    "", "", "",  # trailStopPrice, lmtPriceOffset, cashQty
    False, False, "",  # dontUseAutoPriceForHedge, isOmsContainer, autoCancelDate
)  # fmt: skip
_COMPLETED_BEFORE_TIME = Run.of(
    0, False, "",  # refFuturesConId, autoCancelParent, shareholder
    False, False, 0,  # imbalanceOnly, routeMarketableToBbo, parentPermId
)  # fmt: skip


def completed_order(order: Order) -> list[Field]:
    c = order.contract
    return [
        Out.COMPLETED_ORDER,
        _contract_block(c, c.exchange),
        order.action,
        order.quantity,
        order.order_type,
        order.lmt_price,
        order.aux_price,
        order.tif,
        "",  # ocaGroup
        order.account,
        "",  # openClose
        0,  # origin
        order.order_ref,
        order.perm_id,
        order.outside_rth,
        _COMPLETED_MIDDLE,
        _utc_or_blank(order.good_till_ns),
        _COMPLETED_AFTER_GOOD_TILL,
        order.status,
        _COMPLETED_AFTER_STATUS,
        order.filled,
        _COMPLETED_BEFORE_TIME,
        _utc_or_blank(order.completed_at_ns),
        order.status,  # completedStatus
    ]


def completed_orders_end() -> list[Field]:
    return [Out.COMPLETED_ORDERS_END]


def open_order_end() -> list[Field]:
    return [Out.OPEN_ORDER_END, 1]


def execution_time(ns: int) -> str:
    return f"{dt.datetime.fromtimestamp(ns / 1e9, dt.UTC):%Y%m%d %H:%M:%S} UTC"


def exec_details(req_id: int, e: Execution) -> list[Field]:
    c = e.contract
    return [
        Out.EXECUTION_DATA,
        req_id,
        e.order_id,
        _contract_block(c, c.venue),
        e.exec_id,
        execution_time(e.time_ns),
        e.account,
        c.venue,
        e.side,
        e.shares,
        e.price,
        e.perm_id,
        e.client_id,
        0,  # liquidation
        e.cum_qty,
        e.avg_price,
        e.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        2,  # lastLiquidity: removed liquidity
    ]


def exec_details_end(req_id: int) -> list[Field]:
    return [Out.EXECUTION_DATA_END, 1, req_id]


def commission_report(e: Execution) -> list[Field]:
    realized = UNSET_DOUBLE_TEXT if e.realized_pnl is None else round(e.realized_pnl, 2)
    return [
        Out.COMMISSION_REPORT,
        1,
        e.exec_id,
        e.commission,
        "USD",
        realized,
        UNSET_DOUBLE_TEXT,
        "",
    ]


# -- account -------------------------------------------------------------------------------


def position(account: str, p: Position) -> list[Field]:
    c = p.contract
    return [
        Out.POSITION_DATA,
        3,
        account,
        _contract_block(c, c.exchange),
        p.quantity,
        p.avg_cost,
    ]


def position_end() -> list[Field]:
    return [Out.POSITION_END, 1]


def position_multi(req_id: int, account: str, p: Position) -> list[Field]:
    c = p.contract
    return [
        Out.POSITION_MULTI,
        1,
        req_id,
        account,
        _contract_block(c, c.exchange),
        p.quantity,
        p.avg_cost,
        "",
    ]


def position_multi_end(req_id: int) -> list[Field]:
    return [Out.POSITION_MULTI_END, 1, req_id]


def portfolio_value(account: str, p: Position, mark: float) -> list[Field]:
    c = p.contract
    value = p.quantity * mark * c.multiplier_value
    return [
        Out.PORTFOLIO_VALUE,
        8,
        _contract_block(c, c.primary_exchange),
        p.quantity,
        mark,
        round(value, 2),
        p.avg_cost,
        round(value - p.quantity * p.avg_cost, 2),
        round(p.realized_pnl, 2),
        account,
    ]


def account_value(key: str, value: str, currency: str, account: str) -> list[Field]:
    return [Out.ACCT_VALUE, 2, key, value, currency, account]


def account_time(now: dt.datetime) -> list[Field]:
    return [Out.ACCT_UPDATE_TIME, 1, f"{now:%H:%M}"]


def account_download_end(account: str) -> list[Field]:
    return [Out.ACCT_DOWNLOAD_END, 1, account]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> list[Field]:
    return [Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> list[Field]:
    return [Out.ACCOUNT_SUMMARY_END, 1, req_id]


def account_update_multi(
    req_id: int, account: str, key: str, value: str, currency: str
) -> list[Field]:
    return [Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency]


def account_update_multi_end(req_id: int) -> list[Field]:
    return [Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id]
