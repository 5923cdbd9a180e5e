"""Market data as the detector consumes it: one option-chain snapshot, column-wise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from system.domain.contracts import OptionContract

Column = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class ChainSnapshot:
    """Every quote of the chain at one moment; column i describes contracts[i]. Columns keep the
    detector vectorised: scoring 8,000 contracts is a handful of numpy operations."""

    taken_at: datetime
    spot: float
    contracts: tuple[OptionContract, ...]
    bid: Column
    ask: Column
    last: Column
    volume: Column
    open_interest: Column
    implied_vol: Column
    delta: Column

    def __post_init__(self) -> None:
        n = len(self.contracts)
        for name in ("bid", "ask", "last", "volume", "open_interest", "implied_vol", "delta"):
            column = getattr(self, name)
            if column.shape != (n,):
                raise ValueError(f"column {name} has shape {column.shape}, expected ({n},)")


@dataclass(frozen=True, slots=True)
class SkippedMessage:
    """A market-data message a source could not turn into a snapshot. Sources yield it instead of
    raising, so a consumer counts it and goes on; `reason` is a short stable label."""

    reason: str
    detail: str = ""
