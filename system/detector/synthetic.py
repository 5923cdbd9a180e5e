"""A synthetic SPY chain that trades quietly: the benchmark's load and the tests' background.

Volume grows by Poisson-distributed trades, IVs wobble a little around a smile, open interest
stays put. Callers inject anomalies by editing the columns of a snapshot before scoring it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from system.domain.contracts import OptionContract, Right
from system.domain.market import ChainSnapshot


class QuietChain:
    def __init__(
        self,
        expiries: int = 20,
        strikes: int = 200,
        spot: float = 600.0,
        first_expiry: date = date(2026, 12, 18),
        seed: int = 7,
    ) -> None:
        self.spot = spot
        self._rng = np.random.default_rng(seed)
        grid = spot + np.arange(strikes) - strikes // 2
        expiry_dates = [first_expiry + timedelta(weeks=w) for w in range(expiries)]
        self.contracts = tuple(
            OptionContract(symbol="SPY", expiry=expiry, strike=Decimal(int(strike)), right=right)
            for expiry in expiry_dates
            for strike in grid
            for right in (Right.CALL, Right.PUT)
        )
        n = len(self.contracts)
        strike = np.array([float(c.strike) for c in self.contracts])
        years = np.array([(c.expiry - first_expiry).days / 365 + 0.02 for c in self.contracts])
        is_call = np.array([c.right is Right.CALL for c in self.contracts])
        moneyness = np.log(strike / spot)
        self._iv = 0.15 + 0.8 * moneyness**2 - 0.1 * moneyness
        d1 = (-moneyness + 0.5 * self._iv**2 * years) / (self._iv * np.sqrt(years))
        call_delta = 0.5 * (1 + np.tanh(0.7978845608 * (d1 + 0.044715 * d1**3)))
        self._delta = np.where(is_call, call_delta, call_delta - 1)
        self._price = np.maximum(0.05, np.abs(self._delta) * self._iv * spot * np.sqrt(years) / 3)
        self._rate = 5 + 200 * np.exp(-(moneyness**2) / 0.001)  # trades per snapshot, ATM-heavy
        self._volume = np.zeros(n)
        self._open_interest = np.round(1000 + 20_000 * np.exp(-(moneyness**2) / 0.002))

    def next(self, taken_at: datetime) -> ChainSnapshot:
        rng = self._rng
        self._volume += rng.poisson(self._rate)
        n = len(self.contracts)
        iv = self._iv + rng.normal(0, 0.0005, n)
        half_spread = 0.01 + 0.005 * self._price
        return ChainSnapshot(
            taken_at=taken_at,
            spot=self.spot,
            contracts=self.contracts,
            bid=self._price - half_spread,
            ask=self._price + half_spread,
            last=self._price + rng.normal(0, 0.005, n),
            volume=self._volume.copy(),
            open_interest=self._open_interest.copy(),
            implied_vol=iv,
            delta=self._delta.copy(),
        )
