"""python -m system.services.bot.bench: the trading bot's figures, printed.

1. Signal received -> placeOrder written to the gateway socket, inside the bot (target: p99
   <= 1 ms). The SignalR JSON frames, as the service sends them, come over a loopback socket
   from a sender process of their own, each at its time; the bot reads each one, decodes it with
   its hub protocol, validates it, hands it to the trader (ledger, strategy, risk, ledger intent
   with lease check) and places it through ib_async on a real socket to the IB Gateway
   simulator, which acknowledges and fills (those events are processed concurrently, as in
   production). Two figures:
   - inside the bot, the issue's figure: from the bot decoding the frame until the broker's place
     returns, its write to the socket done (ib_async's record of the new trade follows in the
     next callback), on the bot's own monotonic clock, per order (the trader's `on_placed` hook);
   - socket to socket: from the frame reaching the bot's socket to the order reaching the
     simulator's (both the kernel's receive timestamps, on the wall clock). This adds the bot's
     wake-up and read, a rehearsal still running when the frame came, and the loopback delivery.
   The lease is the real Redis lease; spans are exported to files by the SDK's background
   thread. The rate stays under IB's 50 messages/s pacing.
   CPU placement (`--cpus`): on a loopback socket the write wakes the simulator on the writer's
   own CPU, where it preempts the bot in the middle of its write (0.5-0.8 ms on 2 vCPUs). In
   production the gateway is another pod. `split` (the default where there are two CPUs or
   more) runs the simulator and Redis on the last CPU and the bot on the others; `shared`
   leaves placement to the scheduler, as the bench did before.
   Rehearsal (`--rehearse-ms`, as SPY_BOT_REHEARSE_EVERY_MS): the bot runs its hot path on its
   last signal every millisecond between signals, keeping and sending nothing (decoding,
   strategy, risk, the ledger's inserts rolled back, the order encoded), as trading systems do
   to keep that path in the CPU's caches; 0 measures the path left cold for the 25 ms between
   signals (its in-bot p50 1.5-1.7 times the rehearsed one's on this kind of VM). A signal that
   waits for a rehearsal to end (one takes ~180 µs at p50) shows in the socket-to-socket figure.
   CPU idle (`--cpu-idle`): `poll` (the default) keeps every CPU polling when idle for the
   bench's run, as the edge node's latency profile does (harness.cpu_idle); on a VM a halted
   vCPU makes the next signal's work run up to twice as slow. `any` lets them halt.
2. Leader killed with SIGKILL -> first order placed by the new leader (target: <= lease TTL
   + 1 s). Three bot processes, Redis, the gateway and SignalR simulators, and a stand-in for the
   backend's negotiate; a signal is published every 50 ms; the time runs from the SIGKILL to
   the gateway receiving the new leader's first order (ids above all the dead leader's). No
   CPU placement here.

The simulators (`python -m fakes.tws`, `python -m fakes.signalr`) run as processes: the bot's
code never imports them. Timings depend on the machine and on what else runs on it (the load
average is printed beside the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import gc
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from pysignalr.messages import InvocationMessage
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.common.rx_stamp import StampingListener, last_arrival
from harness import components
from harness.cpu_idle import ShallowIdle
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, start
from system.adapters import telemetry_otel
from system.adapters.broker_ib import IbBroker
from system.adapters.clock import SystemClock
from system.adapters.signalr_client import SignalRSubscription, TolerantJSONProtocol
from system.adapters.signalr_rest import SignalRConnection, SignalRRest
from system.domain.contracts import OptionContract, Right
from system.domain.signals import Side, Signal, signal_id
from system.edge.alerting import AlertGate, FanOut
from system.edge.backoff import Backoff
from system.edge.board_redis import RedisBoard
from system.edge.leadership import Leadership, LeaseTiming
from system.edge.lease_redis import RedisLease
from system.edge.ledger import Ledger
from system.edge.runtime import every
from system.edge.sqlite import checkpoint
from system.edge.strategy_config import StrategySource
from system.services.bot.metrics import BotMetrics
from system.services.bot.settings import BotSettings
from system.services.bot.trader import Trader

T = TypeVar("T")
PYTHON = sys.executable
API_KEY = "bench-api-key"
ACCESS_KEY = "bench-signalr-access-key-0123456789"
STRATEGY = """
limits:
  max_position_per_contract: 1000000
  max_orders_per_minute: 100000
  max_notional: 1000000000
