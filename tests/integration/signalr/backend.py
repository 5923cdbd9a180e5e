"""What the backend's /api/negotiate does in production, as a test double of the app side:
answer `{url, accessToken}` pointing at the service's client endpoint (the real service has no
such endpoint; the app serves it). The SignalR clients follow this redirect unchanged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes.signalr.auth import issue_token
from harness.ports import free_port


class Backend:
    def __init__(self, service_endpoint: str, access_key: str) -> None:
        self.service_endpoint = service_endpoint
        self.access_key = access_key
        self.negotiations = 0
        self.url = ""

    async def negotiate(self, request: Request) -> JSONResponse:
        self.negotiations += 1
        hub = request.query_params.get("hub", "chat")
        url = f"{self.service_endpoint}/client/?hub={hub}"
        user = request.query_params.get("user")
        return JSONResponse(
            {"url": url, "accessToken": issue_token(self.access_key, url, user_id=user)}
        )

    @classmethod
    @contextmanager
    def running(cls, service_endpoint: str, access_key: str) -> Iterator[Backend]:
        backend = cls(service_endpoint, access_key)
        app = Starlette(routes=[Route("/api/negotiate", backend.negotiate, methods=["POST"])])
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="negotiate-backend", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the negotiate backend did not start")
            threading.Event().wait(0.01)
        backend.url = f"http://127.0.0.1:{port}"
        try:
            yield backend
        finally:
            server.should_exit = True
            thread.join()
