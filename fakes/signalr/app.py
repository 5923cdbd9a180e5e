"""The fake service as one ASGI app: data-plane REST under /api, the client endpoint under
/client, test hooks under /admin."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from fakes.signalr.admin import Admin
from fakes.signalr.auth import Verifier
from fakes.signalr.client import ClientEndpoint
from fakes.signalr.faults import FaultInjection, Faults
from fakes.signalr.hub import Service
from fakes.signalr.rest import METHODS, RestApi

MAX_HEADER_BYTES = 16 * 1024
# Largest hub message a client may send (and WebSocket message the server accepts).
MAX_CLIENT_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    endpoint: str  # http://host:port, what tokens are addressed to
    access_key: str
    keepalive_s: float = 15.0
    client_timeout_s: float = 30.0
    handshake_timeout_s: float = 15.0


class HeaderLimit:
    """431 for requests whose headers exceed the service's 16 KB."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > MAX_HEADER_BYTES:
                response = Response(status_code=431)
                if scope["type"] == "websocket":
                    await WebSocket(scope, receive, send).send_denial_response(response)
                else:
                    await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    service = Service(settings.keepalive_s, settings.client_timeout_s, settings.handshake_timeout_s)
    faults = Faults()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        timers = asyncio.create_task(service.run_timers())
        try:
            yield
        finally:
            timers.cancel()

    verifier = Verifier(settings.endpoint, settings.access_key)
    rest = RestApi(service, verifier)
    client = ClientEndpoint(service, verifier, MAX_CLIENT_MESSAGE_BYTES)
    return Starlette(
        routes=[
            Route("/api/{path:path}", rest.handle, methods=METHODS),
            *client.routes(),
            *Admin(service, faults).routes(),
        ],
        middleware=[
            # As the service does: any origin, with credentials (browsers negotiate with them).
            Middleware(
                CORSMiddleware,
                allow_origin_regex=".*",
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            ),
            Middleware(HeaderLimit),
            Middleware(FaultInjection, faults=faults),
        ],
        lifespan=lifespan,
    )
