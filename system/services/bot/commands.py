"""Remote commands over Telegram: /status, /positions, /halt, /resume, for authorised chats only.

Only the leader polls getUpdates (Telegram allows one poller per bot, and only the leader can
act). A message from any other chat is refused, and the attempt is logged and counted. The
offset of the last update handled is confirmed with the next poll, so a command is answered
once even across a leader change (the new leader starts from what Telegram still holds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from system.adapters.notify_telegram import TelegramBot, TelegramError
from system.edge.backoff import Backoff
from system.services.bot.metrics import BotMetrics

log = logging.getLogger(__name__)

HELP = "Commands: /status, /positions, /halt [reason], /resume"
KNOWN = frozenset({"/status", "/positions", "/halt", "/resume"})


class Operator:
    """What the commands act on (the bot service)."""

    def __init__(
        self,
        status: Callable[[], Mapping[str, Any]],
        positions: Callable[[], Awaitable[Mapping[str, int]]],
        halt: Callable[[str], Awaitable[None]],
        resume: Callable[[], Awaitable[None]],
    ) -> None:
        self.status = status
        self.positions = positions
        self.halt = halt
        self.resume = resume


class Commands:
    def __init__(
        self,
        bot: TelegramBot,
        operator: Operator,
        authorised: frozenset[int],
        metrics: BotMetrics,
        poll_s: int,
        backoff: Backoff,
    ) -> None:
        self._bot = bot
        self._operator = operator
        self._authorised = authorised
        self._metrics = metrics
        self._poll_s = poll_s
        self._backoff = backoff
        self._offset = 0

    async def answer(self, chat_id: int, sender: str, text: str) -> str:
        command, _, rest = text.strip().partition(" ")
        name = command.split("@", 1)[0].lower()
        label = name if name in KNOWN else "other"
        if chat_id not in self._authorised:
            log.warning(
                "refused command %r from unauthorised chat %d (%s)", name[:40], chat_id, sender
            )
            self._metrics.commands.labels(label, "refused").inc()
            return "Not authorised."
        reply: str
        if name == "/status":
            reply = "\n".join(f"{k}: {v}" for k, v in self._operator.status().items())
        elif name == "/positions":
            held = await self._operator.positions()
            reply = "\n".join(f"{s}: {q}" for s, q in sorted(held.items())) or "No positions."
        elif name == "/halt":
            reason = f"halted via Telegram by {sender} ({chat_id})" + (f": {rest}" if rest else "")
            await self._operator.halt(reason)
            reply = "Trading halted: no new orders until /resume."
        elif name == "/resume":
            await self._operator.resume()
            reply = "Trading resumed."
        else:
            self._metrics.commands.labels(label, "ok").inc()
            return HELP
        log.info("command %s from chat %d (%s)", name, chat_id, sender)
        self._metrics.commands.labels(name, "ok").inc()
        return reply

    async def handle(self, update: Mapping[str, Any]) -> None:
        message = update.get("message") or {}
        text = message.get("text")
        chat = message.get("chat") or {}
        if not isinstance(text, str) or not isinstance(chat.get("id"), int):
            return
        sender = (message.get("from") or {}).get("username") or str(chat["id"])
        reply = await self.answer(chat["id"], str(sender), text)
        await self._bot.send_message(chat["id"], reply)

    async def run(self) -> None:
        """Long-poll forever (the leader cancels it when it steps down)."""
        attempt = 0
        while True:
            try:
                updates = await self._bot.get_updates(self._offset, self._poll_s)
            except TelegramError as error:
                pause = self._backoff.delay(attempt)
                log.warning("getUpdates failed (%s); again in %.1f s", error, pause)
                attempt += 1
                await asyncio.sleep(pause)
                continue
            attempt = 0
            for update in updates:
                self._offset = max(self._offset, int(update["update_id"]) + 1)
                try:
                    await self.handle(update)
                except TelegramError as error:
                    log.warning("could not answer a command: %s", error)
