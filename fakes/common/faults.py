"""Fault injection shared by the fakes: reject the next N requests with a status, add latency.

Faults apply to the service's own routes only; the admin routes under ADMIN_PREFIX always answer,
so a test can clear a fault it set.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus

from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fakes.common.admin import ADMIN_PREFIX, admin_body
from fakes.common.errors import ErrorRenderer, ServiceError


class Reject(BaseModel):
    status: int
    count: int = Field(default=1, ge=1)
    message: str | None = None
    retry_after: int | None = Field(default=None, ge=0)

    @field_validator("status")
    @classmethod
    def _error_status(cls, status: int) -> int:
        if status < 400 or status not in HTTPStatus._value2member_map_:
            raise ValueError("must be an HTTP error status (4xx or 5xx)")
        return status


class Latency(BaseModel):
    ms: int = Field(ge=0, le=600_000)


@dataclass
class Faults:
    reject: Reject | None = None
    remaining: int = 0
    delay_s: float = 0.0

    def next_rejection(self) -> ServiceError | None:
        if self.reject is None or self.remaining <= 0:
            return None
        self.remaining -= 1
        return ServiceError(
            self.reject.status, self.reject.message, retry_after=self.reject.retry_after
        )

    def snapshot(self) -> dict[str, object]:
        return {
            "reject": self.reject.model_dump() if self.reject and self.remaining else None,
            "remaining": self.remaining,
            "latency_ms": round(self.delay_s * 1000),
        }

    def routes(self) -> list[Route]:
        async def reject(request: Request) -> JSONResponse:
            self.reject = await admin_body(request, Reject)
            self.remaining = self.reject.count
            return JSONResponse(self.snapshot())

        async def latency(request: Request) -> JSONResponse:
            self.delay_s = (await admin_body(request, Latency)).ms / 1000
            return JSONResponse(self.snapshot())

        async def show_or_clear(request: Request) -> JSONResponse:
            if request.method == "DELETE":
                self.reject, self.remaining, self.delay_s = None, 0, 0.0
            return JSONResponse(self.snapshot())

        return [
            Route("/faults/reject", reject, methods=["POST"]),
            Route("/faults/latency", latency, methods=["POST"]),
            Route("/faults", show_or_clear, methods=["GET", "DELETE"]),
        ]


class FaultMiddleware:
    """Delays, then rejects, service requests as the current faults say (plain ASGI)."""

    def __init__(self, app: ASGIApp, faults: Faults, render: ErrorRenderer) -> None:
        self.app = app
        self.faults = faults
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        rejection = self.faults.next_rejection()
        if rejection is None:
            await self.app(scope, receive, send)
        else:
            await self.render(rejection)(scope, receive, send)
