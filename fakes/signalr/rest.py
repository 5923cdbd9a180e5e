"""The data-plane REST API under `/api`: the 2022-06-01 operations and the older v1 paths.

Routing works on the raw path, segment by segment, so a group or user name holding an encoded
`/` stays one segment. Checks run in ASP.NET Core's order: route (404/405), token (401), content
type (415), body size (413), then validation (400). Literal segments and hub names are
case-insensitive, as on the service.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from fakes.signalr import auth, names
from fakes.signalr.hub import Connection, Hub, Service
from fakes.signalr.protocol import UnencodableMessage
from fakes.signalr.responses import problem, unauthorized, validation_problem

MAX_BODY_BYTES = 1024 * 1024
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]


class _Answered(Exception):
    """Stops a call with the response to give."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _invalid(field_name: str, message: str) -> _Answered:
    return _Answered(validation_problem({field_name: [message]}))


@dataclass
class Call:
    request: Request
    params: dict[str, str]
    service: Service

    @cached_property
    def hub(self) -> Hub:
        application = self.request.query_params.get("application")
        return self.service.hub(names.hub_key(self.params["hub"], application))

    @property
    def excluded(self) -> list[str]:
        return self.request.query_params.getlist("excluded")

    @property
    def reason(self) -> str | None:
        return self.request.query_params.get("reason")

    async def payload(self) -> tuple[str, list[Any]]:
        """The `{target, arguments}` body of a send (property names are case-insensitive)."""
        content_type = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not (content_type == "application/json" or content_type.endswith("+json")):
            raise _Answered(problem(415))
        body = await _read_body(self.request)
        if not body.strip():
            raise _invalid("message", "Message in request body is required.")
        try:
            message = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            raise _invalid("$", f"The request body is not valid JSON: {error}") from None
        if not isinstance(message, dict):
            raise _invalid("$", "The JSON value could not be converted to PayloadMessage.")
        fields = {key.lower(): value for key, value in message.items()}
        target, arguments = fields.get("target"), fields.get("arguments")
        if not isinstance(target, str) or not target:
            raise _invalid("Target", "The Target field is required.")
        if arguments is None:
            arguments = []
        if not isinstance(arguments, list):
            raise _invalid("Arguments", "The JSON value could not be converted to object[].")
        return target, arguments


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


async def _read_body(request: Request) -> bytes:
    too_large = _Answered(Response(status_code=413))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[Call], Awaitable[bool]]


@dataclass(frozen=True)
class Operation:
    """One route: the handler answers True for `ok`, False for a 404 carrying `missing` as
    its x-ms-error-code."""

    methods: frozenset[str]
    path: tuple[str, ...]
    handler: Handler
    ok: int
    missing: str = ""
    anonymous: bool = False

    def match(self, segments: list[str]) -> dict[str, str] | None:
        values: dict[str, str] = {}
        for pattern, segment in zip(self.path, segments, strict=True):
            if pattern.startswith("{"):
                if not segment:
                    return None
                values[pattern[1:-1]] = segment
            elif pattern != segment.lower():
                return None
        return values


def _op(
    methods: str, path: str, handler: Handler, ok: int, missing: str = "", anonymous: bool = False
) -> Operation:
    segments = tuple(s if s.startswith("{") else s.lower() for s in path.split("/"))
    return Operation(frozenset(methods.split()), segments, handler, ok, missing, anonymous)


_NO_CONNECTION = "Error.Connection.NotExisted"


