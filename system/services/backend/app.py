"""The backend's HTTP API (FastAPI): health, readiness, metrics, signals, anomalies, negotiate."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from system.dashboard import mount as mount_dashboard
from system.domain.signals import Signal
from system.ports import Clock, Dependency, EventStore, SignalNegotiator
from system.services.backend.anomalies import from_record, trading_day
from system.services.backend.auth import ApiKeys
from system.services.backend.metrics import BackendMetrics
from system.services.backend.signal_log import Key, SignalLog

_ROW_KEY = r"^sig-[0-9a-f]{24}$"
_USER_ID = r"^[A-Za-z0-9_.@-]{1,128}$"


def _encode_cursor(key: Key) -> str:
    created_at, signal_id = key
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{signal_id}".encode()).decode()


def _decode_cursor(cursor: str) -> Key:
    try:
        created_at, signal_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(created_at)
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError("not a cursor this API returned") from None
    if moment.tzinfo is None:
        raise ValueError("not a cursor this API returned")
    return moment, signal_id


def _iso_only(value: object) -> object:
    # pydantic would also take a number as a Unix time; the schema promises ISO 8601 only.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD...)")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
IsoDate = Annotated[date, BeforeValidator(_iso_only)]


class SignalQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: IsoDateTime | None = Field(None, description="created at or after (ISO 8601)")
    until: IsoDateTime | None = Field(None, description="created before (ISO 8601)")
    limit: int | None = Field(None, ge=1, description="page size; larger values are capped")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of a prior page")

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if since is not None and until is not None and until < since:
            raise ValueError("until must not be before since")
        return until

    @field_validator("cursor")
    @classmethod
    def _a_cursor(cls, cursor: str | None) -> str | None:
        if cursor is not None:
            _decode_cursor(cursor)
        return cursor


class AnomalyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: IsoDate | None = Field(None, description="trading day (default: today, exchange time)")
    limit: int | None = Field(None, ge=1, description="page size; larger values are capped")
    cursor: str | None = Field(None, pattern=_ROW_KEY, description="next_cursor of a prior page")


class SignalPage(BaseModel):
    items: list[Signal]
    limit: int
    next_cursor: str | None


class AnomalyPage(BaseModel):
    day: date
    items: list[Signal]
    limit: int
    next_cursor: str | None


class Negotiation(BaseModel):
    """What SignalR clients expect from a negotiate redirect (no connectionId, on purpose)."""

    url: str
    accessToken: str  # the SignalR clients' field name


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


def ops_routes(
    dependencies: Mapping[str, Dependency], registry: CollectorRegistry, ready_timeout_s: float
) -> APIRouter:
    """/health, /ready (every dependency answers within the timeout) and /metrics."""
    ops = APIRouter(tags=["ops"])

    @ops.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process serves requests."""
        return {"status": "ok"}

    @ops.get(
        "/ready",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "a dependency is unreachable"}},
    )
    async def ready() -> JSONResponse:
        """Readiness: every dependency answered within the timeout."""
        names = list(dependencies)
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(dependencies[n].ping(), ready_timeout_s) for n in names),
            return_exceptions=True,
        )
        checks = {
            name: "ok" if not isinstance(outcome, BaseException) else type(outcome).__name__
            for name, outcome in zip(names, outcomes, strict=True)
        }
        healthy = all(value == "ok" for value in checks.values())
        body = Readiness(status="ready" if healthy else "not ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)

    @ops.get("/metrics", response_class=Response)
    async def prometheus() -> Response:
        """Prometheus text exposition."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return ops


def create_app(
    *,
    keys: ApiKeys,
    signals: SignalLog,
    store: EventStore,
    negotiator: SignalNegotiator,
    dependencies: Mapping[str, Dependency],
    metrics: BackendMetrics,
    clock: Clock,
    anomalies_table: str,
    zone: ZoneInfo,
    page_default: int,
    page_max: int,
    ready_timeout_s: float,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="spy-hybrid backend",
        version="1",
        lifespan=lifespan,
        summary="Option-chain anomaly signals for the edge bots and the dashboard.",
    )

    @app.exception_handler(StarletteHTTPException)
    async def _counted(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 401:
            metrics.auth_failures.inc()
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    app.include_router(ops_routes(dependencies, metrics.registry, ready_timeout_s))

    api = APIRouter(prefix="/api", dependencies=[Depends(keys)], tags=["api"])
    unauthorized: dict[int | str, dict[str, Any]] = {401: {"description": "no valid API key"}}

    @api.get("/signals", responses=unauthorized, response_model=SignalPage)
    async def list_signals(query: Annotated[SignalQuery, Query()]) -> Response:
        """Signals this backend raised lately (held in memory), oldest first."""
        limit = min(query.limit or page_default, page_max)
        after = _decode_cursor(query.cursor) if query.cursor else None
        items, following = signals.page(query.since, query.until, after, limit)
        cursor = f'"{_encode_cursor(following)}"' if following else "null"
        # The page is assembled from each signal's ready-made JSON (see SignalLog).
        body = b'{"items":[%s],"limit":%d,"next_cursor":%s}' % (
            b",".join(items),
            limit,
            cursor.encode(),
        )
        return Response(body, media_type="application/json")

    @api.get(
        "/anomalies",
        responses={**unauthorized, 503: {"description": "Table Storage is unreachable"}},
    )
    async def list_anomalies(query: Annotated[AnomalyQuery, Query()]) -> AnomalyPage:
        """Anomalies stored for one trading day, in row-key (signal id) order."""
        limit = min(query.limit or page_default, page_max)
        day = query.day or trading_day(clock.now(), zone)
        try:
            records = [
                record
                async for record in store.query(
                    anomalies_table, day.isoformat(), after_row_key=query.cursor, limit=limit + 1
                )
            ]
        except Exception as error:
            raise HTTPException(
                503, f"anomaly store unavailable ({type(error).__name__})"
            ) from None
        more = len(records) > limit
        items = [from_record(record) for record in records[:limit]]
        cursor = items[-1].id if more else None
        return AnomalyPage(day=day, items=items, limit=limit, next_cursor=cursor)

    @api.post("/negotiate", responses=unauthorized)
    async def negotiate(
        user_id: Annotated[
            str | None,
            Query(alias="userId", pattern=_USER_ID, description="user id for the hub token"),
        ] = None,
    ) -> Negotiation:
        """Where and with which token a SignalR client connects to the signal hub."""
        access = negotiator.negotiate(user_id)
        return Negotiation(url=access.url, accessToken=access.access_token)

    app.include_router(api)
    mount_dashboard(app)
    return app
