"""Composition: the backend's detector loop on its own, with what a container needs beside it
(/health, /ready, /metrics), from the same parts as the backend (system/services/backend)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from system.adapters.clock import SystemClock
from system.ports import Dependency
from system.services.backend.app import ops_routes
from system.services.backend.metrics import BackendMetrics
from system.services.backend.service import connect, detector_loop, serve_app, with_jobs
from system.services.detector.settings import DetectorSettings


async def assemble(settings: DetectorSettings, stack: AsyncExitStack) -> FastAPI:
    connections = await connect(settings, "detector", stack)
    metrics = BackendMetrics()
    loop, market = detector_loop(settings, connections, None, metrics, SystemClock())
    app = FastAPI(
        title="spy-hybrid detector",
        version="1",
        summary="Scores the SPY option chain; publishes and stores the signals it raises.",
        lifespan=with_jobs({"detector loop": loop.run}, loop, settings.shutdown_grace_s),
    )
    dependencies: dict[str, Dependency] = {
        "tables": connections.store,
        "signalr": connections.bus,
        "market": market,
    }
    app.include_router(ops_routes(dependencies, metrics.registry, settings.ready_timeout_s))
    return app


async def serve(settings: DetectorSettings) -> None:
    async with AsyncExitStack() as stack:
        await serve_app(await assemble(settings, stack), settings, "detector ready on")
