"""The edge's integration rig: real Redis and Azurite, the gateway, SignalR, SendGrid and
Telegram fakes as processes, the edge services as processes, and a stand-in for the backend's
/api/negotiate (built on the cloud's own SignalR adapter) that also publishes test signals."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness import components
from harness.files import write_whole
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, start
from system.adapters.signalr_rest import SignalRConnection, SignalRRest
from system.domain.contracts import OptionContract, Right
from system.domain.signals import Side, Signal, signal_id

PYTHON = sys.executable
API_KEY = "edge-test-key"
HUB = "signals"
TARGET = "signal"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # the detector's span


def until(check: Callable[[], Any], timeout_s: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


# -- third-party servers and fakes ----------------------------------------------------------


def redis_server(tmp: Path) -> tuple[RunningProcess, int]:
    port = free_port()
    return start(components.redis(port, tmp / "redis"), tmp / "logs"), port


@dataclass
class Gateway:
    proc: RunningProcess
    api_port: int
    admin: str

    def orders(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.admin}/orders", timeout=5).json())

    def fault(self, name: str, body: Mapping[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self.admin}/faults/{name}", json=body or {}, timeout=70)
        response.raise_for_status()
        return response.json()

    def set_credential(self, credential: str | None) -> None:
        httpx.post(
            f"{self.admin}/credential", json={"credential": credential}, timeout=5
        ).raise_for_status()

    def refs(self) -> dict[str, int]:
        """How many orders the gateway holds per orderRef (lost ones included)."""
        counts: dict[str, int] = {}
        for order in self.orders():
            counts[order["orderRef"]] = counts.get(order["orderRef"], 0) + 1
        return counts


def gateway(tmp: Path, *extra: str) -> Gateway:
    api, admin = free_port(), free_port()
    argv = [PYTHON, "-m", "fakes.tws", "--host", "127.0.0.1", "--port", str(api)]
    argv += ["--admin-port", str(admin), "--seed", "3", "--state-file", str(tmp / "tws.state")]
    spec = ProcessSpec("tws", [*argv, *extra], log_line(r"^fakes\.tws ready"))
    return Gateway(start(spec, tmp / "logs"), api, f"http://127.0.0.1:{admin}")


def signalr(tmp: Path, access_key: str, *extra: str) -> tuple[RunningProcess, str]:
    port = free_port()
    argv = [PYTHON, "-m", "fakes.signalr", "--port", str(port), "--access-key", access_key]
    argv += extra
    proc = start(ProcessSpec("signalr", argv, log_line(r"^Endpoint=http://")), tmp / "logs")
    return proc, f"Endpoint=http://127.0.0.1:{port};AccessKey={access_key};Version=1.0;"


def http_fake(tmp: Path, module: str, *args: str) -> tuple[RunningProcess, str]:
    """The SendGrid or Telegram fake; returns the base URL its ready line names."""
    port = free_port()
    argv = [PYTHON, "-m", f"fakes.{module}", "--host", "127.0.0.1", "--port", str(port), *args]
    proc = start(ProcessSpec(module, argv, log_line(rf"^{module} ready ")), tmp / "logs")
    line = next(x for x in proc.log_text().splitlines() if x.startswith(f"{module} ready "))
    return proc, line.split()[-1]


# -- the cloud side the edge needs: negotiate and publish ---------------------------------


class Cloud:
    """POST /api/negotiate as the backend serves it (API key, then the SignalR redirect), and
    publishing through the SignalR REST API: the cloud's adapter, in a thread of its own."""

    def __init__(self, connection_string: str, client_endpoint: str | None = None) -> None:
        if client_endpoint is not None:  # clients come in through a proxy (the VPN link)
            connection_string += f"ClientEndpoint={client_endpoint};"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.negotiations = 0
        self._connection = SignalRConnection.parse(connection_string)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._rest = self._call(self._make_rest())
        app = Starlette(
            routes=[
                Route("/api/negotiate", self._negotiate, methods=["POST"]),
                Route("/health", self._health),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)  # off the main thread: it leaves signals alone
        self._serving = asyncio.run_coroutine_threadsafe(self._server.serve(), self._loop)
        until(lambda: self._server.started, 10, "the negotiate stand-in")

    async def _make_rest(self) -> SignalRRest:
        return SignalRRest(self._connection, HUB, TARGET)

    def _call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _negotiate(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"detail": "a valid API key is required"}, status_code=401)
        self.negotiations += 1
        access = self._rest.negotiate(request.query_params.get("userId"))
        return JSONResponse({"url": access.url, "accessToken": access.access_token})

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def publish(self, signal: Signal) -> None:
        self._call(self._rest.publish(signal))

    def send_raw(self, body: Mapping[str, Any]) -> None:
        """Any broadcast body, valid or not, through the same REST API."""

        url = f"{self._connection.endpoint}/api/hubs/{HUB}/:send"
        claims = {"aud": url, "exp": int(time.time()) + 600}
        token = jwt.encode(claims, self._connection.access_key.encode(), algorithm="HS256")
        response = httpx.post(
            url,
            params={"api-version": "2022-06-01"},
            content=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response.raise_for_status()

    def close(self) -> None:
        self._server.should_exit = True
        self._serving.result(timeout=10)
        self._call(self._rest.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


# -- signals and strategy -------------------------------------------------------------------


def listed_contract(strike: int = 590, right: Right = Right.CALL) -> OptionContract:
    """A contract the gateway lists: a Friday expiry next week, a strike near spot 590."""
    today = dt.datetime.now(dt.UTC).date()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 + 7)
    return OptionContract(symbol="SPY", expiry=friday, strike=Decimal(strike), right=right)


_counter = iter(range(10**9))


def make_signal(
    contract: OptionContract | None = None,
    ttl_s: float = 30.0,
    side: Side = Side.BUY,
    age_s: float = 0.0,
    reference_price: Decimal = Decimal("4.00"),
) -> Signal:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s)
    chosen = contract or listed_contract()
    return Signal(
        id=signal_id(now, chosen, side, f"test-{next(_counter)}"),
        created_at=now,
        contract=chosen,
        side=side,
        score=9.0,
        reason="integration test",
        expires_at=now + dt.timedelta(seconds=ttl_s),
        reference_price=reference_price,
        trace_context={"traceparent": TRACEPARENT},
    )


