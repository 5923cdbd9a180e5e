"""Access tokens as Azure SignalR checks them: HS256 JWTs signed with the connection string's
AccessKey (its UTF-8 bytes, not base64-decoded), with `exp` and an audience naming the URL.

REST calls carry a token whose audience is the request URL, with or without its query string
(the docs say without, the .NET Management SDK sends it with `?api-version=`). Clients carry a
token whose audience is the client URL `{endpoint}/client/?hub={hub}` the negotiate handed out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

ALGORITHM = "HS256"
# Clock skew tolerated on exp/nbf: small, so an expired token fails in tests without a long wait.
LEEWAY_S = 5.0
# The Microsoft SDKs and the emulator put the user id in asrs.s.uid, the REST docs in nameid
# (which ASP.NET maps to the long claim type).
USER_ID_CLAIMS = (
    "asrs.s.uid",
    "nameid",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
)


class Unauthorized(Exception):
    """The request's token is missing (description None) or invalid (description says why)."""

    def __init__(self, description: str | None) -> None:
        super().__init__(description or "no bearer token")
        self.description = description


def issue_token(
    access_key: str, audience: str, lifetime_s: float = 3600.0, user_id: str | None = None
) -> str:
    """A token as the Microsoft SDKs build it (for the benchmark and the tests' backend)."""
    now = int(time.time())
    claims: dict[str, Any] = {"aud": audience, "iat": now, "exp": now + int(lifetime_s)}
    if user_id is not None:
        claims["asrs.s.uid"] = user_id
    return jwt.encode(claims, access_key.encode("utf-8"), algorithm=ALGORITHM)


def bearer_token(headers: Mapping[str, str], access_token: str | None) -> str:
    """The token from `Authorization: Bearer`, else from `access_token` (browsers cannot set
    headers on a WebSocket upgrade)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if access_token:
        return access_token
    raise Unauthorized(None)


def verify(token: str, access_key: str) -> dict[str, Any]:
    """The token's claims if its signature, alg, exp and nbf hold; the audience is checked by
    the caller, who knows what the request is for."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            access_key.encode("utf-8"),
            algorithms=[ALGORITHM],
            leeway=LEEWAY_S,
            options={"require": ["exp", "aud"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token expired") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("the signature is invalid") from None
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"the token is invalid: {error}") from None
    return claims


def user_id(claims: Mapping[str, Any]) -> str | None:
    for claim in USER_ID_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value
    return None


def check_rest_audience(claims: Mapping[str, Any], host: str, path: str, query: str) -> None:
    """The audience must be this request's URL, query string included or not."""
    for audience in _audiences(claims):
        aud = urlsplit(audience)
        if (
            _same_host(aud.netloc, aud.scheme, host)
            and _same_path(aud.path, path)
            and (aud.query == "" or aud.query.lower() == query.lower())
        ):
            return
    raise Unauthorized("the audience is not this request's URL")


def check_client_audience(claims: Mapping[str, Any], host: str, hub: str) -> None:
    """The audience must be the client URL of this hub, `{endpoint}/client/?hub={hub}`."""
    for audience in _audiences(claims):
        aud = urlsplit(audience)
        hubs = parse_qs(aud.query).get("hub", [])
        if (
            _same_host(aud.netloc, aud.scheme, host)
            and _same_path(aud.path, "/client")
            and [h.lower() for h in hubs] == [hub.lower()]
        ):
            return
    raise Unauthorized(f"the audience is not the client URL of hub '{hub}'")


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    values = aud if isinstance(aud, list) else [aud]
    return [value for value in values if isinstance(value, str)]


def _same_path(audience_path: str, request_path: str) -> bool:
    return unquote(audience_path).rstrip("/").lower() == request_path.rstrip("/").lower()


_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _same_host(audience_netloc: str, audience_scheme: str, host_header: str) -> bool:
    """Host and port as the request's Host header names them. Some clients (signalrcore) send
    the host without its port; then only the host name is compared."""
    aud, req = _split_host(audience_netloc), _split_host(host_header)
    if aud is None or req is None or aud[0] != req[0]:
        return False
    (_, aud_port), (_, req_port) = aud, req
    if req_port is None:
        return True
    return (aud_port or _DEFAULT_PORTS.get(audience_scheme.lower())) == req_port


def _split_host(netloc: str) -> tuple[str, int | None] | None:
    parsed = urlsplit(f"//{netloc}")
    try:
        port = parsed.port
    except ValueError:
        return None
    return (parsed.hostname, port) if parsed.hostname else None