quantity: 1
order_type: MKT
"""
_serial = iter(range(10**9))


def _contract() -> OptionContract:
    today = dt.datetime.now(dt.UTC).date()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 + 7)
    return OptionContract(symbol="SPY", expiry=friday, strike=Decimal(590), right=Right.CALL)


def _signal(contract: OptionContract) -> Signal:
    now = dt.datetime.now(dt.UTC)
    return Signal(
        id=signal_id(now, contract, Side.BUY, f"bench-{next(_serial)}"),
        created_at=now,
        contract=contract,
        side=Side.BUY,
        score=9.0,
        reason="bench",
        expires_at=now + dt.timedelta(seconds=60),
        reference_price=Decimal("4.00"),
        trace_context={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )


def _gateway(tmp: Path) -> tuple[RunningProcess, int, str]:
    api, admin = free_port(), free_port()
    argv = [PYTHON, "-m", "fakes.tws", "--host", "127.0.0.1", "--port", str(api)]
    argv += ["--admin-port", str(admin), "--seed", "5", "--state-file", str(tmp / "tws.state")]
    proc = start(ProcessSpec("tws", argv, log_line(r"^fakes\.tws ready")), tmp / "logs")
    return proc, api, f"http://127.0.0.1:{admin}"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(micros: list[float]) -> str:
    return (
        f"p50 {_pct(micros, 0.5):.0f} us, p90 {_pct(micros, 0.9):.0f} us, p99 "
        f"{_pct(micros, 0.99):.0f} us, max {max(micros):.0f} us, mean "
        f"{statistics.fmean(micros):.0f} us"
    )


class _Placement:
    """Where the latency bench runs: the bot (this thread, and the threads it starts) apart from
    the simulators, or wherever the scheduler puts them."""

    def __init__(self, mode: str) -> None:
        pinning = hasattr(os, "sched_setaffinity")  # Linux
        self._before = os.sched_getaffinity(0) if pinning else set()
        cpus = sorted(self._before)
        self.split = mode == "split" and len(cpus) >= 2
        self.bot = set(cpus[:-1])
        self.simulators = set(cpus[-1:])

    def __str__(self) -> str:
        if not self.split:
            return "CPUs shared (placement left to the scheduler)"
        bot, simulators = _cpus(self.bot), _cpus(self.simulators)
        return f"bot on CPU {bot}, gateway simulator and Redis on CPU {simulators}"

    def enter(self) -> None:
        if self.split:
            os.sched_setaffinity(0, self.bot)

    def simulator(self, proc: RunningProcess) -> None:
        if self.split:
            for thread in os.listdir(f"/proc/{proc.pid}/task"):  # each of its threads
                os.sched_setaffinity(int(thread), self.simulators)

    def leave(self) -> None:
        if self.split:
            os.sched_setaffinity(0, self._before)


def _cpus(cpus: set[int]) -> str:
    return ",".join(map(str, sorted(cpus)))


# -- 1. inside the bot ------------------------------------------------------------------------


async def _inside_the_bot(
    tmp: Path, count: int, rate: float, warmup: int, placement: _Placement, rehearse_ms: float
) -> tuple[list[float], list[float]]:
    """Per measured signal, in microseconds: decoded -> written (bot's clock) and at the bot's
    socket -> at the gateway's (kernel stamps, wall clock)."""
    redis_proc = start(components.redis(redis_port := free_port(), tmp / "redis"), tmp / "logs")
    gateway, api_port, admin = _gateway(tmp)
    placement.simulator(redis_proc)
    placement.simulator(gateway)
    written: dict[str, int] = {}
    redis = Redis.from_url(f"redis://127.0.0.1:{redis_port}/0")
    try:
        (tmp / "strategy").mkdir()
        (tmp / "strategy" / "strategy.yaml").write_text(STRATEGY)
        ledger_file = tmp / "bot" / "ledger.sqlite"
        ledger = Ledger.open(ledger_file, "bench", autocheckpoint=False)  # as the bot does
        broker = IbBroker(
            "127.0.0.1", api_port, 1, id_floor=lambda: ledger.max_broker_order_id() + 1
        )
        lease = RedisLease(redis, "bench:leader", "bench", 3000)
        timing = LeaseTiming(ttl_s=3.0, renew_every_s=1.0, acquire_every_s=0.2, safety_s=0.3)
        telemetry = telemetry_otel.to_files("bot-bench", tmp / "telemetry")
        trader: Trader
        leadership = Leadership(lease, timing, lambda t: trader.lead(t), lambda: trader.follow())
        trader = Trader(
            ledger=ledger,
            broker=broker,
            board=RedisBoard(redis, lease, "bench"),
            gate=leadership,
            strategy=StrategySource(tmp / "strategy" / "strategy.yaml"),
            telemetry=telemetry,
            alerts=AlertGate(FanOut([])),
            confirmations=FanOut([]),
            clock=SystemClock(),
            metrics=BotMetrics(),
            backoff=Backoff(0.1, 1.0),
            on_placed=written.__setitem__,
        )
        subscription = SignalRSubscription(
            "http://unused/api",
            consumer=trader.consume,
            target="signal",
            headers={},
            on_drop=lambda _r: None,
            on_state=lambda _u: None,
            reconnect=Backoff(0.1, 1.0),
        )
        protocol = TolerantJSONProtocol(frozenset({"signal"}), lambda _r, _d: None)

        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(leadership.run()),
            loop.create_task(trader.run_broker_events()),
            loop.create_task(trader.run_publications()),
            loop.create_task(every(5.0, lambda: asyncio.to_thread(checkpoint, ledger_file), "")),
        ]

        async def rehearse() -> None:  # as the bot's service does
            if trader.trading:
                protocol.rehearse()
                await trader.rehearse()

        if rehearse_ms > 0:
            tasks.append(loop.create_task(every(rehearse_ms / 1000, rehearse, "rehearsal")))
        for _ in range(1200):  # up to a minute for the lease, the gateway and reconciliation
            if trader.trading:
                break
            await asyncio.sleep(0.05)
        contract = _contract()
        signals = [_signal(contract) for _ in range(warmup + count)]
        frames = tmp / "frames"
        frames.write_bytes(b"".join(_frame(s) for s in signals))
        queue: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
        listener = StampingListener(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        server = await loop.create_server(lambda: _FrameLink(queue), sock=listener)
        gc.freeze()  # as the bot does once it has started
        sender = start(_sender(listener.getsockname()[1], rate, frames), tmp / "logs")
        placement.simulator(sender)
        received: dict[str, int] = {}  # when each signal's frame reached the bot's socket
        try:
            while len(received) < len(signals):
                frame, arrived = await queue.get()
                for message in protocol.decode(frame):
                    if isinstance(message, InvocationMessage):
                        received[message.arguments[0].id] = arrived
                        await subscription.deliver(message.arguments, protocol.frame_ns)
            await asyncio.sleep(1.0)
        finally:
            sender.stop()
            server.close()
        ids = [s.id for s in signals[warmup:]]
        async with httpx.AsyncClient() as client:
            orders = (await client.get(f"{admin}/orders", timeout=10)).json()
        at_gateway = {o["orderRef"]: o["received_at_ns"] for o in orders}
        missing = [i for i in ids if i not in at_gateway or i not in written]
        if missing:
            raise SystemExit(f"{len(missing)} signals were not placed; see {tmp}")
        await leadership.release()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.disconnect()
        telemetry.shutdown()
        return (
            [written[i] / 1e3 for i in ids],
            [(at_gateway[i] - received[i]) / 1e3 for i in ids],
        )
    finally:
        await redis.aclose()
        gateway.stop()
        redis_proc.stop()


def _frame(signal_: Signal) -> bytes:
    """A signal invocation as the SignalR service frames it (JSON hub protocol)."""
    body = '{"type":1,"target":"signal","arguments":[' + signal_.model_dump_json() + "]}"
    return body.encode() + b"\x1e"


class _FrameLink(asyncio.Protocol):
    """The bot's end of the signals' link: each frame, with when the kernel received it, queued
    for one reader (pysignalr's websocket reader too hands frames to a task of its own)."""

    def __init__(self, queue: asyncio.Queue[tuple[bytes, int]]) -> None:
        self._queue = queue
        self._partial = b""

    def data_received(self, data: bytes) -> None:
        arrived = last_arrival()
        *frames, self._partial = (self._partial + data).split(b"\x1e")
        for frame in frames:
            self._queue.put_nowait((frame + b"\x1e", arrived))


# The frames' sender, as the SignalR service sends them: a process of its own (no share of the
# bot's interpreter), on the simulators' CPU, each frame written at its time.
_SENDER = """
import socket, sys, time
port, rate, frames = int(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3], "rb").read()
sock = socket.create_connection(("127.0.0.1", port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("sender connected", flush=True)
start = time.monotonic()
for index, frame in enumerate(frames.split(b"\\x1e")[:-1]):
    time.sleep(max(0.0, start + index / rate - time.monotonic()))
    sock.sendall(frame + b"\\x1e")
time.sleep(60)
"""


def _sender(port: int, rate: float, frames: Path) -> ProcessSpec:
    argv = [sys.executable, "-c", _SENDER, str(port), str(rate), str(frames)]
    return ProcessSpec("sender", argv, log_line(r"^sender connected"))


# -- 2. failover ------------------------------------------------------------------------------


class _Cloud:
    """The backend's POST /api/negotiate (API key, then the SignalR redirect) and a publisher,
    on the cloud's own SignalR adapter, in a thread of their own."""

    def __init__(self, connection: str) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._rest = self._call(self._make(connection))
        app = Starlette(routes=[Route("/api/negotiate", self._negotiate, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.run_coroutine_threadsafe(self._server.serve(), self._loop)
        while not self._server.started:
            time.sleep(0.02)

    async def _make(self, connection: str) -> SignalRRest:
        return SignalRRest(SignalRConnection.parse(connection), "signals", "signal")

    def _call(self, work: Coroutine[Any, Any, SignalRRest]) -> SignalRRest:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(30)

    async def _negotiate(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"detail": "unauthorised"}, status_code=401)
        access = self._rest.negotiate(request.query_params.get("userId"))
        return JSONResponse({"url": access.url, "accessToken": access.access_token})

    def publish_every(self, seconds: float, stop: threading.Event) -> threading.Thread:
        contract = _contract()

        def run() -> None:
            while not stop.wait(seconds):
                asyncio.run_coroutine_threadsafe(
                    self._rest.publish(_signal(contract)), self._loop
                ).result(10)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._server.should_exit = True
        self._serving.result(10)
        asyncio.run_coroutine_threadsafe(self._rest.aclose(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def _status(port: int) -> dict[str, object]:
    try:
        return dict(httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).json())
    except httpx.HTTPError:
        return {}


def _wait_for(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while (found := check()) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.02)
    return found


def _first_order_from(admin: str, order_id: int) -> int | None:
    """When the gateway received the first order with an id of at least `order_id`."""
    orders = httpx.get(f"{admin}/orders", timeout=5).json()
    received = [o["received_at_ns"] for o in orders if o["orderId"] >= order_id]
    return min(received) if received else None


def _failover(tmp: Path, rounds: int, ttl_ms: int) -> list[float]:
    procs: list[RunningProcess] = []
    cloud = None
    stop = threading.Event()
    try:
        redis_port = free_port()
        procs.append(start(components.redis(redis_port, tmp / "redis"), tmp / "logs"))
        gateway, api_port, admin = _gateway(tmp)
        procs.append(gateway)
        signalr_port = free_port()
        argv = [PYTHON, "-m", "fakes.signalr", "--port", str(signalr_port)]
        argv += ["--access-key", ACCESS_KEY]
        procs.append(start(ProcessSpec("signalr", argv, log_line(r"^Endpoint=")), tmp / "logs"))
        cloud = _Cloud(f"Endpoint=http://127.0.0.1:{signalr_port};AccessKey={ACCESS_KEY};")
        cloud_port = cloud.port
        (tmp / "secrets").mkdir()
        (tmp / "secrets" / "backend-api-key").write_text(API_KEY)
        (tmp / "strategy").mkdir()
        (tmp / "strategy" / "strategy.yaml").write_text(STRATEGY)

        def bot(name: str, attempt: int) -> tuple[RunningProcess, int]:
            port = free_port()
            env = {
                "SPY_BOT_REPLICA_ID": name,
                "SPY_BOT_HTTP_PORT": str(port),
                "SPY_BOT_DATA_DIR": str(tmp / name),
                "SPY_BOT_STRATEGY_FILE": str(tmp / "strategy" / "strategy.yaml"),
                "SPY_BOT_BACKEND_URL": f"http://127.0.0.1:{cloud_port}",
                "SPY_BOT_SECRETS_DIR": str(tmp / "secrets"),
                "SPY_BOT_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "SPY_BOT_LEASE_TTL_MS": str(ttl_ms),
                "SPY_BOT_IB_PORT": str(api_port),
                "SPY_BOT_TELEMETRY": "none",
                "SPY_BOT_LOG_LEVEL": "warning",
            }
            spec = ProcessSpec(
                name,
                [PYTHON, "-m", "system.services.bot"],
                log_line(r"^bot ready "),
                env=env,
                start_timeout_s=60,
            )
            proc = start(spec, tmp / "logs" / f"{name}-{attempt}")
            procs.append(proc)  # stopped at the end, the replacements too
            return proc, port

        bots = {f"bot-{n}": bot(f"bot-{n}", 0) for n in (1, 2, 3)}
        cloud.publish_every(0.05, stop)
        took: list[float] = []
        for attempt in range(1, rounds + 1):
            name = _wait_for(
                lambda: next((n for n, (_, p) in bots.items() if _status(p).get("trading")), None),
                60,
                "a trading leader",
            )
            time.sleep(1.0)  # steady trading before the kill
            killed_at = time.time_ns()
            bots[name][0].signal(signal.SIGKILL)
            bots[name][0].popen.wait()
            time.sleep(0.05)  # what the dead leader wrote just before has reached the gateway
            # Every order from now on is the new leader's: ids only grow, across connections.
            floor = int(httpx.get(f"{admin}/health", timeout=5).json()["next_valid_id"])
            first = _wait_for(
                functools.partial(_first_order_from, admin, floor),
                ttl_ms / 1000 + 30,
                "an order from the new leader",
            )
            took.append((first - killed_at) / 1e9)
            bots[name] = bot(name, attempt)  # back to three replicas
        return took
    finally:
        stop.set()
        for proc in reversed(procs):
            proc.stop()
        if cloud is not None:
            cloud.close()


@contextlib.contextmanager
def _folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as folder:
        yield Path(folder)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m system.services.bot.bench", description=__doc__
    )
    parser.add_argument("--signals", type=int, default=1000, help="measured signals (1)")
    parser.add_argument("--rate", type=float, default=40.0, help="signals per second (1)")
    parser.add_argument("--rounds", type=int, default=3, help="leader kills (2)")
    parser.add_argument("--ttl-ms", type=int, default=3000, help="lease TTL (2)")
    parser.add_argument(
        "--cpus",
        choices=("split", "shared"),
        default="split",
        help="bot and simulators on CPUs of their own, or shared (1)",
    )
    parser.add_argument(
        "--cpu-idle",
        choices=("poll", "any"),
        default="poll",
        help="CPUs poll when idle, as on the edge node (needs root), or may halt",
    )
    parser.add_argument(
        "--rehearse-ms",
        type=float,
        default=BotSettings.model_fields["rehearse_every_ms"].default,
        help="the bot rehearses its hot path this often between signals; 0: never (1)",
    )
    parser.add_argument("--only", choices=("latency", "failover"))
    parser.add_argument("--keep", type=Path, help="keep logs and files in this folder")
    args = parser.parse_args()
    idle = ShallowIdle()
    with _folder(args.keep) as tmp, contextlib.ExitStack() as held:
        if args.cpu_idle == "poll":
            held.enter_context(idle)
        print(f"CPU idle: {idle.status}", flush=True)
        if args.only in (None, "latency"):
            (tmp / "latency").mkdir(exist_ok=True)
            placement = _Placement(args.cpus)
            placement.enter()
            try:
                inside, at_gateway = asyncio.run(
                    _inside_the_bot(
                        tmp / "latency", args.signals, args.rate, 50, placement, args.rehearse_ms
                    )
                )
            finally:
                placement.leave()
            load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
            rehearsal = (
                f"rehearsal every {args.rehearse_ms:g} ms"
                if args.rehearse_ms > 0
                else "no rehearsal"
            )
            print(
                f"{len(inside)} signals at {args.rate:g}/s; {placement}; {rehearsal}; "
                f"load average {load}\n"
                f"signal received -> placeOrder written to the socket, inside the bot (bot's "
                f"clock): {_summary(inside)} (target p99 <= 1000 us)\n"
                f"signal at the bot's socket -> placeOrder at the gateway's socket (kernel's "
                f"receive timestamps): {_summary(at_gateway)}",
                flush=True,
            )
        if args.only in (None, "failover"):
            (tmp / "failover").mkdir(exist_ok=True)
            took = _failover(tmp / "failover", args.rounds, args.ttl_ms)
            target = args.ttl_ms / 1000 + 1
            print(
                f"leader SIGKILL -> first order by the new leader (lease TTL {args.ttl_ms} ms, "
                f"{len(took)} kills): {', '.join(f'{t:.2f} s' for t in took)}; worst "
                f"{max(took):.2f} s (target <= {target:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
