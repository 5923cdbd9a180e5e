"""Test-only endpoints under /admin: inspect connections and message counts, inject faults.

GET    /admin/connections[?hub=&user=]  who is connected: hub, connectionId, userId,
                                        protocol, groups, delivered
GET    /admin/messages                  per hub: REST sends accepted, messages delivered
GET    /admin/faults                    the faults in force
DELETE /admin/faults                    clear rejections and latency
POST   /admin/faults/reject             {"count": N, "status": 503}
POST   /admin/faults/latency            {"ms": 50}
POST   /admin/faults/drop               {"mode": "abort"} drops every client abruptly;
                                        {"mode": "close", "error": "...",
                                         "allowReconnect": true} sends them a Close first
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fakes.signalr.faults import Faults
from fakes.signalr.hub import Service


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Reject(_Body):
    count: Annotated[int, Field(gt=0)]
    status: int = 503

    @field_validator("status")
    @classmethod
    def _error_status(cls, status: int) -> int:
        if status < 400 or status not in HTTPStatus._value2member_map_:
            raise ValueError("must be an HTTP error status (4xx or 5xx)")
        return status


class Latency(_Body):
    ms: Annotated[float, Field(ge=0, le=60_000)]


class Drop(_Body):
    mode: Literal["abort", "close"] = "abort"
    hub: str | None = None
    error: str | None = None
    allow_reconnect: bool = Field(default=True, alias="allowReconnect")


Model = TypeVar("Model", bound=_Body)


async def _parse(request: Request, model: type[Model]) -> Model | Response:
    try:
        return model.model_validate_json(await request.body() or b"{}")
    except ValidationError as error:
        return JSONResponse({"errors": error.errors(include_url=False, include_context=False)}, 400)


class Admin:
    def __init__(self, service: Service, faults: Faults) -> None:
        self._service = service
        self._faults = faults

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/admin/connections", self.connections, methods=["GET"]),
            Route("/admin/messages", self.messages, methods=["GET"]),
            Route("/admin/faults", self.faults, methods=["GET", "DELETE"]),
            Route("/admin/faults/reject", self.reject, methods=["POST"]),
            Route("/admin/faults/latency", self.latency, methods=["POST"]),
            Route("/admin/faults/drop", self.drop, methods=["POST"]),
        ]

    async def connections(self, request: Request) -> Response:
        hub, user = request.query_params.get("hub"), request.query_params.get("user")
        found = [
            c
            for c in self._service.describe_connections()
            if (hub is None or c["hub"] == hub.lower()) and (user is None or c["userId"] == user)
        ]
        return JSONResponse({"connections": found})

    async def messages(self, request: Request) -> Response:
        return JSONResponse({"hubs": self._service.describe_messages()})

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._faults.clear()
        return JSONResponse(self._faults.describe())

    async def reject(self, request: Request) -> Response:
        body = await _parse(request, Reject)
        if isinstance(body, Response):
            return body
        self._faults.reject_count, self._faults.reject_status = body.count, body.status
        return JSONResponse(self._faults.describe())

    async def latency(self, request: Request) -> Response:
        body = await _parse(request, Latency)
        if isinstance(body, Response):
            return body
        self._faults.latency_ms = body.ms
        return JSONResponse(self._faults.describe())

    async def drop(self, request: Request) -> Response:
        body = await _parse(request, Drop)
        if isinstance(body, Response):
            return body
        dropped = self._service.drop(body.mode, body.error, body.allow_reconnect, body.hub)
        return JSONResponse({"dropped": dropped})
