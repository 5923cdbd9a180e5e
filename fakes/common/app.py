"""Assembles a fake: its service routes, the admin surface, fault injection and error rendering."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from fakes.common.admin import ADMIN_PREFIX, AdminBadRequest, admin_bad_request
from fakes.common.errors import ErrorRenderer, ServiceError
from fakes.common.faults import FaultMiddleware, Faults


async def _health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def fake_app(
    *,
    routes: Sequence[BaseRoute],
    render_error: ErrorRenderer,
    admin_routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    """The ASGI app of one fake.

    Every error a client can see — raised ServiceErrors (see body.read_body for 413), unknown
    paths (404), wrong methods (405) and injected faults — is rendered by `render_error`, so it
    has the real service's shape. Admin routes live under ADMIN_PREFIX: GET /health, the fault
    routes (see Faults.routes) and `admin_routes`.
    """
    faults = Faults()

    async def on_service_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, ServiceError)
        return render_error(error)

    async def on_http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        response = render_error(ServiceError(error.status_code))
        response.headers.update(error.headers or {})
        return response

    admin = Mount(ADMIN_PREFIX, routes=[Route("/health", _health), *faults.routes(), *admin_routes])
    app = Starlette(
        routes=[admin, *routes],
        exception_handlers={
            ServiceError: on_service_error,
            HTTPException: on_http_error,
            AdminBadRequest: admin_bad_request,
        },
    )
    # A real service answers a path it does not know; it never redirects to add or drop a slash.
    app.router.redirect_slashes = False
    return FaultMiddleware(app, faults, render_error)
