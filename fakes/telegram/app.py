"""The Telegram Bot API fake: /bot<token>/<method> for getMe, sendMessage, getUpdates, webhooks.

Parameters come from the query string, a form-encoded body or a JSON body, as Telegram accepts.
Admin (besides the common /__admin routes): GET/DELETE /__admin/messages, what the bot sent;
POST /__admin/updates {"chat_id", "text", ...} delivers a user's message (e.g. "/status").
"""

from __future__ import annotations

import itertools
import json
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from fakes.common import Journal, ServiceError, admin_body, fake_app
from fakes.common.body import media_type, read_body
from fakes.telegram.updates import Conflict, UpdateQueue, command_entities

# Telegram accepts uploads up to 50 MB; nothing this fake serves needs more.
MAX_BODY_BYTES = 50 * 1024 * 1024
MAX_TEXT = 4096
PARSE_MODES = {"markdown", "markdownv2", "html"}
# Supergroups and channels have ids -100…, below this; plain groups are small negatives.
_SUPERGROUP_IDS_BELOW = -1_000_000_000_000

Params = dict[str, Any]


def render_error(error: ServiceError) -> Response:
    if error.message:
        description = error.message
    elif error.status == 429:
        description = f"Too Many Requests: retry after {error.retry_after or 1}"
    else:
        description = HTTPStatus(error.status).phrase
    body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": description}
    if error.retry_after is not None or error.status == 429:
        body["parameters"] = {"retry_after": error.retry_after or 1}
    return JSONResponse(body, status_code=error.status)


def bad_request(what: str) -> ServiceError:
    return ServiceError(400, f"Bad Request: {what}")


class UserMessage(BaseModel):
    """A message a user sends to the bot, injected by a test."""

    chat_id: int
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    first_name: str = "Operator"
    username: str | None = None


async def _params(request: Request) -> Params:
    params: Params = dict(request.query_params)
    body = await read_body(request, MAX_BODY_BYTES)
    if not body:
        return params
    kind = media_type(request)
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("can't parse JSON object")
        params.update(data)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    # Telegram ignores a body of any other type; its parameters then count as missing.
    return params


def _int(params: Params, name: str, default: int) -> int:
    value = params.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


class BotApi:
    def __init__(self, token: str, journal: Journal, clock: Callable[[], float] = time.time):
        self.token = token
        self.journal = journal
        self.updates = UpdateQueue()
        self._clock = clock
        self._message_ids: defaultdict[int, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        bot_id = int(token.split(":", 1)[0])
        self.me = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "spy-hybrid alerts",
            "username": f"spyh_{bot_id}_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }

    def routes(self) -> list[Route]:
        return [Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])]

    def admin_routes(self) -> list[Route]:
        return [*self.journal.routes(), Route("/updates", self._inject, methods=["POST"])]

    async def _dispatch(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            raise ServiceError(401, "Unauthorized")
        method = self._methods.get(request.path_params["method"].lower())
        if method is None:
            raise ServiceError(404, "Not Found")
        result = await method(await _params(request))
        return JSONResponse({"ok": True, "result": result})

    def _now(self) -> int:
        return int(self._clock())

    def _chat(self, params: Params) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@") and len(raw) > 1:
            # A public channel by username; Telegram resolves it to a stable -100… id.
            channel_id = _SUPERGROUP_IDS_BELOW - zlib.crc32(raw.lower().encode())
            return {"id": channel_id, "type": "channel", "title": raw[1:], "username": raw[1:]}
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id > 0:
            return {"id": chat_id, "type": "private"}
        kind = "supergroup" if chat_id < _SUPERGROUP_IDS_BELOW else "group"
        return {"id": chat_id, "type": kind, "title": ""}

    async def _get_me(self, _params: Params) -> dict[str, Any]:
        return self.me

    async def _send_message(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        parse_mode = params.get("parse_mode")
        if parse_mode and str(parse_mode).lower() not in PARSE_MODES:
            raise bad_request(f"unsupported parse_mode {parse_mode}")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat["id"]]),
            "from": self.me,
            "chat": chat,
            "date": self._now(),
            "text": text,
        }
        if markup := self._inline_keyboard(params.get("reply_markup")):
            message["reply_markup"] = markup
        self.journal.record(
            {
                "method": "sendMessage",
                "chat_id": chat["id"],
                "text": text,
                "parse_mode": parse_mode,
                "message": message,
            }
        )
        return message

    @staticmethod
    def _inline_keyboard(raw: Any) -> dict[str, Any] | None:
        """The reply_markup Telegram echoes in the sent message: inline keyboards only."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise bad_request("can't parse reply keyboard markup JSON object") from None
        if isinstance(raw, dict) and "inline_keyboard" in raw:
            return raw
        return None

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        try:
            return await self.updates.poll(
                offset=_int(params, "offset", 0),
                limit=_int(params, "limit", 100),
                timeout_s=_int(params, "timeout", 0),
            )
        except Conflict:
            raise ServiceError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            ) from None

    async def _delete_webhook(self, params: Params) -> bool:
        if str(params.get("drop_pending_updates", "")).lower() in {"true", "1"}:
            self.updates.drop_pending()
        return True

    async def _get_webhook_info(self, _params: Params) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": self.updates.pending,
        }

    async def _inject(self, request: Request) -> JSONResponse:
        sent = await admin_body(request, UserMessage)
        # A user writing to the bot directly: a private chat whose id is the user's id.
        who: dict[str, Any] = {"id": sent.chat_id, "first_name": sent.first_name}
        if sent.username:
            who["username"] = sent.username
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[sent.chat_id]),
            "from": {**who, "is_bot": False},
            "chat": {**who, "type": "private"},
            "date": self._now(),
            "text": sent.text,
        }
        if entities := command_entities(sent.text):
            message["entities"] = entities
        return JSONResponse(await self.updates.push({"message": message}))


def create_app(bot: BotApi) -> ASGIApp:
    return fake_app(
        routes=bot.routes(),
        render_error=render_error,
        admin_routes=bot.admin_routes(),
    )
