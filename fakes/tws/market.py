"""A seeded, deterministic SPY market: price process, option quotes, volumes, surges.

Everything observable at step k is a pure function of (seed, start time, k, injected surges):
the underlying follows geometric Brownian motion drawn from ``random.Random(seed)``; option
quotes are Black-Scholes prices on a volatility smile; per-contract volumes, open interest and
quote sizes come from a keyed integer hash, so no state besides the step counter is needed.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from fakes.tws.instruments import Contract, Instruments

TRADING_SECONDS_PER_DAY = 6.5 * 3600
SECONDS_PER_YEAR = 365.0 * 86400
_SQRT2 = math.sqrt(2.0)
_MASK64 = (1 << 64) - 1


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class Greeks:
    price: float
    delta: float
    gamma: float
    vega: float  # per 1 vol point (0.01), as TWS reports it
    theta: float  # per calendar day


def black_scholes(
    spot: float, strike: float, years: float, vol: float, rate: float, carry: float, right: str
) -> Greeks:
    """European price and greeks with continuous dividend yield `carry`."""
    call = right == "C"
    if years <= 0.0 or vol <= 0.0:
        intrinsic = max(spot - strike, 0.0) if call else max(strike - spot, 0.0)
        in_money = intrinsic > 0.0
        return Greeks(intrinsic, (1.0 if call else -1.0) if in_money else 0.0, 0.0, 0.0, 0.0)
    root = math.sqrt(years)
    d1 = (math.log(spot / strike) + (rate - carry + 0.5 * vol * vol) * years) / (vol * root)
    d2 = d1 - vol * root
    disc_r, disc_q = math.exp(-rate * years), math.exp(-carry * years)
    pdf = norm_pdf(d1)
    if call:
        price = spot * disc_q * norm_cdf(d1) - strike * disc_r * norm_cdf(d2)
        delta = disc_q * norm_cdf(d1)
        theta = (
            -spot * disc_q * pdf * vol / (2 * root)
            - rate * strike * disc_r * norm_cdf(d2)
            + carry * spot * disc_q * norm_cdf(d1)
        )
    else:
        price = strike * disc_r * norm_cdf(-d2) - spot * disc_q * norm_cdf(-d1)
        delta = -disc_q * norm_cdf(-d1)
        theta = (
            -spot * disc_q * pdf * vol / (2 * root)
            + rate * strike * disc_r * norm_cdf(-d2)
            - carry * spot * disc_q * norm_cdf(-d1)
        )
    gamma = disc_q * pdf / (spot * vol * root)
    vega = spot * disc_q * pdf * root
    return Greeks(max(price, 0.0), delta, gamma, vega / 100.0, theta / 365.0)


def implied_vol(
    price: float,
    spot: float,
    strike: float,
    years: float,
    rate: float,
    carry: float,
    right: str,
    guess: float = 0.2,
) -> float | None:
    """The volatility that reprices `price`, None when no volatility does: Newton's method from
    `guess` (a quote's own model volatility is within a few points, so two or three steps do),
    falling back to bisection whenever a step would leave the bracket."""
    low, high = 1e-4, 5.0
    if years <= 0.0:
        return None
    price_low = black_scholes(spot, strike, years, low, rate, carry, right).price
    price_high = black_scholes(spot, strike, years, high, rate, carry, right).price
    if not price_low <= price <= price_high:
        return None
    vol = min(max(guess, low), high)
    for _ in range(60):
        model = black_scholes(spot, strike, years, vol, rate, carry, right)
        error = model.price - price
        if abs(error) < 1e-7:
            break
        if error < 0:
            low = vol
        else:
            high = vol
        vega = model.vega * 100.0  # per unit of volatility
        step = vol - error / vega if vega > 0 else low - 1.0
        vol = step if low < step < high else 0.5 * (low + high)
        if high - low < 1e-5:
            break
    return vol


@dataclass(frozen=True)
class Smile:
    """iv(K) = atm + skew * m + curvature * m^2 with log-moneyness m = ln(K / spot)."""

    atm: float = 0.15
    skew: float = -0.35
    curvature: float = 1.5
    floor: float = 0.05

    def vol(self, spot: float, strike: float) -> float:
        m = math.log(strike / spot)
        return max(self.floor, self.atm + self.skew * m + self.curvature * m * m)


@functools.lru_cache(maxsize=1024)
def _expiry_close(expiry: str) -> dt.datetime:
    """An expiry's close (parsed once: strptime was a tenth of the market clock's time)."""
    return dt.datetime.strptime(expiry, "%Y%m%d").replace(
        hour=20, tzinfo=dt.UTC
    )  # 16:00 New York (EDT); close enough for a simulator


@dataclass(frozen=True)
class MarketConfig:
    seed: int
    start: dt.datetime  # wall-clock time of step 0 (timezone-aware)
    spot: float = 590.0
    step_seconds: float = 0.25
    annual_vol: float = 0.16
    rate: float = 0.045
    dividend_yield: float = 0.013
    smile: Smile = field(default_factory=Smile)


@dataclass(frozen=True, slots=True)
class Surge:
    """Injected unusual activity on one contract, from `step` on."""

    volume_multiplier: float
    open_interest_multiplier: float
    iv_bump: float
    step: int


@dataclass(frozen=True, slots=True)
class OptionModel:
    iv: float
    model: Greeks
    bid_iv: float | None
    bid: Greeks | None
    ask_iv: float | None
    ask: Greeks | None
    open_interest: int
    und_price: float
    pv_dividend: float


@dataclass(frozen=True, slots=True)
class Quote:
    bid: float
    ask: float
    last: float
    bid_size: int
    ask_size: int
    last_size: int
    volume: int
    high: float
    low: float
    close: float
    open: float
    option: OptionModel | None


def _mix(*keys: int) -> int:
    """splitmix64 over the keys: a cheap, stable, well-spread integer hash."""
    z = 0x9E3779B97F4A7C15
    for key in keys:
        z = (z + (key & _MASK64) + 0x9E3779B97F4A7C15) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
    return z


def _round_tick(price: float) -> float:
    return round(round(price / 0.01) * 0.01, 2)


class Market:
    def __init__(self, config: MarketConfig, instruments: Instruments) -> None:
        self.config = config
        self.instruments = instruments
        self.step_index = 0
        self.spot = config.spot
        self._rng = random.Random(config.seed)
        self._high = self._low = config.spot
        self._surges: dict[int, Surge] = {}
        self._quotes: dict[int, Quote] = {}
        self._step_years = config.step_seconds / (252 * TRADING_SECONDS_PER_DAY)
        self._bases: dict[int, tuple[float, float]] = {}
        # Chain-wide sums before surges, for the underlying's option volume / interest ticks.
        self._chain_base = [0.0, 0.0, 0.0, 0.0]
        for contract in instruments.options:
            daily, interest = self._base(contract)
            put = contract.right == "P"
            self._chain_base[put] += daily
            self._chain_base[2 + put] += interest

    # -- the process ---------------------------------------------------------------------

    def step(self) -> None:
        """Advance one step of geometric Brownian motion (trading-time scaled)."""
        sigma = self.config.annual_vol
        shock = self._rng.gauss(0.0, 1.0)
        drift = -0.5 * sigma * sigma * self._step_years
        self.spot *= math.exp(drift + sigma * math.sqrt(self._step_years) * shock)
        self.step_index += 1
        self._high, self._low = max(self._high, self.spot), min(self._low, self.spot)
        self._quotes.clear()

    def now(self) -> dt.datetime:
        return self.config.start + dt.timedelta(seconds=self.step_index * self.config.step_seconds)

    def years_to_expiry(self, contract: Contract) -> float:
        left = (_expiry_close(contract.expiry) - self.now()).total_seconds()
        return max(left, 0.0) / SECONDS_PER_YEAR

    # -- unusual activity ---------------------------------------------------------------

    def inject(
        self,
        contracts: Iterable[Contract],
        volume_multiplier: float,
        open_interest_multiplier: float,
        iv_bump: float,
    ) -> None:
        """Surges compose: a second injection multiplies onto the first."""
        for contract in contracts:
            old = self._surges.get(contract.con_id, Surge(1.0, 1.0, 0.0, self.step_index))
            self._surges[contract.con_id] = Surge(
                old.volume_multiplier * volume_multiplier,
                old.open_interest_multiplier * open_interest_multiplier,
                old.iv_bump + iv_bump,
                self.step_index,
            )
        self._quotes.clear()

    # -- what a subscriber sees -----------------------------------------------------------

    def quote(self, contract: Contract) -> Quote:
        cached = self._quotes.get(contract.con_id)
        if cached is None:
            cached = self._option_quote(contract) if contract.is_option else self._stock_quote()
            self._quotes[contract.con_id] = cached
        return cached

    def _progress(self) -> float:
        """Fraction of a trading day's volume printed so far (starts at 20 %)."""
        return 0.2 + self.step_index * self.config.step_seconds / TRADING_SECONDS_PER_DAY

    def _sizes(self, con_id: int, lot: int) -> tuple[int, int, int]:
        h = _mix(self.config.seed, con_id, self.step_index)
        return lot * (1 + h % 20), lot * (1 + (h >> 8) % 20), lot * (1 + (h >> 16) % 5)

    def _stock_quote(self) -> Quote:
        mid = _round_tick(self.spot)
        bid_size, ask_size, last_size = self._sizes(0, 100)
        volume = int(40_000_000 * self._progress()) + self.step_index * 100
        return Quote(
            bid=round(mid - 0.01, 2),
            ask=round(mid + 0.01, 2),
            last=mid,
            bid_size=bid_size,
            ask_size=ask_size,
            last_size=last_size,
            volume=volume,
            high=_round_tick(self._high),
            low=_round_tick(self._low),
            close=_round_tick(self.config.spot),
            open=_round_tick(self.config.spot),
            option=None,
        )

    def _base(self, contract: Contract) -> tuple[float, float]:
        """(daily volume, open interest) before surges: busiest at the money, with a stable
        per-contract factor on top."""
        base = self._bases.get(contract.con_id)
        if base is None:
            seed, con_id = self.config.seed, contract.con_id
            moneyness = abs(math.log(contract.strike / self.config.spot))
            daily = (
                20_000.0 * math.exp(-moneyness * 25.0) * (0.5 + _mix(seed, con_id, 1) % 1000 / 1e3)
            )
            base = (daily + 10.0, 3.0 * daily * (0.5 + _mix(seed, con_id, 2) % 1000 / 1e3))
            self._bases[con_id] = base
        return base

    def option_volume(self, contract: Contract) -> int:
        surge = self._surges.get(contract.con_id)
        multiplier = surge.volume_multiplier if surge else 1.0
        return int(self._base(contract)[0] * self._progress() * multiplier)

    def open_interest(self, contract: Contract) -> int:
        surge = self._surges.get(contract.con_id)
        multiplier = surge.open_interest_multiplier if surge else 1.0
        return int(self._base(contract)[1] * multiplier)

    def option_vol(self, contract: Contract, spot: float) -> float:
        surge = self._surges.get(contract.con_id)
        bump = surge.iv_bump if surge else 0.0
        return max(0.01, self.config.smile.vol(spot, contract.strike) + bump)

    def _greeks(self, contract: Contract, spot: float, vol: float, years: float) -> Greeks:
        c = self.config
        return black_scholes(
            spot, contract.strike, years, vol, c.rate, c.dividend_yield, contract.right
        )

    def _implied(
        self, contract: Contract, price: float, years: float, guess: float
    ) -> float | None:
        c = self.config
        return implied_vol(
            price,
            self.spot,
            contract.strike,
            years,
            c.rate,
            c.dividend_yield,
            contract.right,
            guess,
        )

    def _option_quote(self, contract: Contract) -> Quote:
        years = self.years_to_expiry(contract)
        vol = self.option_vol(contract, self.spot)
        model = self._greeks(contract, self.spot, vol, years)
        spread = min(max(0.01, _round_tick(model.price * 0.04)), 0.50)
        bid = max(0.0, _round_tick(model.price - spread / 2))
        ask = max(round(bid + spread, 2), 0.01)
        bid_iv = self._implied(contract, bid, years, vol) if bid > 0 else None
        ask_iv = self._implied(contract, ask, years, vol)
        start_years = years + self.step_index * self.config.step_seconds / SECONDS_PER_YEAR
        close = self._greeks(contract, self.config.spot, vol, start_years).price
        bid_size, ask_size, last_size = self._sizes(contract.con_id, 10)
        option = OptionModel(
            iv=vol,
            model=model,
            bid_iv=bid_iv,
            bid=self._greeks(contract, self.spot, bid_iv, years) if bid_iv else None,
            ask_iv=ask_iv,
            ask=self._greeks(contract, self.spot, ask_iv, years) if ask_iv else None,
            open_interest=self.open_interest(contract),
            und_price=self.spot,
            pv_dividend=self.spot * (1 - math.exp(-self.config.dividend_yield * years)),
        )
        return Quote(
            bid=bid,
            ask=ask,
            last=_round_tick(model.price),
            bid_size=bid_size,
            ask_size=ask_size,
            last_size=last_size // 10,
            volume=self.option_volume(contract),
            high=_round_tick(max(model.price, close)),
            low=_round_tick(min(model.price, close)),
            close=_round_tick(close),
            open=_round_tick(close),
            option=option,
        )

    # -- aggregates the underlying's generic ticks report ---------------------------------

    def chain_totals(self) -> tuple[int, int, int, int]:
        """(call volume, put volume, call open interest, put open interest) over the chain."""
        totals = list(self._chain_base)
        for con_id, surge in self._surges.items():
            contract = self.instruments.by_con_id[con_id]
            daily, interest = self._base(contract)
            put = contract.right == "P"
            totals[put] += daily * (surge.volume_multiplier - 1.0)
            totals[2 + put] += interest * (surge.open_interest_multiplier - 1.0)
        progress = self._progress()
        return (
            int(totals[0] * progress),
            int(totals[1] * progress),
            int(totals[2]),
            int(totals[3]),
        )

    def atm_iv(self) -> float:
        return self.config.smile.vol(self.spot, self.spot)
