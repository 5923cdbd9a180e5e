"""Pure numpy scoring: robust z-scores against a baseline, and put/call skew per expiry."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from system.detector.baseline import MAD_TO_SIGMA, Floats, Ints, Stats

Mask = npt.NDArray[np.bool_]


def robust_z(values: Floats, baseline: Stats, floor: Floats | float) -> Floats:
    """(x - median) / robust sigma; NaN where the baseline is not warm or x is missing. The floor
    keeps a series that never moved (MAD 0) from turning any tick into an anomaly."""
    scale = np.maximum(baseline.mad * MAD_TO_SIGMA, floor)
    with np.errstate(invalid="ignore"):
        z: Floats = (values - baseline.median) / scale
    z[~baseline.warm] = np.nan
    return z


def usable(column: Floats, positive: bool = False) -> Floats:
    """The column with impossible entries (negative counts, non-positive vols) as missing."""
    with np.errstate(invalid="ignore"):
        bad = column <= 0 if positive else column < 0
    return np.where(bad, np.nan, column)


def skew_by_expiry(
    implied_vol: Floats,
    delta: Floats,
    is_call: Mask,
    expiry_index: Ints,
    expiries: int,
    delta_low: float,
    delta_high: float,
) -> Floats:
    """Mean IV of out-of-the-money puts minus that of calls, both within the |delta| band, per
    expiry; NaN where either side has no quote in the band."""
    with np.errstate(invalid="ignore"):
        in_band = (np.abs(delta) >= delta_low) & (np.abs(delta) <= delta_high)
    in_band &= ~np.isnan(implied_vol)
    wings = []
    for side in (~is_call, is_call):
        picked = in_band & side
        total = np.bincount(expiry_index[picked], implied_vol[picked], minlength=expiries)
        count = np.bincount(expiry_index[picked], minlength=expiries)
        with np.errstate(invalid="ignore", divide="ignore"):
            wings.append(total / count)
    return wings[0] - wings[1]


def nearest_delta(delta: Floats, candidates: Mask, target: float) -> int | None:
    """Index of the candidate whose delta is closest to target, if any has a delta."""
    distance = np.where(candidates, np.abs(delta - target), np.nan)
    if np.isnan(distance).all():
        return None
    return int(np.nanargmin(distance))
