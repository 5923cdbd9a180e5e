"""Rolling median and MAD of many series at once, in O(window) numpy work per step.

Each series (one column) keeps its last `window` values twice: in arrival order (to know which
value leaves) and sorted (so the median is one row and the MAD a short min/max reduction).
Sorting anew every snapshot costs milliseconds for 24,000 short series; keeping them sorted
costs a handful of element-wise passes into preallocated buffers (fresh multi-megabyte
temporaries would page-fault on every step). Values are kept as float32, which halves the memory
traffic and is exact for counts below 16 million.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Stored = npt.NDArray[np.float32]
Ints = npt.NDArray[np.intp]

MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution times this is its standard deviation


@dataclass(frozen=True, slots=True)
class Stats:
    median: Stored
    mad: Stored
    warm: npt.NDArray[np.bool_]  # the series has a full window of observations


class RollingMedian:
    def __init__(self, window: int, width: int) -> None:
        if window % 2 == 0:
            raise ValueError("window must be odd")
        self.window = window
        self._allocate(width)

    def _allocate(self, width: int) -> None:
        window, half = self.window, self.window // 2
        # +inf marks "no observation yet": it sorts last, so it is the one a new value replaces.
        self._arrivals = np.full((window, width), np.inf, dtype=np.float32)
        self._sorted = np.full((window, width), np.inf, dtype=np.float32)
        self._next = 0  # the arrivals row that leaves next
        self._count = np.zeros(width, dtype=np.intp)
        self._width = width
        self._below = np.empty((window - 1, width), dtype=np.bool_)
        self._mask = np.empty((window - 1, width), dtype=np.int32)
        self._bits = np.empty((window - 1, width), dtype=np.int32)
        self._kept = np.empty((window - 1, width), dtype=np.float32)
        self._scratch = np.empty((window - 2, width), dtype=np.float32)
        self._low = np.full((half + 1, width), -np.inf, dtype=np.float32)
        self._high = np.full((half + 1, width), -np.inf, dtype=np.float32)

    @property
    def width(self) -> int:
        return self._width

    def stats(self) -> Stats:
        half = self.window // 2
        ordered = self._sorted
        median = ordered[half].copy()
        # The MAD is the half-th smallest deviation. Below and above the median the sorted
        # deviations are two ascending runs; the k-th smallest of two sorted runs is
        # min over splits i of max(low[i], high[k - i]), an empty prefix being -inf.
        low, high = self._low, self._high
        with np.errstate(invalid="ignore"):
            np.subtract(median, ordered[half - 1 :: -1][:half], out=low[1:])
            np.subtract(ordered[half + 1 :], median, out=high[1:])
            np.maximum(low, high[::-1], out=low)
        mad = low.min(axis=0)
        low[0] = -np.inf
        return Stats(median=median, mad=mad, warm=self._count >= self.window)

    def push(self, values: Floats | Stored) -> None:
        """Adds one observation per series. NaN means "none this time": the series repeats its
        last value (the baseline holds its shape) without counting towards a full window."""
        missing = np.isnan(values)
        leaving = self._arrivals[self._next]
        last = self._arrivals[self._next - 1]
        arriving = np.where(missing, last, values).astype(np.float32)
        ordered, kept = self._sorted, self._kept
        # Remove one copy of `leaving`: everything from its first position shifts left. The
        # select is a bit blend on the float32 bits: a masked copy with a data-dependent mask
        # mispredicts branches and costs five times as much.
        below, mask, bits = self._below, self._mask, self._bits
        ordered_bits, kept_bits = ordered.view(np.int32), kept.view(np.int32)
        np.less(ordered[:-1], leaving, out=below)
        np.negative(below.view(np.int8), out=mask, casting="unsafe")  # all ones where below
        np.bitwise_and(ordered_bits[:-1], mask, out=bits)
        np.invert(mask, out=mask)
        np.bitwise_and(ordered_bits[1:], mask, out=kept_bits)
        np.bitwise_or(kept_bits, bits, out=kept_bits)
        # Insert `arriving`: row i becomes the middle of (kept[i-1], arriving, kept[i]).
        np.minimum(kept[0], arriving, out=ordered[0])
        np.minimum(kept[1:], arriving, out=self._scratch)
        np.maximum(kept[:-1], self._scratch, out=ordered[1:-1])
        np.maximum(kept[-1], arriving, out=ordered[-1])
        self._arrivals[self._next] = arriving
        self._next = (self._next + 1) % self.window
        self._count += ~missing

    def reindex(self, source: Ints) -> None:
        """New column layout: column j takes old column source[j], or starts empty where -1."""
        kept = source >= 0
        taken = source[kept]
        arrivals, ordered = self._arrivals[:, taken], self._sorted[:, taken]
        following, count = self._next, self._count[taken]
        self._allocate(source.size)
        self._arrivals[:, kept] = arrivals
        self._sorted[:, kept] = ordered
        self._next = following
        self._count[kept] = count
