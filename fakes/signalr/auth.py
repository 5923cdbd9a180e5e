"""Access tokens as Azure SignalR checks them: HS256 JWTs signed with the connection string's
AccessKey (its UTF-8 bytes, not base64-decoded), with `exp` and an audience naming the URL.

REST calls carry a token whose audience is the request URL, with or without its query string
(the docs say without, the .NET Management SDK sends it with `?api-version=`). Clients carry a
token whose audience is the client URL `{endpoint}/client/?hub={hub}` the negotiate handed out.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

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


class Verifier:
    """What one service instance accepts: tokens signed with its AccessKey and addressed to
    its endpoint (`http://host:port`, as in the connection string).

    A backend reuses one REST token for many calls, so a token whose signature held is
    remembered and only its expiry is checked again: the signature check is most of the cost
    of a small REST call."""

    _REMEMBERED = 1024

    def __init__(
        self, endpoint: str, access_key: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.endpoint = endpoint
        self._access_key = access_key
        self._clock = clock
        self._verified: dict[str, dict[str, Any]] = {}

    def rest_call(self, headers: Mapping[str, str], path: str, query: str) -> dict[str, Any]:
        claims = self._claims(bearer_token(headers, None))
        check_rest_audience(claims, self.endpoint, path, query)
        return claims

    def client(
        self, headers: Mapping[str, str], access_token: str | None, hub: str
    ) -> dict[str, Any]:
        claims = self._claims(bearer_token(headers, access_token))
        check_client_audience(claims, self.endpoint, hub)
        return claims

    def _claims(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is None:
            claims = verify(token, self._access_key)
            if len(self._verified) >= self._REMEMBERED:
                self._verified.clear()
            self._verified[token] = claims
        elif claims["exp"] + LEEWAY_S < self._clock():
            del self._verified[token]
            raise Unauthorized("the token expired")
        return claims


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


def check_rest_audience(claims: Mapping[str, Any], endpoint: str, path: str, query: str) -> None:
    """The audience must be this request's URL on the service's endpoint, query string included
    or not."""
    if not _addresses(tuple(_audiences(claims)), endpoint, path, query):
        raise Unauthorized("the audience is not this request's URL")


@functools.lru_cache(maxsize=1024)
def _addresses(audiences: tuple[str, ...], endpoint: str, path: str, query: str) -> bool:
    """Remembered: a backend sends call after call to one URL with one token."""
    for audience in audiences:
        aud = urlsplit(audience)
        if (
            _same_origin(aud, endpoint)
            and _same_path(aud.path, path)
            and (aud.query == "" or aud.query.lower() == query.lower())
        ):
            return True
    return False


def check_client_audience(claims: Mapping[str, Any], endpoint: str, hub: str) -> None:
    """The audience must be the hub's client URL, `{endpoint}/client/?hub={hub}`. It names the
    service's endpoint even when clients come through a proxy (ClientEndpoint), so the request's
    own Host does not matter."""
    for audience in _audiences(claims):
        aud = urlsplit(audience)
        hubs = parse_qs(aud.query).get("hub", [])
        if (
            _same_origin(aud, endpoint)
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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_origin(audience: SplitResult, endpoint: str) -> bool:
    return _origin(audience) == _origin(urlsplit(endpoint)) != ("", "", 0)


def _origin(url: SplitResult) -> tuple[str, str, int]:
    scheme = url.scheme.lower()
    try:
        port = url.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return ("", "", 0)
    return (scheme, url.hostname or "", port)
