"""The detector on crafted chains: it finds what was injected, where it was injected, and
nothing on a quiet chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from system.detector.config import DetectorConfig
from system.detector.detector import Detector, UnusableSnapshot
from system.detector.synthetic import QuietChain
from system.domain.contracts import Right
from system.domain.market import ChainSnapshot
from system.domain.signals import Side, Signal

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CONFIG = DetectorConfig()
WARM = CONFIG.baseline_window + 1  # snapshots before every baseline (and the volume delta) is full


def at(i: int) -> datetime:
    return START + timedelta(seconds=i)


def warmed(chain: QuietChain, detector: Detector, snapshots: int = WARM) -> int:
    for i in range(snapshots):
        assert detector.observe(chain.next(at(i)), at(i)) == []
    return snapshots


def index_of(chain: QuietChain, expiry: int, strike_offset: int, right: Right) -> int:
    """Position of a contract by expiry number, strike distance from spot and right."""
    expiries = sorted({c.expiry for c in chain.contracts})
    for i, c in enumerate(chain.contracts):
        if (
            c.expiry == expiries[expiry]
            and float(c.strike) == chain.spot + strike_offset
            and c.right is right
        ):
            return i
    raise LookupError("no such contract")


def kinds(signals: list[Signal]) -> set[tuple[str, str]]:
    return {(s.contract.local_symbol, s.reason.split(":")[0]) for s in signals}


@pytest.fixture
def chain() -> QuietChain:
    return QuietChain(expiries=3, strikes=40, seed=11)


def test_a_quiet_chain_raises_nothing() -> None:
    for seed in range(3):
        chain, detector = QuietChain(expiries=4, strikes=60, seed=seed), Detector(CONFIG)
        for i in range(80):
            assert detector.observe(chain.next(at(i)), at(i)) == [], f"seed {seed}, snapshot {i}"


def test_volume_surges_are_found_at_the_injected_strikes(chain: QuietChain) -> None:
    detector = Detector(CONFIG)
    i = warmed(chain, detector)
    targets = [index_of(chain, 0, 5, Right.CALL), index_of(chain, 2, -8, Right.PUT)]
    snapshot = chain.next(at(i))
    snapshot.volume[targets] += 5_000
    signals = detector.observe(snapshot, at(i))
    assert kinds(signals) == {(chain.contracts[t].local_symbol, "volume surge") for t in targets}
    assert all(s.score > CONFIG.volume_z for s in signals)
    for s in signals:  # priced at the mid of the quote, for the edge to place its limit from
        t = chain.contracts.index(s.contract)
        mid = (snapshot.bid[t] + snapshot.ask[t]) / 2
        assert s.reference_price is not None
        assert abs(float(s.reference_price) - mid) < 1e-4


def test_the_side_follows_where_the_trades_printed(chain: QuietChain) -> None:
    detector = Detector(CONFIG)
    i = warmed(chain, detector)
    at_ask, at_bid = index_of(chain, 1, 0, Right.CALL), index_of(chain, 1, 0, Right.PUT)
    snapshot = chain.next(at(i))
    snapshot.volume[[at_ask, at_bid]] += 5_000
    snapshot.last[at_ask], snapshot.last[at_bid] = snapshot.ask[at_ask], snapshot.bid[at_bid]
    sides = {s.contract: s.side for s in detector.observe(snapshot, at(i))}
    assert sides == {chain.contracts[at_ask]: Side.BUY, chain.contracts[at_bid]: Side.SELL}


def test_open_interest_surges_and_iv_jumps_are_found(chain: QuietChain) -> None:
    detector = Detector(CONFIG)
    i = warmed(chain, detector)
    oi, iv_up, iv_down = (
        index_of(chain, 1, 3, Right.PUT),
        index_of(chain, 0, -2, Right.CALL),
        index_of(chain, 2, 4, Right.CALL),
    )
    snapshot = chain.next(at(i))
    snapshot.open_interest[oi] += 40_000
    snapshot.implied_vol[iv_up] += 0.08
    snapshot.implied_vol[iv_down] -= 0.08
    signals = detector.observe(snapshot, at(i))
    assert kinds(signals) == {
        (chain.contracts[oi].local_symbol, "open interest surge"),
        (chain.contracts[iv_up].local_symbol, "implied vol jump"),
        (chain.contracts[iv_down].local_symbol, "implied vol drop"),
    }
    sides = {s.contract: s.side for s in signals}
    assert sides[chain.contracts[iv_up]] is Side.BUY
    assert sides[chain.contracts[iv_down]] is Side.SELL


def test_a_skew_shift_picks_the_richening_wing_near_the_target_delta() -> None:
    # Chain-wide put richening in one expiry: each put moves a little, the skew a lot.
    chain, detector = QuietChain(expiries=3, strikes=120, seed=5), Detector(CONFIG)
    i = warmed(chain, detector)
    snapshot = chain.next(at(i))
    expiry = sorted({c.expiry for c in chain.contracts})[1]
    puts = np.array([c.expiry == expiry and c.right is Right.PUT for c in chain.contracts])
    snapshot.implied_vol[puts] += 0.01
    signals = [s for s in detector.observe(snapshot, at(i)) if s.reason.startswith("put/call")]
    assert len(signals) == 1
    (signal,) = signals
    assert (signal.contract.expiry, signal.contract.right) == (expiry, Right.PUT)
    band = puts & (np.abs(snapshot.delta) >= CONFIG.skew_delta_low)
    nearest = np.nanargmin(np.where(band, np.abs(snapshot.delta + 0.25), np.nan))
    assert signal.contract == chain.contracts[nearest]


def test_the_same_snapshots_give_the_same_ids() -> None:
    def run() -> list[Signal]:
        chain, detector = QuietChain(expiries=2, strikes=30, seed=3), Detector(CONFIG)
        i = warmed(chain, detector)
        snapshot = chain.next(at(i))
        snapshot.volume[[4, 17]] += 5_000
        return detector.observe(snapshot, at(i) + timedelta(milliseconds=3))

    first, second = run(), run()
    assert [s.id for s in first] == [s.id for s in second]
    assert len({s.id for s in first}) == len(first) == 2


def test_signals_live_for_the_configured_ttl(chain: QuietChain) -> None:
    detector = Detector(CONFIG.model_copy(update={"signal_ttl_s": 12.5}))
    i = warmed(chain, detector)
    snapshot = chain.next(at(i))
    snapshot.volume[0] += 5_000
    now = at(i) + timedelta(milliseconds=40)
    (signal,) = detector.observe(snapshot, now)
    assert signal.created_at == now
    assert signal.expires_at == now + timedelta(seconds=12.5)


def test_nothing_is_raised_before_the_baseline_is_full(chain: QuietChain) -> None:
    detector = Detector(CONFIG)
    for i in range(CONFIG.baseline_window):
        snapshot = chain.next(at(i))
        snapshot.volume[0] += 5_000 * (i + 1)
        snapshot.implied_vol[1] *= 2 if i % 2 else 1
        assert detector.observe(snapshot, at(i)) == []


def test_the_number_of_signals_per_snapshot_is_capped_keeping_the_strongest() -> None:
    def run(cap: int) -> list[Signal]:
        chain = QuietChain(expiries=3, strikes=40, seed=11)
        detector = Detector(CONFIG.model_copy(update={"max_signals_per_snapshot": cap}))
        i = warmed(chain, detector)
        snapshot = chain.next(at(i))
        snapshot.volume[:10] += np.arange(1, 11) * 1_000
        return detector.observe(snapshot, at(i))

    everything, capped = run(100), run(3)
    assert len(everything) == 10
    assert capped == sorted(everything, key=lambda s: -s.score)[:3]


def test_missing_and_impossible_values_are_ignored_not_flagged(chain: QuietChain) -> None:
    detector = Detector(CONFIG)
    i = warmed(chain, detector)
    snapshot = chain.next(at(i))
    snapshot.implied_vol[:5] = np.nan
    snapshot.implied_vol[5:8] = -1.0
    snapshot.volume[8] = -100
    snapshot.open_interest[9] = np.nan
    assert detector.observe(snapshot, at(i)) == []
    # The next snapshot scores against a baseline the bad values did not disturb.
    assert detector.observe(chain.next(at(i + 1)), at(i + 1)) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"contracts": ()}, "empty_chain"),
        ({"spot": float("nan")}, "bad_spot"),
        ({"spot": -1.0}, "bad_spot"),
        ({"taken_at": datetime(2026, 11, 24, 15, 0)}, "naive_time"),
        ({"taken_at": START}, "stale"),
    ],
)
def test_unusable_snapshots_are_refused_with_a_reason(
    chain: QuietChain, change: dict[str, object], reason: str
) -> None:
    detector = Detector(CONFIG)
    detector.observe(chain.next(at(0)), at(0))
    good = chain.next(at(1))
    fields = {name: getattr(good, name) for name in ChainSnapshot.__dataclass_fields__}
    if change.get("contracts") == ():
        fields.update({name: np.empty(0) for name in ("bid", "ask", "last", "volume")})
        fields.update({n: np.empty(0) for n in ("open_interest", "implied_vol", "delta")})
    fields.update(change)
    with pytest.raises(UnusableSnapshot) as refused:
        detector.observe(ChainSnapshot(**fields), at(1))  # type: ignore[arg-type]
    assert refused.value.reason == reason
    assert detector.observe(good, at(1)) == []  # and the detector carries on


def test_a_recentred_chain_keeps_the_history_of_the_strikes_it_kept() -> None:
    wide = QuietChain(expiries=2, strikes=40, seed=9)
    detector = Detector(CONFIG)
    i = warmed(wide, detector)
    # Drop the lowest ten strikes: every remaining contract is still warm, so a surge shows at once.
    keep = [k for k, c in enumerate(wide.contracts) if float(c.strike) >= wide.spot - 10]
    full = wide.next(at(i))
    narrow = ChainSnapshot(
        taken_at=full.taken_at,
        spot=full.spot,
        contracts=tuple(wide.contracts[k] for k in keep),
        **{
            name: getattr(full, name)[keep]
            for name in ("bid", "ask", "last", "volume", "open_interest", "implied_vol", "delta")
        },
    )
    narrow.volume[3] += 5_000
    assert kinds(detector.observe(narrow, at(i))) == {
        (narrow.contracts[3].local_symbol, "volume surge")
    }
