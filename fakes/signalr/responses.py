"""Error responses in the shapes the service's ASP.NET Core front returns them."""

from __future__ import annotations

import secrets
from http import HTTPStatus

from starlette.responses import JSONResponse, Response

_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
}
PROBLEM_JSON = "application/problem+json; charset=utf-8"


def problem(
    status: int,
    *,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A ProblemDetails body, as [ApiController] answers 400, 404 and 415."""
    body: dict[str, object] = {
        "type": _PROBLEM_TYPES.get(status, "about:blank"),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if errors is not None:
        body["errors"] = errors
    body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    return JSONResponse(body, status, headers=headers, media_type=PROBLEM_JSON)


def validation_problem(errors: dict[str, list[str]]) -> JSONResponse:
    """The 400 that model validation answers, one list of messages per offending field."""
    return problem(400, title="One or more validation errors occurred.", errors=errors)


def unauthorized(description: str | None) -> Response:
    """401 with an empty body and the challenge the JwtBearer handler writes; a request that
    carried no token gets the bare challenge."""
    challenge = "Bearer"
    if description is not None:
        safe = description.replace('"', "'")
        challenge += f' error="invalid_token", error_description="{safe}"'
    return Response(status_code=401, headers={"WWW-Authenticate": challenge})
