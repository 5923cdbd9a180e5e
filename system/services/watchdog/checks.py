"""Engine health checks: one probe per component kind, each answering (healthy, detail).

http: GET the URL (a /health or /ready), healthy on 2xx. tcp: a connection opens. redis: PING.
ib: the TWS API handshake with a reserved client id, read-only, then a clean disconnect (a TCP
connect alone proves nothing: the port speaks IB's binary protocol, not HTTP).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

import httpx
from ib_async import IB
from ib_async.ib import StartupFetch
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

Result = tuple[bool, str]
Check = Callable[[], Awaitable[Result]]


class Component(BaseModel):
    """One thing the watchdog watches, and how to restart it in the local topology."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    check: Literal["http", "tcp", "redis", "ib"]
    target: str = Field(min_length=1)  # a URL (http, redis) or host:port (tcp, ib)
    restart: list[str] = Field(default_factory=list)  # argv; empty: alert only


def _host_port(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host or "127.0.0.1", int(port)


def make_check(
    component: Component,
    http: httpx.AsyncClient,
    timeout_s: float,
    ib_client_id: int = 999,
    ib_credential: Callable[[], Awaitable[str | None]] | None = None,
) -> Check:
    if component.check == "http":

        async def check_http() -> Result:
            response = await http.get(component.target, timeout=timeout_s)
            return response.is_success, f"HTTP {response.status_code}"

        return check_http
    if component.check == "tcp":

        async def check_tcp() -> Result:
            host, port = _host_port(component.target)
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
            writer.close()
            await writer.wait_closed()
            return True, "accepts connections"

        return check_tcp
    if component.check == "redis":

        async def check_redis() -> Result:
            client = Redis.from_url(component.target, socket_timeout=timeout_s)
            try:
                return bool(await client.ping()), "PONG"
            finally:
                await client.aclose()

        return check_redis

    async def check_ib() -> Result:
        host, port = _host_port(component.target)
        ib = IB()
        if ib_credential is not None:
            ib.client.optCapab = await ib_credential() or ""
        try:
            await ib.connectAsync(
                host,
                port,
                ib_client_id,
                timeout=timeout_s,
                readonly=True,
                fetchFields=StartupFetch(0),
            )
            return True, f"API server version {ib.client.serverVersion()}"
        finally:
            ib.disconnect()

    return check_ib


async def run_check(check: Check, timeout_s: float) -> Result:
    """Never raises: a failing or hanging probe is an unhealthy result naming why."""
    try:
        return await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        return False, f"no answer within {timeout_s:g} s"
    except Exception as error:
        return False, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
