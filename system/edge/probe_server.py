"""/health, /ready, /metrics and /status of an edge service (Starlette on uvicorn, in the
service's own event loop).

/health is liveness: the loop answers. /ready is readiness: every check the service names
passes (503 with the failing ones otherwise). /metrics is the service's Prometheus registry;
/status a JSON summary for operators and the watchdog. The service owns SIGTERM, so uvicorn's
signal capture is switched off here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Generator, Mapping
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Checks = Callable[[], Mapping[str, bool]]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ProbeServer:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        checks: Checks,
        status: Callable[[], Mapping[str, Any]],
    ) -> None:
        async def health(_: Request) -> Response:
            return JSONResponse({"status": "ok"})

        async def ready(_: Request) -> Response:
            results = {name: "ok" if ok else "failing" for name, ok in checks().items()}
            healthy = all(v == "ok" for v in results.values())
            return JSONResponse(
                {"status": "ready" if healthy else "not ready", "checks": results},
                status_code=200 if healthy else 503,
            )

        async def metrics(_: Request) -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        async def status_(_: Request) -> Response:
            return JSONResponse(dict(status()))

        app = Starlette(
            routes=[
                Route("/health", health),
                Route("/ready", ready),
                Route("/metrics", metrics),
                Route("/status", status_),
            ]
        )
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Serve in the background; returns the bound port once listening."""
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port in use)
                raise RuntimeError("probe server stopped before it started")
            await asyncio.sleep(0.01)
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await self._task
