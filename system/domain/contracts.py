"""Instruments: SPY options as the exchange names them (OCC symbology)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

_OCC = re.compile(r"^(?P<root>[A-Z]{1,6}) *(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")


class Right(StrEnum):
    CALL = "C"
    PUT = "P"


class OptionContract(BaseModel):
    """One listed option. Immutable and hashable, so it keys books and ledgers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(pattern=r"^[A-Z]{1,6}$")
    expiry: date
    strike: Decimal = Field(gt=0, max_digits=9, decimal_places=3)
    right: Right
    multiplier: int = Field(default=100, gt=0)

    @property
    def local_symbol(self) -> str:
        """The OCC symbol IB reports as localSymbol, e.g. 'SPY   261218C00600000'."""
        return _occ_symbol(self.symbol, self.expiry, self.strike, self.right)

    @classmethod
    def from_local_symbol(cls, local_symbol: str, multiplier: int = 100) -> OptionContract:
        match = _OCC.match(local_symbol)
        if match is None:
            raise ValueError(f"not an OCC option symbol: {local_symbol!r}")
        return cls(
            symbol=match["root"],
            expiry=datetime.strptime(match["ymd"], "%y%m%d").date(),
            strike=Decimal(match["strike"]) / 1000,
            right=Right(match["right"]),
            multiplier=multiplier,
        )


@lru_cache(maxsize=4096)
def _occ_symbol(symbol: str, expiry: date, strike: Decimal, right: Right) -> str:
    """Remembered: risk, the ledger and the broker each ask for it on every signal."""
    return f"{symbol:<6}{expiry:%y%m%d}{right.value}{int(strike * 1000):08d}"
