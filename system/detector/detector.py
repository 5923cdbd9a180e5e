"""The anomaly detector: one chain snapshot in, the signals it warrants out.

Per contract it keeps a rolling baseline (median, MAD) of three series: the volume traded since
the previous snapshot, the open interest and the implied volatility; per expiry, one of the
put/call skew. A value more robust standard deviations away from its own baseline than the
configured threshold is an anomaly. Scores are computed for the whole chain at once; Python
loops run only over the few anomalies found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from system.detector.baseline import Floats, Ints, RollingMedian
from system.detector.config import DetectorConfig
from system.detector.scoring import Mask, nearest_delta, robust_z, skew_by_expiry, usable
from system.domain.contracts import OptionContract, Right
from system.domain.market import ChainSnapshot
from system.domain.signals import Side, Signal, signal_id

VOLUME_SURGE = "volume_surge"
OPEN_INTEREST_SURGE = "open_interest_surge"
IMPLIED_VOL_JUMP = "implied_vol_jump"
SKEW_SHIFT = "skew_shift"


class UnusableSnapshot(ValueError):
    """The snapshot cannot be scored; `reason` is a short stable label for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the detector derives once per distinct chain (order of contracts)."""

    contracts: tuple[OptionContract, ...]
    is_call: Mask
    expiries: tuple[date, ...]
    expiry_index: Ints

    @classmethod
    def of(cls, contracts: tuple[OptionContract, ...]) -> _Layout:
        expiries = tuple(sorted({contract.expiry for contract in contracts}))
        position = {expiry: i for i, expiry in enumerate(expiries)}
        return cls(
            contracts=contracts,
            is_call=np.array([c.right is Right.CALL for c in contracts], dtype=np.bool_),
            expiries=expiries,
            expiry_index=np.fromiter((position[c.expiry] for c in contracts), np.intp),
        )


@dataclass(frozen=True, slots=True)
class _Finding:
    kind: str
    index: int
    side: Side
    score: float
    reason: str


def _reference_price(snapshot: ChainSnapshot, i: int) -> Decimal | None:
    """The mid of a sane quote, else the last trade: what the edge prices its order from."""
    bid, ask, last = float(snapshot.bid[i]), float(snapshot.ask[i]), float(snapshot.last[i])
    price = (bid + ask) / 2 if 0 < bid <= ask else last
    if not (math.isfinite(price) and price > 0):
        return None
    return Decimal(f"{price:.4f}") or None


def _source(old: tuple[object, ...], new: tuple[object, ...]) -> Ints:
    """For each item of `new`, its position in `old`, or -1."""
    where = {item: i for i, item in enumerate(old)}
    return np.fromiter((where.get(item, -1) for item in new), np.intp, len(new))


class Detector:
    """Stateful only through its baselines; the same snapshots in the same order with the same
    config give the same signals with the same ids."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self._layout = _Layout.of(())
        self._contracts = RollingMedian(config.baseline_window, 0)
        self._skew = RollingMedian(config.baseline_window, 0)
        self._previous_volume: Floats = np.empty(0)
        self._last_taken_at: datetime | None = None
        self._floors: Floats = np.empty(0)

    def observe(self, snapshot: ChainSnapshot, now: datetime) -> list[Signal]:
        """Scores the snapshot against the baselines, then adds it to them."""
        self._check(snapshot)
        self._adopt(snapshot.contracts)
        layout, config, n = self._layout, self.config, len(snapshot.contracts)

        volume = usable(snapshot.volume)
        increment = volume - self._previous_volume
        increment[increment < 0] = np.nan  # a counter reset (new session) is no trade
        open_interest = usable(snapshot.open_interest)
        implied_vol = usable(snapshot.implied_vol, positive=True)
        series = np.concatenate((increment, open_interest, implied_vol))
        skew = skew_by_expiry(
            implied_vol,
            snapshot.delta,
            layout.is_call,
            layout.expiry_index,
            len(layout.expiries),
            config.skew_delta_low,
            config.skew_delta_high,
        )

        contract_stats, skew_stats = self._contracts.stats(), self._skew.stats()
        z = robust_z(series, contract_stats, self._floors)
        z_skew = robust_z(skew, skew_stats, config.skew_min_scale)
        self._contracts.push(series)
        self._skew.push(skew)
        self._previous_volume = volume
        self._last_taken_at = snapshot.taken_at

        medians = contract_stats.median
        findings: list[_Finding] = []
        with np.errstate(invalid="ignore"):
            surging = (
                (z[:n] > config.volume_z)
                & (increment >= config.volume_min_increment)
                & (increment >= config.volume_min_ratio * medians[:n])
            )
            oi_surging = z[n : 2 * n] > config.open_interest_z
            jumping = np.abs(z[2 * n :]) > config.implied_vol_z
            shifting = np.abs(z_skew) > config.skew_z
        mid = (snapshot.bid + snapshot.ask) / 2
        for i in np.flatnonzero(surging).tolist():
            findings.append(
                _Finding(
                    VOLUME_SURGE,
                    i,
                    # Trades at or above the mid were most likely buyer-initiated.
                    Side.SELL if snapshot.last[i] < mid[i] else Side.BUY,
                    float(z[i]),
                    f"volume surge: {increment[i]:.0f} traded since the last snapshot, "
                    f"baseline median {medians[i]:.0f} ({z[i]:.1f} robust sd)",
                )
            )
        for i in np.flatnonzero(oi_surging).tolist():
            findings.append(
                _Finding(
                    OPEN_INTEREST_SURGE,
                    i,
                    Side.BUY,
                    float(z[n + i]),
                    f"open interest surge: {open_interest[i]:.0f}, "
                    f"baseline median {medians[n + i]:.0f} ({z[n + i]:.1f} robust sd)",
                )
            )
        for i in np.flatnonzero(jumping).tolist():
            up = z[2 * n + i] > 0
            findings.append(
                _Finding(
                    IMPLIED_VOL_JUMP,
                    i,
                    Side.BUY if up else Side.SELL,
                    float(abs(z[2 * n + i])),
                    f"implied vol {'jump' if up else 'drop'}: {implied_vol[i]:.4f}, "
                    f"baseline median {medians[2 * n + i]:.4f} ({z[2 * n + i]:+.1f} robust sd)",
                )
            )
        for e in np.flatnonzero(shifting).tolist():
            # Puts richening: buy the put wing's representative; calls richening: the call's.
            puts_rich = z_skew[e] > 0
            wing = layout.expiry_index == e
            wing &= ~layout.is_call if puts_rich else layout.is_call
            target = -config.skew_target_delta if puts_rich else config.skew_target_delta
            pick = nearest_delta(snapshot.delta, wing, target)
            if pick is None:
                continue
            findings.append(
                _Finding(
                    SKEW_SHIFT,
                    pick,
                    Side.BUY,
                    float(abs(z_skew[e])),
                    f"put/call skew shift in {layout.expiries[e]}: {skew[e]:+.4f}, "
                    f"baseline median {skew_stats.median[e]:+.4f} ({z_skew[e]:+.1f} robust sd)",
                )
            )
        findings.sort(key=lambda f: (-f.score, f.kind, f.index))
        return [
            self._signal(snapshot, finding, now)
            for finding in findings[: config.max_signals_per_snapshot]
        ]

    def _signal(self, snapshot: ChainSnapshot, finding: _Finding, now: datetime) -> Signal:
        contract = snapshot.contracts[finding.index]
        return Signal(
            reference_price=_reference_price(snapshot, finding.index),
            id=signal_id(snapshot.taken_at, contract, finding.side, finding.kind),
            created_at=now,
            contract=contract,
            side=finding.side,
            score=finding.score,
            reason=finding.reason,
            expires_at=now + timedelta(seconds=self.config.signal_ttl_s),
        )

    def _check(self, snapshot: ChainSnapshot) -> None:
        if not snapshot.contracts:
            raise UnusableSnapshot("empty_chain", "the snapshot has no contracts")
        if snapshot.taken_at.tzinfo is None:
            raise UnusableSnapshot("naive_time", f"taken_at {snapshot.taken_at} has no timezone")
        if not (np.isfinite(snapshot.spot) and snapshot.spot > 0):
            raise UnusableSnapshot("bad_spot", f"spot {snapshot.spot} is not a positive price")
        if self._last_taken_at is not None and snapshot.taken_at <= self._last_taken_at:
            raise UnusableSnapshot(
                "stale",
                f"taken_at {snapshot.taken_at.isoformat()} is not after "
                f"{self._last_taken_at.isoformat()}",
            )

    def _adopt(self, contracts: tuple[OptionContract, ...]) -> None:
        """Re-lays the baselines out when the chain changed (strikes re-centred, expiries
        rolled); a contract seen before keeps its history, a new one starts empty."""
        old = self._layout
        if contracts is old.contracts:
            return
        if contracts == old.contracts:
            self._layout = _Layout(contracts, old.is_call, old.expiries, old.expiry_index)
            return
        new = _Layout.of(contracts)
        source = _source(old.contracts, contracts)
        n_old = len(old.contracts)
        shifted = [np.where(source < 0, -1, source + k * n_old) for k in range(3)]
        self._contracts.reindex(np.concatenate(shifted))
        self._skew.reindex(_source(old.expiries, new.expiries))
        previous = np.full(len(contracts), np.nan)
        previous[source >= 0] = self._previous_volume[source[source >= 0]]
        self._previous_volume = previous
        config, n = self.config, len(contracts)
        self._floors = np.repeat(
            [config.volume_min_scale, config.open_interest_min_scale, config.implied_vol_min_scale],
            n,
        )
        self._layout = new
