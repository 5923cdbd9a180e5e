"""Benchmark: python -m fakes.tws.bench [--orders N] [--round-trips N] [--connects N]

Starts the simulator as a subprocess (pacing off, zero ack/fill delay, a fresh state file) and
drives it with one real ib_async client over loopback. Prints: connect time, placeOrder ->
Filled round trip p50/p99 (sequential orders), sustained orders/s with the client's throttle off
(a window of orders in flight), and the simulator's resident memory after all orders.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import ib_async

from fakes.tws.instruments import SPY_CON_ID
from harness.ports import LOOPBACK, free_port
from harness.process import ProcessSpec, RunningProcess, log_line, running

SPY = ib_async.Stock("SPY", "SMART", "USD", conId=SPY_CON_ID)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process: a figure a busy machine disturbs less."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _order(n: int) -> ib_async.Order:
    # Alternate sides so the position (and the account maths) stays small.
    return ib_async.MarketOrder("BUY" if n % 2 == 0 else "SELL", 1, orderRef=f"bench-{n}")


async def _connect(port: int, client_id: int) -> ib_async.IB:
    ib = ib_async.IB()
    await ib.connectAsync(LOOPBACK, port, clientId=client_id, timeout=20)
    return ib


async def connect_times(port: int, count: int) -> list[float]:
    samples = []
    for n in range(count):
        started = time.perf_counter()
        ib = await _connect(port, 1000 + n)
        samples.append(time.perf_counter() - started)
        ib.disconnect()
        await asyncio.sleep(0.05)  # let the simulator see the close before the next id
    return samples


async def round_trips(ib: ib_async.IB, count: int, first: int) -> list[float]:
    samples = []
    for n in range(first, first + count):
        done = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        trade = ib.placeOrder(SPY, _order(n))
        trade.filledEvent += lambda t, done=done: done.done() or done.set_result(None)
        await done
        samples.append(time.perf_counter() - started)
    return samples


async def sustained(ib: ib_async.IB, count: int, first: int, window: int) -> float:
    """Orders/s with up to `window` orders in flight; returns the rate over the whole run."""
    in_flight = asyncio.Semaphore(window)
    finished = asyncio.Event()
    remaining = count

    def on_filled(trade: ib_async.Trade) -> None:
        nonlocal remaining
        remaining -= 1
        in_flight.release()
        if remaining == 0:
            finished.set()

    started = time.perf_counter()
    for n in range(first, first + count):
        await in_flight.acquire()
        ib.placeOrder(SPY, _order(n)).filledEvent += on_filled
    await finished.wait()
    return count / (time.perf_counter() - started)


async def run(proc: RunningProcess, port: int, admin: str, args: argparse.Namespace) -> None:
    rss_start = _rss_mib(proc.pid)
    connects = await connect_times(port, args.connects)
    print(
        f"connect (ib_async connectAsync incl. sync, n={len(connects)}): "
        f"p50 {statistics.median(connects) * 1e3:.1f} ms, max {max(connects) * 1e3:.1f} ms"
    )
    ib = await _connect(port, 1)
    ib.client.MaxRequests = 0  # the client-side 45/s throttle off
    await round_trips(ib, 200, 0)  # warm-up
    trips = await round_trips(ib, args.round_trips, 200)
    p50, p99 = statistics.median(trips) * 1e3, _percentile(trips, 0.99) * 1e3
    print(
        f"placeOrder -> Filled round trip (sequential, n={len(trips)}): "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(trips) * 1e3:.3f} ms"
    )
    done = 200 + args.round_trips
    count = args.orders - done
    sim_cpu, client_cpu = _cpu_s(proc.pid), time.process_time()
    rate = await sustained(ib, count, done, args.window)
    sim_cpu, client_cpu = _cpu_s(proc.pid) - sim_cpu, time.process_time() - client_cpu
    print(
        f"sustained throughput (one ib_async client, throttle off, {args.window} in flight, "
        f"{count} orders): {rate:,.0f} orders/s"
    )
    print(
        f"CPU per order: simulator {sim_cpu / count * 1e6:.0f} us, "
        f"ib_async client {client_cpu / count * 1e6:.0f} us"
    )
    rss_end = _rss_mib(proc.pid)  # before the admin listing below, whose JSON is transient
    async with httpx.AsyncClient(timeout=60) as http:
        orders = (await http.get(f"{admin}/orders")).json()
    acks = [(o["acked_at_ns"] - o["received_at_ns"]) / 1e6 for o in orders if o["acked_at_ns"]]
    print(
        f"simulator: received->acked p50 {statistics.median(acks):.3f} ms, "
        f"p99 {_percentile(acks, 0.99):.3f} ms over {len(acks)} orders"
    )
    print(
        f"simulator memory (RSS): {rss_start:.0f} MiB at start, "
        f"{rss_end:.0f} MiB after {len(orders):,} orders"
    )
    ib.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakes.tws.bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000, help="orders in total")
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--connects", type=int, default=20)
    parser.add_argument("--window", type=int, default=200, help="orders in flight")
    args = parser.parse_args(argv)
    if args.orders <= args.round_trips + 200:
        parser.error("--orders must exceed --round-trips + 200 (the warm-up)")
    with tempfile.TemporaryDirectory(prefix="tws-bench-") as folder:
        port, admin_port = free_port(), free_port()
        argv_sim = [
            sys.executable, "-m", "fakes.tws", "--port", str(port), "--admin-port",
            str(admin_port), "--seed", "1", "--state-file", f"{folder}/state.json",
            "--pacing", "off",
        ]  # fmt: skip
        spec = ProcessSpec("tws-bench", argv_sim, log_line(r"^fakes\.tws ready"))
        with running(spec, Path(folder)) as proc:
            asyncio.run(run(proc, port, f"http://{LOOPBACK}:{admin_port}", args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
