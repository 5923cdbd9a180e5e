"""SPY and its generated option chain: expiries, strikes, OCC symbols, conIds, queries."""

from __future__ import annotations

import datetime as dt

import pytest

from fakes.tws.instruments import (
    SPY,
    SPY_CON_ID,
    ContractQuery,
    Instruments,
    InvalidQuery,
    expiries,
    occ_symbol,
    option_con_id,
)

TODAY = dt.date(2024, 1, 15)  # a Monday
CHAIN = Instruments(TODAY, 470.0)


def query(**fields: object) -> ContractQuery:
    base: dict[str, object] = {
        "con_id": 0,
        "symbol": "SPY",
        "sec_type": "OPT",
        "expiry": "",
        "strike": None,
        "right": "",
        "multiplier": "",
        "exchange": "SMART",
        "primary_exchange": "",
        "currency": "USD",
        "local_symbol": "",
        "trading_class": "",
    }
    return ContractQuery(**{**base, **fields})  # type: ignore[arg-type]


def test_weekly_and_monthly_fridays_over_about_two_months() -> None:
    fridays = expiries(TODAY)
    assert fridays[0] == dt.date(2024, 1, 19)
    assert all(d.weekday() == 4 for d in fridays)
    assert (fridays[-1] - TODAY).days <= 63 < (fridays[-1] - TODAY).days + 7
    assert dt.date(2024, 2, 16) in fridays  # a monthly (third Friday)


def test_strikes_span_fifteen_percent_in_dollar_steps() -> None:
    assert CHAIN.strikes[0] == 399
    assert CHAIN.strikes[-1] == 541
    assert all(b - a == 1 for a, b in zip(CHAIN.strikes, CHAIN.strikes[1:], strict=False))
    assert len(CHAIN.options) == len(CHAIN.expiries) * len(CHAIN.strikes) * 2


def test_occ_local_symbol_and_stable_con_ids() -> None:
    assert occ_symbol(dt.date(2024, 1, 19), 470.0, "C") == "SPY   240119C00470000"
    assert occ_symbol(dt.date(2024, 1, 19), 99.5, "P") == "SPY   240119P00099500"
    con_ids = [c.con_id for c in CHAIN.options]
    assert len(set(con_ids)) == len(con_ids)
    assert (
        option_con_id(dt.date(2024, 1, 19), 470, "P")
        == option_con_id(dt.date(2024, 1, 19), 470, "C") + 1
    )
    assert Instruments(TODAY, 470.0).by_con_id.keys() == CHAIN.by_con_id.keys()
    assert all(c.multiplier == "100" and c.trading_class == "SPY" for c in CHAIN.options)


def test_exact_queries() -> None:
    assert CHAIN.match(query(sec_type="STK")) == [SPY]
    assert CHAIN.match(query(con_id=SPY_CON_ID, sec_type="")) == [SPY]
    (option,) = CHAIN.match(query(expiry="20240119", strike=470.0, right="CALL"))
    assert option.local_symbol == "SPY   240119C00470000"
    assert CHAIN.match(query(local_symbol="SPY240119C00470000", sec_type="")) == [option]
    assert CHAIN.resolve(query(con_id=option.con_id)) == option


def test_partial_queries_return_every_match() -> None:
    assert len(CHAIN.match(query(expiry="20240119", strike=470.0))) == 2
    assert len(CHAIN.match(query(expiry="20240119", right="P"))) == len(CHAIN.strikes)
    assert len(CHAIN.match(query(expiry="202402"))) == 2 * len(CHAIN.strikes) * 4
    assert CHAIN.resolve(query(expiry="20240119")) is None  # ambiguous


@pytest.mark.parametrize(
    "fields",
    [
        {"symbol": "QQQ"},
        {"sec_type": "FUT"},
        {"expiry": "20240120"},
        {"strike": 470.5},
        {"currency": "EUR"},
        {"exchange": "NYMEX"},
        {"multiplier": "10"},
        {"con_id": 123},
        {"sec_type": "STK", "strike": 470.0},
    ],
)
def test_unknown_contracts_match_nothing(fields: dict[str, object]) -> None:
    assert CHAIN.match(query(**fields)) == []


@pytest.mark.parametrize(
    "fields", [{"sec_type": ""}, {"right": "X"}, {"strike": -1.0}, {"multiplier": "abc"}]
)
def test_invalid_queries_are_errors(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidQuery):
        CHAIN.match(query(**fields))


def test_trading_hours_close_weekends() -> None:
    trading, liquid = CHAIN.trading_hours(SPY)
    assert trading.startswith("20240115:0400-20240115:2000;")
    assert "20240120:CLOSED" in liquid
