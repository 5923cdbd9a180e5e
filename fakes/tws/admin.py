"""Admin HTTP API for the harness and tests (Starlette, served by uvicorn in the same loop).

GET  /health                    status, server version, connections, next valid id
GET  /orders                    every order the gateway has received (incl. swallowed ones)
GET  /executions                every execution
POST /faults/<name>             see FAULTS below; some take a JSON body
POST /market/unusual-activity   volume / open-interest / IV surge on chosen contracts
POST /credential                {"credential": "..."} (null accepts every client again)
GET  /metrics                   Prometheus text format
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.common.admin import AdminBadRequest, admin_bad_request, admin_body
from fakes.tws.messages import SERVER_VERSION

if TYPE_CHECKING:
    from fakes.tws.server import Simulator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestartBody(_Body):
    downtime_s: float = Field(1.0, ge=0.0, le=60.0)


class SlowAcksBody(_Body):
    delay_ms: float = Field(ge=0.0, le=60_000.0)


class NoBody(_Body):
    pass


class UnusualActivity(_Body):
    """Which contracts (conIds, or strikes with optional expiry/right) and how hard."""

    con_ids: list[int] = []
    strikes: list[float] = []
    expiry: str | None = Field(None, pattern=r"^\d{8}$")
    right: Literal["C", "P"] | None = None
    volume_multiplier: float = Field(1.0, ge=1.0, le=1e4)
    open_interest_multiplier: float = Field(1.0, gt=0.0, le=1e4)
    iv_bump: float = Field(0.0, ge=-1.0, le=5.0)

    @model_validator(mode="after")
    def _names_contracts(self) -> UnusualActivity:
        if not self.con_ids and not self.strikes:
            raise ValueError("give con_ids or strikes")
        return self


class CredentialBody(_Body):
    credential: str | None = Field(max_length=4096)


FaultAction = Callable[["Simulator", Any], Awaitable[dict[str, Any]]]


async def _drop(sim: Simulator, body: NoBody) -> dict[str, Any]:
    return {"dropped": sim.gateway.drop_connections()}


async def _restart(sim: Simulator, body: RestartBody) -> dict[str, Any]:
    await sim.restart(body.downtime_s)
    return {"next_valid_id": sim.gateway.ids.next_order_id}


def _connectivity(code: int) -> FaultAction:
    async def action(sim: Simulator, body: NoBody) -> dict[str, Any]:
        sim.gateway.connectivity(code)
        return {"code": code}

    return action


async def _slow_acks(sim: Simulator, body: SlowAcksBody) -> dict[str, Any]:
    sim.gateway.ack_delay_s = body.delay_ms / 1000.0
    return {"ack_delay_ms": body.delay_ms}


async def _swallow(sim: Simulator, body: NoBody) -> dict[str, Any]:
    sim.gateway.swallow_next = True
    return {"swallow_next_order": True}


FAULTS: dict[str, tuple[type[_Body], FaultAction]] = {
    "drop-connections": (NoBody, _drop),
    "restart": (RestartBody, _restart),
    "connectivity-lost": (NoBody, _connectivity(1100)),
    "connectivity-restored": (NoBody, _connectivity(1102)),
    "connectivity-restored-data-lost": (NoBody, _connectivity(1101)),
    "slow-acks": (SlowAcksBody, _slow_acks),
    "swallow-next-order": (NoBody, _swallow),
}


def create_app(sim: Simulator) -> Starlette:
    async def health(request: Request) -> Response:
        gateway = sim.gateway
        return JSONResponse(
            {
                "status": "restarting" if sim.restarting else "ok",
                "server_version": SERVER_VERSION,
                "connections": len(gateway.connections),
                "clients": sorted(gateway.clients),
                "next_valid_id": gateway.ids.next_order_id,
                "connectivity_lost": gateway.connectivity_lost,
                "spot": round(gateway.market.spot, 4),
            }
        )

    async def orders(request: Request) -> Response:
        return JSONResponse(sim.gateway.orders_view())

    async def executions(request: Request) -> Response:
        return JSONResponse(sim.gateway.executions_view())

    async def fault(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FAULTS:
            return JSONResponse(
                {"error": f"unknown fault {name!r}", "faults": sorted(FAULTS)}, status_code=404
            )
        model, action = FAULTS[name]
        body = await admin_body(request, model)
        sim.metrics.faults.labels(name).inc()
        return JSONResponse({"fault": name, **await action(sim, body)})

    async def unusual_activity(request: Request) -> Response:
        body = await admin_body(request, UnusualActivity)
        chosen = [
            c
            for c in sim.gateway.instruments.options
            if c.con_id in body.con_ids
            or (
                c.strike in body.strikes
                and (body.expiry is None or c.expiry == body.expiry)
                and (body.right is None or c.right == body.right)
            )
        ]
        if not chosen:
            return JSONResponse({"error": "no option matches"}, status_code=404)
        sim.gateway.inject(
            chosen, body.volume_multiplier, body.open_interest_multiplier, body.iv_bump
        )
        return JSONResponse(
            {"contracts": [{"conId": c.con_id, "localSymbol": c.local_symbol} for c in chosen]}
        )

    async def credential(request: Request) -> Response:
        body = await admin_body(request, CredentialBody)
        sim.gateway.credential = body.credential
        return JSONResponse({"credential_required": body.credential is not None})

    async def metrics(request: Request) -> Response:
        return Response(sim.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/orders", orders),
            Route("/executions", executions),
            Route("/faults/{name}", fault, methods=["POST"]),
            Route("/market/unusual-activity", unusual_activity, methods=["POST"]),
            Route("/credential", credential, methods=["POST"]),
            Route("/metrics", metrics),
        ],
        exception_handlers={AdminBadRequest: admin_bad_request},
    )