STRATEGY = """
limits:
  max_position_per_contract: 100000
  max_orders_per_minute: {rate}
  max_notional: 100000000
  kill_switch: {kill}
quantity: {quantity}
order_type: {order_type}
"""


def write_strategy(
    path: Path, rate: int = 6000, quantity: int = 1, kill: bool = False, order_type: str = "MKT"
) -> Path:
    """The strategy file in a folder of its own, as a ConfigMap mount is, replaced whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = STRATEGY.format(
        rate=rate, quantity=quantity, kill=str(kill).lower(), order_type=order_type
    )
    write_whole(path, text)
    return path


# -- the edge services ----------------------------------------------------------------------


@dataclass
class Service:
    proc: RunningProcess
    http: str
    data: Path = field(default_factory=Path)

    def status(self) -> dict[str, Any]:
        try:
            return dict(httpx.get(f"{self.http}/status", timeout=2).json())
        except httpx.HTTPError:
            return {}

    def metric(self, name: str) -> float:
        """The sum of a Prometheus metric's samples with this exact name (0 if absent)."""
        text = httpx.get(f"{self.http}/metrics", timeout=2).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def outcomes(self) -> dict[str, tuple[str, str]]:
        """signal id -> (outcome, reason) for every signal this bot's ledger has closed."""
        with sqlite3.connect(f"file:{self.data / 'ledger.sqlite'}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT id, outcome, reason FROM signals WHERE outcome IS NOT NULL"
            ).fetchall()
        return {r[0]: (r[1], r[2] or "") for r in rows}


