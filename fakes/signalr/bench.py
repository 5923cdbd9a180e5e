"""python -m fakes.signalr.bench: how fast the fake fans a broadcast out.

Starts the fake as its own process on a free loopback port, connects N WebSocket clients that
speak the JSON hub protocol (lean ones: they count messages, so the figures are the fake's, not
a client library's), then measures:

1. latency: one broadcast at a time, from just before the REST call (`POST /api/hubs/bench/:send`)
   until the last of the N clients has the message;
2. throughput: a burst of broadcasts with a few REST calls in flight, until every client has
   every message; messages delivered per second across all clients.

The measuring process shares the machine with the fake; on a busy or small machine the figures
include that contention.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import h11
import uvloop
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from fakes.signalr.auth import issue_token
from harness.ports import free_port
from harness.process import ProcessSpec, log_line, running

HUB = "bench"
KEY = "bench-access-key-0123456789-abcdefghijklmnop"
INVOCATION = b'{"type":1,'


class Deliveries:
    """Counts the invocations every client has received; wakes whoever waits for a total."""

    def __init__(self) -> None:
        self.total = 0
        self._expected = 0
        self._reached = asyncio.Event()
        self.reached_at = 0.0

    def expect(self, total: int) -> None:
        self._expected = total
        self._reached.clear()

    def add(self, count: int) -> None:
        self.total += count
        if self.total >= self._expected and not self._reached.is_set():
            self.reached_at = time.perf_counter()
            self._reached.set()

    async def wait(self) -> float:
        await self._reached.wait()
        return self.reached_at


class _Receiver(asyncio.Protocol):
    """One client: the websockets library's sans-I/O protocol on a bare asyncio transport,
    which costs a few microseconds a frame where a full client library costs tens."""

    def __init__(self, uri: str, token: str, deliveries: Deliveries) -> None:
        self._ws = ClientProtocol(parse_uri(uri))
        self._request = self._ws.connect()
        self._request.headers["Authorization"] = f"Bearer {token}"
        self._deliveries = deliveries
        self._transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._ws.send_request(self._request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self._ws.receive_data(data)
        for event in self._ws.events_received():
            if not isinstance(event, Frame):  # the upgrade's response
                self._ws.send_text(b'{"protocol":"json","version":1}\x1e')
            elif event.opcode is Opcode.TEXT and self.ready.done():
                self._deliveries.add(bytes(event.data).count(INVOCATION))
            elif event.opcode is Opcode.TEXT:
                self.ready.set_result(None)  # the handshake answer
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"the fake refused a client: {exc}"))

    def _flush(self) -> None:
        assert self._transport is not None
        for chunk in self._ws.data_to_send():
            self._transport.write(chunk)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def _connect(endpoint: str, count: int, deliveries: Deliveries) -> list[_Receiver]:
    token = issue_token(KEY, f"{endpoint}/client/?hub={HUB}")
    uri = f"{endpoint.replace('http://', 'ws://')}/client/?hub={HUB}"
    target = parse_uri(uri)
    loop = asyncio.get_running_loop()
    receivers = []
    for _ in range(count):
        _, receiver = await loop.create_connection(
            lambda: _Receiver(uri, token, deliveries), target.host, target.port
        )
        await receiver.ready
        receivers.append(receiver)
    return receivers


@dataclass(frozen=True)
class Figures:
    clients: int
    latencies_ms: list[float]
    rest_ms: list[float]
    cpu_ms_per_broadcast: float
    burst: int
    burst_s: float

    def report(self) -> str:
        def pct(values: list[float], p: float) -> float:
            return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]

        lat, rest = self.latencies_ms, self.rest_ms
        delivered = self.burst * self.clients
        return "\n".join(
            [
                f"SignalR fake, loopback, {self.clients} clients on hub '{HUB}', JSON protocol; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
                f"broadcast REST call -> delivered to all {self.clients} clients "
                f"(n={len(lat)}): p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms, "
                f"max {max(lat):.2f} ms",
                f"the REST call alone (a hub nobody listens to, 202 back): "
                f"p50 {pct(rest, 50):.2f} ms, p99 {pct(rest, 99):.2f} ms",
                f"the fake's CPU time per broadcast to {self.clients} clients: "
                f"{self.cpu_ms_per_broadcast:.2f} ms (steadier than wall times under load)",
                f"fan-out throughput: {delivered / self.burst_s:,.0f} messages/s delivered "
                f"({self.burst / self.burst_s:,.0f} broadcasts/s x {self.clients} clients, "
                f"{self.burst} broadcasts in {self.burst_s:.2f} s)",
            ]
        )


async def measure(
    endpoint: str,
    fake_cpu_s: Callable[[], float],
    clients: int,
    samples: int,
    warmup: int,
    burst: int,
    in_flight: int,
) -> Figures:
    deliveries = Deliveries()
    receivers = await _connect(endpoint, clients, deliveries)
    lanes = [await _RestLane.open(endpoint) for _ in range(in_flight)]
    try:
        broadcast = _broadcaster(lanes[0], endpoint, HUB)
        alone = _broadcaster(lanes[0], endpoint, f"{HUB}_nobody")
        rest, latencies = [], []
        for n in range(warmup + samples):
            started = time.perf_counter()
            await alone(n)
            if n >= warmup:
                rest.append((time.perf_counter() - started) * 1000)
        for n in range(warmup + samples):
            if n == warmup:
                cpu_before = fake_cpu_s()
            deliveries.expect(deliveries.total + clients)
            started = time.perf_counter()
            await broadcast(n)
            delivered = await deliveries.wait()
            if n >= warmup:
                latencies.append((delivered - started) * 1000)
        cpu_ms = (fake_cpu_s() - cpu_before) * 1000 / samples

        deliveries.expect(deliveries.total + burst * clients)
        pending = iter(range(burst))

        async def sender(lane: _RestLane) -> None:
            send = _broadcaster(lane, endpoint, HUB)
            for n in pending:
                await send(n)

        started = time.perf_counter()
        await asyncio.gather(*(sender(lane) for lane in lanes))
        burst_s = await deliveries.wait() - started
    finally:
        for receiver in receivers:
            receiver.close()
        for lane in lanes:
            lane.close()
    return Figures(clients, latencies, rest, cpu_ms, burst, burst_s)


class _RestLane:
    """One keep-alive HTTP/1.1 connection spoken through h11: the calling side of a REST call at
    its cheapest, so the figures are the fake's and not an HTTP client library's."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self._reader, self._writer, self._host = reader, writer, host
        self._http = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, endpoint: str) -> _RestLane:
        target = urlsplit(endpoint)
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        return cls(reader, writer, target.netloc)

    async def post(self, path: str, token: str, body: bytes) -> None:
        headers = [
            ("Host", self._host),
            ("Authorization", f"Bearer {token}"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ]
        request = self._http.send(h11.Request(method="POST", target=path, headers=headers))
        self._writer.write(
            b"".join(
                [
                    request or b"",
                    self._http.send(h11.Data(data=body)) or b"",
                    self._http.send(h11.EndOfMessage()) or b"",
                ]
            )
        )
        while True:
            event = self._http.next_event()
            if event is h11.NEED_DATA:
                self._http.receive_data(await self._reader.read(65536))
            elif isinstance(event, h11.Response) and event.status_code != 202:
                raise RuntimeError(f"the fake answered {event.status_code} to a broadcast")
            elif isinstance(event, h11.EndOfMessage):
                self._http.start_next_cycle()
                return

    def close(self) -> None:
        self._writer.close()


def _broadcaster(lane: _RestLane, endpoint: str, hub: str) -> Callable[[int], Awaitable[None]]:
    path = f"/api/hubs/{hub}/:send"
    token = issue_token(KEY, f"{endpoint}{path}")

    async def broadcast(n: int) -> None:
        await lane.post(path, token, b'{"target":"tick","arguments":[%d]}' % n)

    return broadcast


def _cpu_s(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.signalr.bench", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--clients", type=_positive_int, default=100)
    parser.add_argument("--samples", type=_positive_int, default=1000, help="timed broadcasts")
    parser.add_argument("--warmup", type=int, default=100, help="untimed broadcasts first")
    parser.add_argument(
        "--burst", type=_positive_int, default=2000, help="broadcasts for throughput"
    )
    parser.add_argument("--in-flight", type=_positive_int, default=4, help="REST calls in flight")
    args = parser.parse_args(argv)
    spec = ProcessSpec(
        name="signalr-bench",
        argv=[
            sys.executable,
            "-m",
            "fakes.signalr",
            "--port",
            str(free_port()),
            "--access-key",
            KEY,
        ],
        ready=log_line(r"^Endpoint=http://"),
        cwd=Path(__file__).resolve().parents[2],
    )
    with tempfile.TemporaryDirectory() as logs, running(spec, Path(logs)) as fake:
        found = re.search(r"^Endpoint=(http://[^;]+);", fake.log_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"the fake printed no connection string:\n{fake.log_tail()}")
        # uvloop (uvicorn's loop too): the measuring side should cost as little as it can.
        figures = uvloop.run(
            measure(
                found.group(1),
                lambda: _cpu_s(fake.pid),
                args.clients,
                args.samples,
                args.warmup,
                args.burst,
                args.in_flight,
            )
        )
    print(figures.report())


if __name__ == "__main__":
    main()
