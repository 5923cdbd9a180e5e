"""Telegram's Bot API over httpx: alerts as messages (Notifier), and the updates a bot polls.

The token is part of every URL (`/bot<token>/<method>`), so URLs are never logged here; the
services keep httpx's own request logging below INFO for the same reason. Errors come back as
{"ok": false, "error_code", "description"}; a 409 means another poller took over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from system.ports import Alert


class TelegramError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"Telegram {code}: {description}")
        self.code = code


class TelegramBot:
    def __init__(
        self, token: str, base_url: str = "https://api.telegram.org", timeout_s: float = 10.0
    ) -> None:
        self._client = httpx.AsyncClient(base_url=f"{base_url.rstrip('/')}/bot{token}")
        self._timeout_s = timeout_s

    async def _call(self, method: str, params: dict[str, Any], timeout_s: float) -> Any:
        try:
            response = await self._client.post(f"/{method}", json=params, timeout=timeout_s)
        except httpx.HTTPError as error:
            raise TelegramError(0, f"{method}: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise TelegramError(response.status_code, f"{method}: not JSON") from None
        if not body.get("ok"):
            raise TelegramError(
                int(body.get("error_code", response.status_code)), str(body.get("description"))
            )
        return body["result"]

    async def send_message(self, chat_id: int, text: str) -> None:
        await self._call("sendMessage", {"chat_id": chat_id, "text": text[:4096]}, self._timeout_s)

    async def get_updates(self, offset: int, timeout_s: int) -> list[dict[str, Any]]:
        """Long poll: returns at once if updates are queued, else after `timeout_s`."""
        result = await self._call(
            "getUpdates",
            {"offset": offset, "timeout": timeout_s, "allowed_updates": ["message"]},
            timeout_s + self._timeout_s,
        )
        return list(result)

    async def aclose(self) -> None:
        await self._client.aclose()


class TelegramNotifier:
    def __init__(self, bot: TelegramBot, chat_ids: Sequence[int]) -> None:
        if not chat_ids:
            raise ValueError("a Telegram notifier needs at least one chat id")
        self._bot = bot
        self._chat_ids = list(chat_ids)

    async def notify(self, alert: Alert) -> None:
        text = f"[{alert.severity.value}] {alert.title}\n{alert.body}".strip()
        for chat_id in self._chat_ids:
            await self._bot.send_message(chat_id, text)
