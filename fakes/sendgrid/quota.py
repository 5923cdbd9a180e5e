"""SendGrid's daily email credits: each recipient of a queued send uses one; reset each UTC day."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

FREE_TIER_PER_DAY = 100


class DailyQuota:
    def __init__(self, per_day: int, clock: Callable[[], float] = time.time) -> None:
        self.per_day = per_day
        self._clock = clock
        self._day = self._today()
        self.used = 0

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).date().isoformat()

    def take(self, emails: int) -> bool:
        """Use `emails` credits if that many are left today; a send that would overrun uses none."""
        if (today := self._today()) != self._day:
            self._day, self.used = today, 0
        if self.used + emails > self.per_day:
            return False
        self.used += emails
        return True
