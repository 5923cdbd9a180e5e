"""The loopback managed identity: an App Service style token endpoint, and the tokens it signs.

azure-identity's ManagedIdentityCredential (and DefaultAzureCredential) use it when
IDENTITY_ENDPOINT=http://127.0.0.1:<port>/msi/token and IDENTITY_HEADER=<secret> are set: it asks
GET /msi/token?api-version=2019-08-01&resource=https://vault.azure.net with X-IDENTITY-HEADER.
Plain HTTP on loopback, as App Service's own endpoint is. Tokens are JWTs signed with a key made
at start, so the vault can tell its own tokens from forged, expired or foreign ones.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

VAULT_RESOURCE = "https://vault.azure.net"
TENANT_ID = "00000000-0000-4000-8000-00000000f4ce"  # a fake tenant, recognisable in logs
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"
TOKEN_PATH = "/msi/token"  # noqa: S105 (a path, not a password)
TOKEN_LIFETIME_S = 3600
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The vault refuses this bearer token; the message is Key Vault's own wording."""


class TokenAuthority:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(32)

    def issue(self, resource: str, lifetime_s: int = TOKEN_LIFETIME_S) -> tuple[str, int]:
        """A token for `resource` and the epoch second it expires at."""
        now = int(self._clock())
        expires_on = now + lifetime_s
        claims = {
            "aud": resource,
            "iss": ISSUER,
            "tid": TENANT_ID,
            "sub": "spy-hybrid-managed-identity",
            "iat": now,
            "nbf": now,
            "exp": expires_on,
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM), expires_on

    def verify(self, token: str) -> None:
        try:
            jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=VAULT_RESOURCE,
                issuer=ISSUER,
                options={"require": ["exp", "aud", "iss"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("[TokenExpired] Error validating token: 'S2S12086'.") from None
        except jwt.InvalidAudienceError:
            found = jwt.decode(token, options={"verify_signature": False}).get("aud")
            raise InvalidToken(
                f"AKV10022: Invalid audience. Expected {VAULT_RESOURCE}, found: {found}."
            ) from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"AKV10032: Invalid issuer. Expected one of {ISSUER}.") from None
        except jwt.PyJWTError:
            raise InvalidToken(
                "AKV10046: Unable to resolve the key used for signature validation."
            ) from None


def identity_app(authority: TokenAuthority, identity_header: str) -> Starlette:
    """GET /msi/token as App Service answers it (2019-08-01)."""

    def refuse(status: int, message: str) -> JSONResponse:
        return JSONResponse({"statusCode": status, "message": message}, status_code=status)

    async def token(request: Request) -> JSONResponse:
        if request.headers.get("x-identity-header") != identity_header:
            return refuse(401, "The X-IDENTITY-HEADER is missing or does not match.")
        if request.query_params.get("api-version") != "2019-08-01":
            return refuse(400, "The api-version is missing or not supported (use 2019-08-01).")
        resource = request.query_params.get("resource")
        if not resource:
            return refuse(400, "The resource parameter is required.")
        access_token, expires_on = authority.issue(resource)
        return JSONResponse(
            {
                "access_token": access_token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
            }
        )

    return Starlette(routes=[Route(TOKEN_PATH, token)])
