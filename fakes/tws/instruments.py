"""The tradable universe: SPY stock and a generated SPY option chain.

Option conIds are a pure function of (expiry, strike, right), so the same contract keeps its
conId across restarts and runs: ``1_000_000_000 + days(expiry - 2000-01-01) * 4096
+ strike * 2 + (1 for puts)``. Strikes are whole dollars, so this never collides.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

SPY_CON_ID = 756733
OPTION_CON_ID_BASE = 1_000_000_000
_EPOCH = dt.date(2000, 1, 1)
CHAIN_DAYS = 63  # "about two months" of expiries
STRIKE_BAND = 0.15  # strikes within +-15 % of spot
EXCHANGES = ("SMART", "CBOE", "AMEX", "ISE", "PHLX", "BOX", "ARCA")
STOCK_EXCHANGES = "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,IEX"
ORDER_TYPES = "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,DAY,GTC,IOC,LMT,MKT,STP,STPLMT"
LONG_NAME = "SPDR S&P 500 ETF TRUST"


class InvalidQuery(ValueError):
    """The request itself is invalid (IB error 321), as opposed to matching nothing (200)."""


@dataclass(frozen=True, slots=True)
class Contract:
    con_id: int
    symbol: str
    sec_type: str  # STK | OPT
    expiry: str  # YYYYMMDD, "" for stock
    strike: float  # 0.0 for stock
    right: str  # C | P | ""
    multiplier: str  # "100" for options, "" for stock
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str

    @property
    def multiplier_value(self) -> float:
        return float(self.multiplier) if self.multiplier else 1.0

    @property
    def is_option(self) -> bool:
        return self.sec_type == "OPT"

    @property
    def venue(self) -> str:
        """Where the simulator's fills of this contract are reported to execute."""
        return "CBOE" if self.is_option else "ARCA"


@dataclass(frozen=True, slots=True)
class ContractQuery:
    """The 12-field contract block of a request, as sent."""

    con_id: int
    symbol: str
    sec_type: str
    expiry: str
    strike: float | None
    right: str
    multiplier: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str


SPY = Contract(SPY_CON_ID, "SPY", "STK", "", 0.0, "", "", "SMART", "ARCA", "USD", "SPY", "SPY")


def option_con_id(expiry: dt.date, strike: int, right: str) -> int:
    return OPTION_CON_ID_BASE + (expiry - _EPOCH).days * 4096 + strike * 2 + (right == "P")


def occ_symbol(expiry: dt.date, strike: float, right: str) -> str:
    """OCC form: root padded to 6, YYMMDD, C/P, strike x 1000 in 8 digits."""
    return f"{'SPY':<6}{expiry:%y%m%d}{right}{round(strike * 1000):08d}"


def expiries(today: dt.date, days: int = CHAIN_DAYS) -> list[dt.date]:
    """Every Friday (weekly; the third Friday of a month is the monthly) in the window."""
    first = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    return [first + dt.timedelta(weeks=n) for n in range((days - (first - today).days) // 7 + 1)]


def _normalise_right(right: str) -> str:
    text = right.strip().upper()
    if text in ("", "?"):
        return ""
    if text in ("C", "CALL"):
        return "C"
    if text in ("P", "PUT"):
        return "P"
    raise InvalidQuery(f"invalid right {right[:10]!r}")


def _multiplier(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidQuery(f"invalid multiplier {text[:10]!r}") from None


class Instruments:
    def __init__(self, today: dt.date, spot: float) -> None:
        self.today = today
        self.expiries = expiries(today)
        low, high = math.floor(spot * (1 - STRIKE_BAND)), math.ceil(spot * (1 + STRIKE_BAND))
        self.strikes = list(range(low, high + 1))
        self.options: list[Contract] = [
            Contract(
                option_con_id(expiry, strike, right),
                "SPY",
                "OPT",
                f"{expiry:%Y%m%d}",
                float(strike),
                right,
                "100",
                "SMART",
                "",
                "USD",
                occ_symbol(expiry, strike, right),
                "SPY",
            )
            for expiry in self.expiries
            for strike in self.strikes
            for right in ("C", "P")
        ]
        self.by_con_id = {c.con_id: c for c in [SPY, *self.options]}
        self._by_local_symbol = {c.local_symbol.replace(" ", ""): c for c in self.options}

    def match(self, query: ContractQuery) -> list[Contract]:
        """Every contract the query describes (exact or partial), IB-style."""
        if query.con_id > 0:
            found = self.by_con_id.get(query.con_id)
            return [found] if found else []
        right = _normalise_right(query.right)
        multiplier = _multiplier(query.multiplier)
        if query.strike is not None and query.strike < 0:
            raise InvalidQuery("negative strike")
        if query.local_symbol:
            found = self._by_local_symbol.get(query.local_symbol.replace(" ", "").upper())
            if found is None and query.local_symbol.upper() == "SPY":
                found = SPY
            return [found] if found and self._fits(found, query, right, multiplier) else []
        sec_type = query.sec_type.upper()
        if not sec_type:
            raise InvalidQuery("missing security type")
        if query.symbol.upper() != "SPY":
            return []
        if sec_type == "STK":
            return [SPY] if self._fits(SPY, query, right, multiplier) else []
        if sec_type != "OPT":
            return []
        return [c for c in self.options if self._fits(c, query, right, multiplier)]

    @staticmethod
    def _fits(
        contract: Contract, query: ContractQuery, right: str, multiplier: float | None
    ) -> bool:
        if query.sec_type and query.sec_type.upper() != contract.sec_type:
            return False
        exchange = query.exchange.upper()
        valid = EXCHANGES if contract.is_option else STOCK_EXCHANGES.split(",")
        if exchange and exchange not in valid:
            return False
        if query.currency and query.currency.upper() != contract.currency:
            return False
        if query.trading_class and query.trading_class.upper() != contract.trading_class:
            return False
        if multiplier is not None and multiplier != contract.multiplier_value:
            return False
        if not contract.is_option:
            return not (query.expiry or right or query.strike)
        if query.expiry and not contract.expiry.startswith(query.expiry):
            return False
        if query.strike and abs(query.strike - contract.strike) > 1e-6:
            return False
        return not right or right == contract.right

    def resolve(self, query: ContractQuery) -> Contract | None:
        """The single contract a trading or market-data request means, or None."""
        found = self.match(query)
        return found[0] if len(found) == 1 else None

    def trading_hours(self, contract: Contract) -> tuple[str, str]:
        """(tradingHours, liquidHours) for the coming week in IB's text format."""
        trading, liquid = [], []
        close = "1615" if contract.is_option else "1600"
        for offset in range(7):
            day = self.today + dt.timedelta(days=offset)
            stamp = f"{day:%Y%m%d}"
            if day.weekday() >= 5:
                trading.append(f"{stamp}:CLOSED")
                liquid.append(f"{stamp}:CLOSED")
                continue
            open_ = "0930" if contract.is_option else "0400"
            end = close if contract.is_option else "2000"
            trading.append(f"{stamp}:{open_}-{stamp}:{end}")
            liquid.append(f"{stamp}:0930-{stamp}:{close}")
        return ";".join(trading), ";".join(liquid)
