"""The running supervisor's control API: how `spyh`, chaos drills and scenarios in other
processes operate a topology (kill, stop, start, roll out, set or restore the VPN profile, shut
down). Loopback only."""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx
import uvicorn
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from harness.errors import HarnessError
from harness.ports import LOOPBACK, free_port
from harness.supervisor import Supervisor
from harness.vpn import VpnProfile


class RolloutRequest(BaseModel):
    component: str = Field(min_length=1)
    release: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class ProfileRequest(BaseModel):
    edge_to_cloud_ms: int
    cloud_to_edge_ms: int
    jitter_ms: int = 0
    bandwidth_kbytes_s: int = 12_500

    def profile(self) -> VpnProfile:
        try:
            return VpnProfile(**self.model_dump())
        except ValueError as error:
            raise HarnessError(str(error)) from None


class KillRequest(BaseModel):
    signal: str = Field(default="SIGKILL", pattern=r"^SIG[A-Z0-9]+$")


def control_app(supervisor: Supervisor, shutdown: threading.Event) -> Starlette:
    async def body(request: Request, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate_json(await request.body() or b"{}")
        except ValueError as error:
            raise HarnessError(f"bad request: {error}") from None

    async def state(_request: Request) -> JSONResponse:
        return JSONResponse(supervisor.state().model_dump(mode="json"))

    async def kill(request: Request) -> JSONResponse:
        wanted: KillRequest = await body(request, KillRequest)
        try:
            signum = signal.Signals[wanted.signal]
        except KeyError:
            raise HarnessError(f"no such signal {wanted.signal}") from None
        supervisor.kill(request.path_params["name"], signum)
        return JSONResponse({"killed": request.path_params["name"], "signal": wanted.signal})

    async def stop(request: Request) -> JSONResponse:
        supervisor.stop(request.path_params["name"])
        return JSONResponse({"stopped": request.path_params["name"]})

    async def start(request: Request) -> JSONResponse:
        instance = supervisor.start(request.path_params["name"])
        return JSONResponse({"started": instance.name, "pid": instance.proc.pid})

    def roll(wanted: RolloutRequest) -> dict[str, Any]:
        revision = supervisor.rollout(wanted.component, wanted.release)
        return {
            "revision": revision.number,
            "release": revision.release,
            "outcome": revision.outcome,
        }

    async def rollout(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        wanted: RolloutRequest = await body(request, RolloutRequest)
        return JSONResponse(await run_in_threadpool(roll, wanted))

    async def set_vpn(request: Request) -> JSONResponse:
        wanted: ProfileRequest = await body(request, ProfileRequest)
        supervisor.set_profile(wanted.profile())
        return JSONResponse({"profile": str(supervisor.profile)})

    async def restore_vpn(_request: Request) -> JSONResponse:
        supervisor.restore_link()
        return JSONResponse({"profile": str(supervisor.profile)})

    async def stop_all(_request: Request) -> JSONResponse:
        shutdown.set()
        return JSONResponse({"shutting_down": True})

    async def refused(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    return Starlette(
        routes=[
            Route("/state", state),
            Route("/instances/{name}/kill", kill, methods=["POST"]),
            Route("/instances/{name}/stop", stop, methods=["POST"]),
            Route("/instances/{name}/start", start, methods=["POST"]),
            Route("/rollouts", rollout, methods=["POST"]),
            Route("/vpn", set_vpn, methods=["PUT"]),
            Route("/vpn/restore", restore_vpn, methods=["POST"]),
            Route("/shutdown", stop_all, methods=["POST"]),
        ],
        exception_handlers={HarnessError: refused},
    )


class ControlServer:
    """uvicorn in a thread beside the supervisor; stopped with it."""

    def __init__(self, supervisor: Supervisor, shutdown: threading.Event) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            control_app(supervisor, shutdown),
            host=LOOPBACK,
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise HarnessError(f"the control API could not bind {LOOPBACK}:{self.port}")
            threading.Event().wait(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join()


def call(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, timeout_s: float = 10.0
) -> Any:
    """A request to a running supervisor; its refusals come back as one clear line."""
    try:
        response = httpx.request(
            method, f"http://{LOOPBACK}:{port}{path}", json=body, timeout=timeout_s
        )
    except httpx.TransportError:
        raise HarnessError(f"the topology's supervisor does not answer on port {port}") from None
    if response.is_error:
        raise HarnessError(response.json().get("error", response.text))
    return response.json()
