"""Key Vault's error envelope, {"error": {"code", "message", "innererror"?}}, and its challenge.

Every 401 carries the bearer challenge, so azure-keyvault-secrets (re)starts its auth flow on any
of them, faults included.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse, Response

from fakes.common import ServiceError
from fakes.keyvault.identity import TENANT_ID, VAULT_RESOURCE

CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", '
    f'resource="{VAULT_RESOURCE}"'
)
_CODES = {
    400: "BadParameter",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "Throttled",
}


class VaultError(ServiceError):
    """An error with Key Vault's code (and inner code, where Key Vault gives one)."""

    def __init__(self, status: int, code: str, message: str, inner_code: str | None = None):
        super().__init__(status, message)
        self.code = code
        self.inner_code = inner_code


def render_error(error: ServiceError) -> Response:
    phrase = HTTPStatus(error.status).phrase
    code = error.code if isinstance(error, VaultError) else None
    body: dict[str, object] = {
        "code": code or _CODES.get(error.status, phrase.replace(" ", "")),
        "message": error.message or phrase,
    }
    if isinstance(error, VaultError) and error.inner_code:
        body["innererror"] = {"code": error.inner_code}
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse({"error": body}, status_code=error.status, headers=headers)
