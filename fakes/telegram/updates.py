"""The bot's incoming updates and getUpdates' long polling, with Telegram's offset rules.

An update stays queued until a getUpdates call passes an offset above its update_id (confirming
it). A negative offset keeps only the last -offset updates. A getUpdates arriving while another
one waits ends the waiting one with Conflict, as Telegram does when two bot instances poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

MAX_LIMIT = 100
MAX_TIMEOUT_S = 50
# What Telegram marks as a bot command: /name or /name@botname, not inside a word.
_COMMAND = re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class Conflict(Exception):
    """This long poll was superseded by a newer getUpdates."""


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities Telegram attaches to a user's message text (UTF-16 offsets)."""

    def utf16_len(part: str) -> int:
        return len(part.encode("utf-16-le")) // 2

    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _COMMAND.finditer(text)
    ]


class UpdateQueue:
    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._next_id = 1
        self._polls = 0
        self._changed = asyncio.Condition()

    async def push(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (e.g. {"message": {...}}); returns it with its update_id."""
        async with self._changed:
            update = {"update_id": self._next_id, **payload}
            self._next_id += 1
            self._pending.append(update)
            self._changed.notify_all()
        return update

    def drop_pending(self) -> None:
        self._pending.clear()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def poll(self, offset: int, limit: int, timeout_s: float) -> list[dict[str, Any]]:
        """getUpdates: confirm below `offset`, then wait up to `timeout_s` for an update."""
        limit = min(max(limit, 1), MAX_LIMIT)
        timeout_s = min(max(timeout_s, 0.0), MAX_TIMEOUT_S)
        self._polls += 1
        mine = self._polls
        async with self._changed:
            if offset < 0:
                del self._pending[:offset]
            elif offset > 0:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._changed.notify_all()  # an older poll wakes up and ends with Conflict
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._changed.wait_for(lambda: bool(self._pending) or self._polls != mine)
            if self._polls != mine:
                raise Conflict
            return self._pending[:limit]
