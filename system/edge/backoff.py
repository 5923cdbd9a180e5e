"""Exponential backoff with full jitter: retries that do not hammer, replicas that do not march
in lockstep. Attempt 0 waits up to `first_s`; each failure doubles the cap up to `max_s`."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float
    max_s: float

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s:
            raise ValueError("backoff needs 0 < first_s <= max_s")

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_s, self.first_s * 2 ** min(attempt, 32)))
