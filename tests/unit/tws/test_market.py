"""The seeded market: determinism, Black-Scholes, the smile and injected unusual activity."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.tws.instruments import SPY, Instruments
from fakes.tws.market import Market, MarketConfig, Smile, black_scholes, implied_vol

START = dt.datetime(2024, 1, 15, 15, 0, tzinfo=dt.UTC)
CHAIN = Instruments(START.date(), 470.0)
ATM_CALL = next(c for c in CHAIN.options if c.strike == 470.0 and c.right == "C")


def market(seed: int = 7) -> Market:
    return Market(MarketConfig(seed=seed, start=START, spot=470.0), CHAIN)


def run(m: Market, steps: int) -> list[tuple[float, float, float, int]]:
    seen = []
    for _ in range(steps):
        m.step()
        stock, option = m.quote(SPY), m.quote(ATM_CALL)
        seen.append((stock.bid, option.bid, option.ask, option.volume))
    return seen


def test_same_seed_same_ticks_other_seed_other_ticks() -> None:
    assert run(market(7), 200) == run(market(7), 200)
    assert run(market(7), 200) != run(market(8), 200)


def test_quotes_are_sane() -> None:
    m = market()
    for _ in range(50):
        m.step()
        for contract in (SPY, ATM_CALL, CHAIN.options[0], CHAIN.options[-1]):
            q = m.quote(contract)
            assert 0 <= q.bid < q.ask
            assert q.bid_size > 0
            assert q.ask_size > 0
            assert round(q.bid * 100) == pytest.approx(q.bid * 100)


def test_put_call_parity() -> None:
    s, k, t, r, q = 470.0, 460.0, 0.25, 0.045, 0.013
    call = black_scholes(s, k, t, 0.2, r, q, "C").price
    put = black_scholes(s, k, t, 0.2, r, q, "P").price
    assert call - put == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-9)


def test_greeks_have_the_textbook_signs() -> None:
    call = black_scholes(470, 470, 0.1, 0.2, 0.045, 0.013, "C")
    put = black_scholes(470, 470, 0.1, 0.2, 0.045, 0.013, "P")
    assert 0 < call.delta < 1
    assert -1 < put.delta < 0
    assert call.gamma > 0
    assert call.vega > 0
    assert call.theta < 0
    assert black_scholes(470, 400, 0.0, 0.2, 0.0, 0.0, "C").price == 70


@settings(deadline=None)  # on a shared, busy machine a slow example is no bug
@given(st.floats(0.05, 1.5), st.floats(0.85, 1.15), st.sampled_from("CP"), st.floats(0.01, 4.0))
def test_implied_vol_inverts_black_scholes(
    vol: float, moneyness: float, right: str, guess: float
) -> None:
    strike = 470 * moneyness
    price = black_scholes(470, strike, 0.2, vol, 0.045, 0.013, right).price
    found = implied_vol(price, 470, strike, 0.2, 0.045, 0.013, right, guess)
    # Where vega vanishes many vols give the same price: the property is the repricing.
    assert found is not None
    repriced = black_scholes(470, strike, 0.2, found, 0.045, 0.013, right).price
    assert repriced == pytest.approx(price, abs=1e-3)


def test_smile_skews_toward_low_strikes() -> None:
    smile = Smile()
    assert smile.vol(470, 400) > smile.vol(470, 440) > smile.vol(470, 470) > smile.vol(470, 540)


def test_unusual_activity_surges_volume_interest_and_iv() -> None:
    plain, surged = market(), market()
    surged.inject([ATM_CALL], volume_multiplier=10, open_interest_multiplier=3, iv_bump=0.1)
    before, after = plain.quote(ATM_CALL), surged.quote(ATM_CALL)
    assert after.volume >= 9 * before.volume
    assert after.option is not None
    assert before.option is not None
    assert after.option.open_interest >= 3 * before.option.open_interest - 1
    assert after.option.iv == pytest.approx(before.option.iv + 0.1)
    assert after.bid > before.bid
    calls_before = plain.chain_totals()[0]
    assert surged.chain_totals()[0] > calls_before


def test_volume_never_falls() -> None:
    m = market()
    volumes = [q[3] for q in run(m, 100)]
    assert volumes == sorted(volumes)
