"""The rolling baseline agrees with numpy's median and MAD over the same windows."""

from __future__ import annotations

import numpy as np
import pytest

from system.detector.baseline import RollingMedian


def reference(history: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, MAD and warmth per column, a missing value repeating the column's last one."""
    carried = history.copy()
    for t in range(1, len(carried)):
        gap = np.isnan(carried[t])
        carried[t, gap] = carried[t - 1, gap]
    recent = carried[-window:]
    median = np.median(recent, axis=0)
    mad = np.median(np.abs(recent - median), axis=0)
    warm = (~np.isnan(history)).sum(axis=0) >= window
    return median, mad, warm


@pytest.mark.parametrize("window", [5, 15, 21])
def test_median_and_mad_match_numpy(window: int) -> None:
    rng = np.random.default_rng(window)
    width = 300
    history = np.round(rng.normal(size=(4 * window, width)) * rng.integers(1, 9, width), 1)
    history[rng.random(history.shape) < 0.15] = np.nan  # gaps, including before the first value
    baseline = RollingMedian(window, width)
    for row in history:
        baseline.push(row)
    median, mad, warm = reference(history, window)
    stats = baseline.stats()
    np.testing.assert_array_equal(stats.warm, warm)
    assert warm.sum() > width // 2
    np.testing.assert_allclose(stats.median[warm], median[warm], rtol=1e-6)
    np.testing.assert_allclose(stats.mad[warm], mad[warm], rtol=1e-5, atol=1e-6)


def test_reindex_carries_kept_columns_and_empties_new_ones() -> None:
    baseline = RollingMedian(5, 3)
    for value in range(1, 6):
        baseline.push(np.array([value, 10.0 * value, 100.0 * value]))
    baseline.reindex(np.array([2, -1, 0]))
    stats = baseline.stats()
    assert stats.warm.tolist() == [True, False, True]
    assert (stats.median[0], stats.median[2]) == (300.0, 3.0)
    assert (stats.mad[0], stats.mad[2]) == (100.0, 1.0)


def test_an_even_window_is_refused() -> None:
    with pytest.raises(ValueError, match="odd"):
        RollingMedian(4, 1)
