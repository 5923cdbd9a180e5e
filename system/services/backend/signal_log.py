"""The signals this backend raised lately, in memory, ordered by (created_at, id) for paging.

Each signal is kept with its JSON as well: a page is then a join of ready-made bytes, which
is what lets one worker serve thousands of pages a second.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from system.domain.signals import Signal

Key = tuple[datetime, str]


class SignalLog:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: list[Key] = []
        self._json: list[bytes] = []

    def add(self, signal: Signal) -> None:
        key = (signal.created_at, signal.id)
        at = bisect.bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            return  # the same signal again
        self._keys.insert(at, key)
        self._json.insert(at, signal.model_dump_json().encode())
        # Trim in chunks: deleting from the front of a list is O(n).
        if len(self._keys) > self._capacity + max(1, self._capacity // 10):
            excess = len(self._keys) - self._capacity
            del self._keys[:excess], self._json[:excess]

    def page(
        self,
        since: datetime | None,
        until: datetime | None,
        after: Key | None,
        limit: int,
    ) -> tuple[list[bytes], Key | None]:
        """Signals (as JSON) with since <= created_at < until, after the cursor key, at most
        `limit`; and the cursor of the next page, if there is one."""
        start = 0
        if since is not None:
            start = bisect.bisect_left(self._keys, (since, ""))
        if after is not None:
            start = max(start, bisect.bisect_right(self._keys, after))
        stop = len(self._keys) if until is None else bisect.bisect_left(self._keys, (until, ""))
        end = min(stop, start + limit)
        items = self._json[start:end]
        following = self._keys[end - 1] if end < stop and items else None
        return items, following

    def __len__(self) -> int:
        return len(self._keys)