class RestApi:
    def __init__(self, service: Service, verifier: auth.Verifier) -> None:
        self._service = service
        self._verifier = verifier
        self._operations: dict[int, list[Operation]] = {}
        for operation in self._table():  # by segment count: each call tries only its own
            self._operations.setdefault(len(operation.path), []).append(operation)

    def _table(self) -> list[Operation]:
        hub, v1 = "api/hubs/{hub}", "api/v1/hubs/{hub}"
        exists = "GET HEAD"
        # Existence checks answer alike on both API versions.
        checks = [
            _op(exists, f"{base}/{path}", handler, 200, missing)
            for base in (hub, v1)
            for path, handler, missing in (
                (
                    "connections/{connectionId}",
                    self._connection_exists,
                    "Warning.Connection.NotExisted",
                ),
                ("groups/{group}", self._group_exists, "Warning.Group.NotExisted"),
                ("users/{user}", self._user_exists, "Warning.User.NotExisted"),
                ("users/{user}/groups/{group}", self._user_in_group, "Info.User.NotInGroup"),
            )
        ]
        return [
            _op(exists, "api/health", self._health, 200, anonymous=True),
            _op(exists, "api/v1/health", self._health, 200, anonymous=True),
            *checks,
            # 2022-06-01
            _op("POST", f"{hub}/:send", self._broadcast, 202),
            _op("POST", f"{hub}/users/{{user}}/:send", self._send_to_user, 202),
            _op("POST", f"{hub}/groups/{{group}}/:send", self._send_to_group, 202),
            _op("POST", f"{hub}/connections/{{connectionId}}/:send", self._send_to_one, 202),
            _op("POST", f"{hub}/:closeConnections", self._close_hub, 204),
            _op("POST", f"{hub}/groups/{{group}}/:closeConnections", self._close_group, 204),
            _op("POST", f"{hub}/users/{{user}}/:closeConnections", self._close_user, 204),
            _op("DELETE", f"{hub}/connections/{{connectionId}}", self._close_one, 200),
            _op(
                "PUT",
                f"{hub}/groups/{{group}}/connections/{{connectionId}}",
                self._join,
                200,
                _NO_CONNECTION,
            ),
            _op(
                "DELETE",
                f"{hub}/groups/{{group}}/connections/{{connectionId}}",
                self._leave,
                200,
                _NO_CONNECTION,
            ),
            _op("DELETE", f"{hub}/connections/{{connectionId}}/groups", self._leave_all, 200),
            _op("PUT", f"{hub}/users/{{user}}/groups/{{group}}", self._add_user, 200),
            _op("DELETE", f"{hub}/users/{{user}}/groups/{{group}}", self._remove_user, 204),
            _op("DELETE", f"{hub}/users/{{user}}/groups", self._remove_user_everywhere, 204),
            # v1: the same without the `:verb` suffixes, group paths both ways round, and the
            # writes answer 202.
            _op("POST", v1, self._broadcast, 202),
            _op("POST", f"{v1}/users/{{user}}", self._send_to_user, 202),
            _op("POST", f"{v1}/groups/{{group}}", self._send_to_group, 202),
            _op("POST", f"{v1}/connections/{{connectionId}}", self._send_to_one, 202),
            _op("DELETE", f"{v1}/connections/{{connectionId}}", self._close_one, 202),
            _op("DELETE", f"{v1}/connections/{{connectionId}}/groups", self._leave_all, 200),
            _op("DELETE", f"{v1}/users/{{user}}/groups", self._remove_user_everywhere, 202),
            _op(
                exists,
                f"{v1}/groups/{{group}}/users/{{user}}",
                self._user_in_group,
                200,
                "Info.User.NotInGroup",
            ),
            *[
                _op(method, f"{v1}/{path}", handler, 202, _NO_CONNECTION)
                for path in (
                    "groups/{group}/connections/{connectionId}",
                    "connections/{connectionId}/groups/{group}",
                )
                for method, handler in (("PUT", self._join), ("DELETE", self._leave))
            ],
            *[
                _op(method, f"{v1}/{path}", handler, 202)
                for path in ("groups/{group}/users/{user}", "users/{user}/groups/{group}")
                for method, handler in (("PUT", self._add_user), ("DELETE", self._remove_user))
            ],
        ]

    async def handle(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        segments = [unquote(s) for s in raw_path.decode("latin-1").split("/")[1:]]
        candidates = self._operations.get(len(segments), [])
        matches = [(op, params) for op in candidates if (params := op.match(segments)) is not None]
        if not matches:
            return Response(status_code=404)
        allowed = [(op, params) for op, params in matches if request.method in op.methods]
        if not allowed:
            methods = sorted({m for op, _ in matches for m in op.methods})
            return Response(status_code=405, headers={"Allow": ", ".join(methods)})
        operation, params = allowed[0]
        try:
            return await self._run(operation, request, params)
        except _Answered as answered:
            return answered.response

    async def _run(
        self, operation: Operation, request: Request, params: dict[str, str]
    ) -> Response:
        if not operation.anonymous:
            try:
                # From the scope: building `request.url` costs more than the check itself.
                self._verifier.rest_call(
                    request.headers,
                    request.scope["path"],
                    request.scope["query_string"].decode("latin-1"),
                )
            except auth.Unauthorized as error:
                return unauthorized(error.description)
        self._validate(params, request.query_params.get("application"))
        if await operation.handler(Call(request, params, self._service)):
            return Response(status_code=operation.ok)
        if request.method == "HEAD":
            return Response(status_code=404, headers={"x-ms-error-code": operation.missing})
        return problem(404, headers={"x-ms-error-code": operation.missing})

    @staticmethod
    def _validate(params: dict[str, str], application: str | None) -> None:
        errors: dict[str, list[str]] = {}
        if "hub" in params and not names.valid_hub(params["hub"]):
            errors["hub"] = [names.INVALID_HUB]
        if application is not None and not names.valid_hub(application):
            errors["application"] = [names.INVALID_APPLICATION]
        if "group" in params and not names.valid_group(params["group"]):
            errors["group"] = [names.INVALID_GROUP]
        if "user" in params and not names.valid_user(params["user"]):
            errors["user"] = [names.INVALID_USER]
        if errors:
            raise _Answered(validation_problem(errors))

    # --- handlers: True means done, False means not found ----------------------------------

    async def _health(self, call: Call) -> bool:
        return True

    async def _deliver(self, call: Call, recipients: list[Connection]) -> bool:
        target, arguments = await call.payload()
        try:
            self._service.send(call.hub, recipients, target, arguments)
        except UnencodableMessage as error:
            raise _invalid("Arguments", str(error)) from None
        # One turn of the loop: the recipients' writers, woken by the queued frame, put it on
        # the wire before the 202 is built and sent back. Delivery is what clients wait for.
        await asyncio.sleep(0)
        return True

    async def _broadcast(self, call: Call) -> bool:
        return await self._deliver(call, self._service.everyone(call.hub, call.excluded))

    async def _send_to_user(self, call: Call) -> bool:
        return await self._deliver(call, self._service.of_user(call.hub, call.params["user"]))

    async def _send_to_group(self, call: Call) -> bool:
        group = call.params["group"]
        return await self._deliver(call, self._service.of_group(call.hub, group, call.excluded))

    async def _send_to_one(self, call: Call) -> bool:
        return await self._deliver(call, self._service.by_id(call.hub, call.params["connectionId"]))

    async def _close_hub(self, call: Call) -> bool:
        self._service.close(self._service.everyone(call.hub, call.excluded), call.reason)
        return True

    async def _close_group(self, call: Call) -> bool:
        group = call.params["group"]
        self._service.close(self._service.of_group(call.hub, group, call.excluded), call.reason)
        return True

    async def _close_user(self, call: Call) -> bool:
        user = call.params["user"]
        self._service.close(self._service.of_user(call.hub, user, call.excluded), call.reason)
        return True

    async def _close_one(self, call: Call) -> bool:
        self._service.close(self._service.by_id(call.hub, call.params["connectionId"]), call.reason)
        return True

    async def _connection_exists(self, call: Call) -> bool:
        return call.params["connectionId"] in call.hub.connections

    async def _group_exists(self, call: Call) -> bool:
        return bool(self._service.of_group(call.hub, call.params["group"]))

    async def _user_exists(self, call: Call) -> bool:
        return bool(self._service.of_user(call.hub, call.params["user"]))

    async def _join(self, call: Call) -> bool:
        connection = call.hub.connections.get(call.params["connectionId"])
        if connection is None:
            return False
        call.hub.join(connection, call.params["group"])
        return True

    async def _leave(self, call: Call) -> bool:
        connection = call.hub.connections.get(call.params["connectionId"])
        return connection is not None and call.hub.leave(connection, call.params["group"])

    async def _leave_all(self, call: Call) -> bool:
        connection = call.hub.connections.get(call.params["connectionId"])
        if connection is not None:
            for group in list(connection.groups):
                call.hub.leave(connection, group)
        return True

    async def _user_in_group(self, call: Call) -> bool:
        return self._service.user_in_group(call.hub, call.params["group"], call.params["user"])

    async def _add_user(self, call: Call) -> bool:
        raw_ttl = call.request.query_params.get("ttl")
        ttl: int | None = None
        if raw_ttl is not None:
            # An Int32 of seconds, and a negative one means nothing.
            if not (raw_ttl.isascii() and raw_ttl.isdigit() and int(raw_ttl) < 2**31):
                raise _invalid("ttl", f"The value '{raw_ttl}' is not valid for ttl.")
            ttl = int(raw_ttl)
        self._service.add_user_to_group(call.hub, call.params["group"], call.params["user"], ttl)
        return True

    async def _remove_user(self, call: Call) -> bool:
        self._service.remove_user_from_group(call.hub, call.params["group"], call.params["user"])
        return True

    async def _remove_user_everywhere(self, call: Call) -> bool:
        self._service.remove_user_from_all_groups(call.hub, call.params["user"])
        return True
