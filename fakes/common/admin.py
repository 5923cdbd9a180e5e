"""The admin surface every fake serves beside the real API: parsing its JSON bodies."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

# No real service serves this path, so admin routes never shadow an API route.
ADMIN_PREFIX = "/__admin"

Model = TypeVar("Model", bound=BaseModel)


class AdminBadRequest(Exception):
    """A malformed admin request: 422 with pydantic's errors, not in the service's shape."""

    def __init__(self, errors: list[dict[str, object]]) -> None:
        super().__init__(errors)
        self.errors = errors


async def admin_body(request: Request, model: type[Model]) -> Model:
    """The request's JSON body as `model`; an empty body means all defaults."""
    body = await request.body()
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise AdminBadRequest(
            [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        ) from None


async def admin_bad_request(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AdminBadRequest)
    return JSONResponse({"detail": error.errors}, status_code=422)
