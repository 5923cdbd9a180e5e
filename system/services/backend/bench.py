"""python -m system.services.backend.bench: the backend's figures, printed.

1. Detector: scoring one snapshot of a synthetic 8,000-contract SPY chain
   (target: median <= 2 ms).
2. GET /api/signals on one uvicorn worker in its own process (the real app, routes and API-key
   check; a log of 1,000 signals; pages of the default 100), driven by a keep-alive load
   generator in this process (target: >= 2,000 requests/s at p99 <= 20 ms).
3. Signal creation to SignalR REST broadcast accepted, over loopback (target: p99 <= 3 ms),
   against --signalr CONNECTION_STRING, or else against `python -m fakes.signalr` started as a
   process (the backend's code never imports it).

Timings depend on the machine and on what else runs on it: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import uvicorn

from harness.ports import free_port
from system.adapters import telemetry_otel
from system.adapters.clock import SystemClock
from system.adapters.signalr_rest import SignalRConnection, SignalRRest
from system.adapters.tables import TableEventStore
from system.detector.config import DetectorConfig
from system.detector.detector import Detector
from system.detector.synthetic import QuietChain
from system.domain.contracts import OptionContract, Right
from system.domain.signals import Side, Signal, signal_id
from system.ports import Secret
from system.services.backend.app import create_app
from system.services.backend.auth import ApiKeys
from system.services.backend.metrics import BackendMetrics
from system.services.backend.server import AnnouncingServer
from system.services.backend.signal_log import SignalLog

BENCH_KEY = "bench-key"
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CALL = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal(600), right=Right.CALL
)
# Never contacted: GET /api/signals reaches neither Table Storage nor SignalR.
_UNUSED_TABLES = (
    "DefaultEndpointsProtocol=http;AccountName=bench;AccountKey=YmVuY2g=;"
    "TableEndpoint=http://127.0.0.1:9/bench;"
)
_UNUSED_SIGNALR = "Endpoint=http://127.0.0.1:9;AccessKey=bench;Version=1.0;"


def _ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(seconds, q)) * 1000


def bench_detector(snapshots: int) -> None:
    chain = QuietChain(expiries=20, strikes=200)
    detector = Detector(DetectorConfig())
    warm = DetectorConfig().baseline_window + 1
    frames = [chain.next(START + timedelta(seconds=i)) for i in range(snapshots + warm)]
    for frame in frames[:warm]:  # fill the baselines, so every contract is scored
        detector.observe(frame, frame.taken_at)
    took, cpu = [], []
    for frame in frames[warm:]:
        started, started_cpu = time.perf_counter(), time.thread_time()
        detector.observe(frame, frame.taken_at)
        took.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    print(
        f"detector, {len(chain.contracts)} contracts x {snapshots} snapshots: "
        f"median {_ms(took, 50):.2f} ms, p90 {_ms(took, 90):.2f} ms, "
        f"p99 {_ms(took, 99):.2f} ms; CPU median {_ms(cpu, 50):.2f} ms"
        f"   (target: median <= 2 ms)",
        flush=True,
    )


def make_signal(i: int, now: datetime) -> Signal:
    return Signal(
        id=signal_id(START + timedelta(seconds=i), CALL, Side.BUY, "volume_surge"),
        created_at=now,
        contract=CALL,
        side=Side.BUY,
        score=9.5,
        reason="volume surge: 5000 traded since the last snapshot, baseline median 12",
        expires_at=now + timedelta(seconds=30),
    )


class _BenchSecrets:
    """The API key the load generator presents: the benchmark has no vault."""

    async def get(self, name: str) -> Secret:
        return Secret(name=name, value=BENCH_KEY, version="bench")

    async def aclose(self) -> None:
        """Nothing is held open."""


def serve_signals(port: int) -> None:
    """The server half of (2)."""
    signals = SignalLog(10_000)
    for i in range(1000):
        signals.add(make_signal(i, START + timedelta(milliseconds=i)))
    keys = ApiKeys(_BenchSecrets(), "keys")
    asyncio.run(keys.load())
    app = create_app(
        keys=keys,
        signals=signals,
        store=TableEventStore(_UNUSED_TABLES),
        negotiator=SignalRRest(SignalRConnection.parse(_UNUSED_SIGNALR), "bench", "signal"),
        dependencies={},
        metrics=BackendMetrics(),
        clock=SystemClock(),
        anomalies_table="anomalies",
        zone=ZoneInfo("America/New_York"),
        page_default=100,
        page_max=500,
        ready_timeout_s=1.0,
    )
    config = uvicorn.Config(app, port=port, log_level="warning", access_log=False)
    asyncio.run(AnnouncingServer(config, "serving").serve())


@contextmanager
def _process(argv: list[str], ready: str) -> Iterator[tuple[int, re.Match[str]]]:
    """A child process, until the context ends; yields its pid and the match of its ready
    line."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if found := re.search(ready, line):
                yield child.pid, found
                return
        raise RuntimeError(f"{argv[2]} exited before it was ready")
    finally:
        child.terminate()
        child.wait(timeout=15)