def bot_spec(
    name: str,
    tmp: Path,
    *,
    redis_port: int,
    ib_port: int,
    cloud: Cloud,
    strategy: Path,
    env: Mapping[str, str] | None = None,
) -> tuple[ProcessSpec, int, Path]:
    port = free_port()
    data = tmp / name
    secrets = tmp / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "backend-api-key").write_text(API_KEY + "\n")
    settings = {
        "SPY_BOT_REPLICA_ID": name,
        "SPY_BOT_HTTP_PORT": str(port),
        "SPY_BOT_DATA_DIR": str(data),
        "SPY_BOT_STRATEGY_FILE": str(strategy),
        "SPY_BOT_BACKEND_URL": cloud.url,
        "SPY_BOT_SECRETS": "file",
        "SPY_BOT_SECRETS_DIR": str(secrets),
        "SPY_BOT_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SPY_BOT_LEASE_TTL_MS": "1500",
        "SPY_BOT_LEASE_RENEW_MS": "300",
        "SPY_BOT_LEASE_ACQUIRE_MS": "100",
        "SPY_BOT_LEASE_SAFETY_MS": "300",
        "SPY_BOT_IB_PORT": str(ib_port),
        "SPY_BOT_RECONNECT_FIRST_S": "0.1",
        "SPY_BOT_RECONNECT_MAX_S": "1",
        "SPY_BOT_SWEEP_S": "0.3",
        "SPY_BOT_CONFIRMATION_DIGEST_S": "0.5",
        "SPY_BOT_TELEMETRY": "file",
        "SPY_BOT_TELEMETRY_DIR": str(tmp / "telemetry"),
        "SPY_BOT_SHUTDOWN_GRACE_S": "8",
        **(env or {}),
    }
    argv = [PYTHON, "-m", "system.services.bot"]
    spec = ProcessSpec(name, argv, log_line(r"^bot ready "), env=settings, start_timeout_s=60)
    return spec, port, data


def start_bots(specs: list[tuple[ProcessSpec, int, Path]], tmp: Path) -> list[Service]:
    with ThreadPoolExecutor(len(specs)) as pool:
        procs = list(pool.map(lambda s: start(s[0], tmp / "logs"), specs))
    return [
        Service(proc, f"http://127.0.0.1:{port}", data)
        for proc, (_, port, data) in zip(procs, specs, strict=True)
    ]


def leader_of(bots: list[Service]) -> Service:
    def trading() -> Service | None:
        leaders = [b for b in bots if b.proc.alive() and b.status().get("trading")]
        return leaders[0] if len(leaders) == 1 else None

    found: Service = until(trading, 30, "one trading leader")
    return found


def subscribed(bots: list[Service]) -> None:
    until(
        lambda: all(b.status().get("signalr_connected") for b in bots if b.proc.alive()),
        30,
        "every bot's SignalR session",
    )


@dataclass
class Edge:
    """What every bot test stands on: Redis, the gateway and SignalR simulators, the cloud's
    negotiate and publisher, a strategy file. Whatever is started through it stops with it."""

    tmp: Path
    redis_port: int
    gateway: Gateway
    signalr: RunningProcess
    cloud: Cloud
    strategy: Path
    procs: list[RunningProcess]

    def start_bots(self, *names: str, **env: str) -> list[Service]:
        specs = [
            bot_spec(
                name,
                self.tmp,
                redis_port=self.redis_port,
                ib_port=self.gateway.api_port,
                cloud=self.cloud,
                strategy=self.strategy,
                env=env,
            )
            for name in names
        ]
        bots = start_bots(specs, self.tmp)
        self.procs += [b.proc for b in bots]
        return bots


@contextlib.contextmanager
def edge(tmp: Path, signalr_key: str, *gateway_args: str) -> Iterator[Edge]:
    procs: list[RunningProcess] = []
    cloud = None
    try:
        redis, redis_port = redis_server(tmp)
        procs.append(redis)
        simulator = gateway(tmp, *gateway_args)
        procs.append(simulator.proc)
        hub, connection = signalr(tmp, signalr_key)
        procs.append(hub)
        cloud = Cloud(connection)
        strategy = write_strategy(tmp / "strategy" / "strategy.yaml")
        yield Edge(tmp, redis_port, simulator, hub, cloud, strategy, procs)
    finally:
        for proc in reversed(procs):
            proc.stop()
        if cloud is not None:
            cloud.close()
