"""Injected faults: reject the next N requests with a status, delay every request, and the
state the admin endpoint sets. Applies to the data-plane API and the client endpoint (negotiate
and WebSocket upgrades), never to /admin."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from fakes.signalr.responses import problem


@dataclass
class Faults:
    reject_count: int = 0
    reject_status: int = 503
    latency_ms: float = 0.0

    def take_rejection(self) -> int | None:
        if self.reject_count <= 0:
            return None
        self.reject_count -= 1
        return self.reject_status

    def clear(self) -> None:
        self.reject_count, self.latency_ms = 0, 0.0

    def describe(self) -> dict[str, object]:
        return {
            "reject": {"count": self.reject_count, "status": self.reject_status},
            "latencyMs": self.latency_ms,
        }


class FaultInjection:
    """ASGI middleware applying the faults before the request reaches the service."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self._app = app
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith("/admin"):
            await self._app(scope, receive, send)
            return
        if self._faults.latency_ms > 0:
            await asyncio.sleep(self._faults.latency_ms / 1000)
        status = self._faults.take_rejection()
        if status is None:
            await self._app(scope, receive, send)
        elif scope["type"] == "websocket":
            await WebSocket(scope, receive, send).send_denial_response(problem(status))
        else:
            await problem(status)(scope, receive, send)