async def _load(port: int, path: str, seconds: float, connections: int) -> list[float]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {BENCH_KEY}\r\n\r\n"
    ).encode()
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        end = time.perf_counter() + seconds
        while (sent := time.perf_counter()) < end:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace").splitlines()[0])
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length[1]) if length else 0)
            latencies.append(time.perf_counter() - sent)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies


def bench_signals_api(seconds: float, connections: int) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "system.services.backend.bench", "--serve-signals", str(port)]
    with _process(argv, r"serving") as (pid, _):
        asyncio.run(_load(port, "/api/signals", 1.0, connections))  # warm up
        cpu_before = _cpu_seconds(pid)
        took = asyncio.run(_load(port, "/api/signals", seconds, connections))
        cpu_per_request = (_cpu_seconds(pid) - cpu_before) / len(took)
    print(
        f"GET /api/signals (100 per page), 1 worker, {connections} connections, {seconds:g} s: "
        f"{len(took) / seconds:,.0f} requests/s, p50 {_ms(took, 50):.2f} ms, "
        f"p99 {_ms(took, 99):.2f} ms; server CPU {cpu_per_request * 1e3:.3f} ms/request "
        f"(a free core: {1 / cpu_per_request:,.0f}/s)   (target: >= 2,000/s at p99 <= 20 ms)",
        flush=True,
    )


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _publish_latencies(connection: str, count: int) -> list[float]:
    bus = SignalRRest(SignalRConnection.parse(connection), "bench", "signal")
    telemetry = telemetry_otel.disabled("bench")
    took = []
    try:
        for i in range(count + 50):
            started = time.perf_counter()
            with telemetry.span("signal") as context:
                signal = make_signal(i, datetime.now(UTC))
                traced = signal.model_copy(update={"trace_context": context})
            await bus.publish(traced)
            took.append(time.perf_counter() - started)
    finally:
        await bus.aclose()
    return took[50:]  # the first ones pay for connecting


def bench_publish(connection: str | None, count: int) -> None:
    if connection is None:
        argv = [sys.executable, "-m", "fakes.signalr", "--port", "0"]
        with _process(argv, r"^(Endpoint=\S+)") as (_, ready):
            took = asyncio.run(_publish_latencies(ready[1], count))
        against = "fakes.signalr"
    else:
        took = asyncio.run(_publish_latencies(connection, count))
        against = "the given service"
    print(
        f"signal creation -> SignalR broadcast accepted ({against}), {count} sequential: "
        f"p50 {_ms(took, 50):.2f} ms, p99 {_ms(took, 99):.2f} ms   (target: p99 <= 3 ms)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m system.services.backend.bench")
    parser.add_argument("--snapshots", type=int, default=500, help="detector snapshots timed")
    parser.add_argument("--seconds", type=float, default=10.0, help="GET /api/signals load time")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--publishes", type=int, default=2000, help="SignalR broadcasts timed")
    parser.add_argument("--signalr", metavar="CONNECTION_STRING", help="a SignalR service")
    parser.add_argument("--serve-signals", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_signals:
        serve_signals(args.serve_signals)
        return
    bench_detector(args.snapshots)
    bench_signals_api(args.seconds, args.connections)
    bench_publish(args.signalr, args.publishes)


if __name__ == "__main__":
    main()
