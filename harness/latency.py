"""Signal-to-order latency over the real path: signals published to the SignalR hub with the
backend's own SignalBus adapter, traded by the edge bots over the VPN link, and timed by the IB
Gateway simulator's record of when each placeOrder reached its socket (orderRef = signal id; the
kernel's receive timestamp, fakes.common.rx_stamp)."""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import numpy as np

from fakes.tws.instruments import expiries
from harness.cpu_placement import running_on
from harness.hops import HOPS, HopCapture, PathPorts
from harness.host_steal import HostSteal
from harness.link_probe import LinkProbe
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile
from system.adapters.signalr_rest import SignalRConnection, SignalRRest
from system.domain.contracts import OptionContract, Right
from system.domain.signals import Side, Signal, signal_id
from system.ports import SignalBus

# Far above any SPY option's ask: the bots' limit orders are marketable and fill at once, so no
# order rests and the gateway's 20-active-orders-per-contract limit never interferes.
MARKETABLE = Decimal("50")


def listed_contracts(gateway_admin: str, count: int = 3) -> list[OptionContract]:
    """Calls the gateway lists: next week's Friday expiry, strikes at and above spot."""
    spot = round(httpx.get(f"{gateway_admin}/health", timeout=5).json()["spot"])
    expiry = expiries(datetime.now(UTC).date())[1]
    return [
        OptionContract(symbol="SPY", expiry=expiry, strike=Decimal(spot + k), right=Right.CALL)
        for k in range(count)
    ]


def make_signal(
    contract: OptionContract, index: int, ttl_s: float, side: Side = Side.BUY
) -> Signal:
    """A fresh signal, stamped now, priced so that the bots' limit order is marketable."""
    created = datetime.now(UTC)
    return Signal(
        id=signal_id(created, contract, side, f"bench-{index}"),
        created_at=created,
        contract=contract,
        side=side,
        score=9.0,
        reason=f"benchmark signal {index}",
        expires_at=created + timedelta(seconds=ttl_s),
        reference_price=MARKETABLE,
    )


def signals_since(get: Callable[..., Any], since: datetime, **request: Any) -> list[Signal]:
    """Every signal the backend raised since `since`, page by page, asked as an operator would
    (its own API): `get` of an httpx client or of Locust's HttpSession, based at the backend."""
    params: dict[str, Any] = {"since": since.isoformat(), "limit": 500}
    signals: list[Signal] = []
    while True:
        response = get("/api/signals", params=params, **request)
        response.raise_for_status()
        page = response.json()
        signals += [Signal.model_validate(item) for item in page["items"]]
        if not page["next_cursor"]:
            return signals
        params = {"cursor": page["next_cursor"], "limit": 500}


def signal_frame_bytes(contract: OptionContract) -> int:
    """A signal's size on the link: its JSON in the SignalR invocation's envelope."""
    return len(make_signal(contract, 0, 30).model_dump_json()) + 48


async def publish_at_rate(
    bus: SignalBus,
    make: Callable[[int], Signal],
    rate_per_s: float,
    done: Callable[[int], bool],
    published: Callable[[], None] = lambda: None,
) -> list[Signal]:
    """Publish one signal every 1/rate seconds on a fixed schedule (no drift) until `done(n)`
    says n are enough; each is made just before it is sent, so created_at is its send time.
    `published` is called as each publish returns (a link probe marks the link then)."""
    sent: list[Signal] = []
    start = time.monotonic()
    while not done(len(sent)):
        delay = start + len(sent) / rate_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        signal = make(len(sent))
        await bus.publish(signal)
        published()
        sent.append(signal)
    return sent


def signal_bus(signalr_port: int, access_key: str) -> SignalRRest:
    """The backend's own SignalBus adapter, pointed at the run's SignalR service."""
    endpoint = f"Endpoint=http://127.0.0.1:{signalr_port};AccessKey={access_key};Version=1.0;"
    return SignalRRest(SignalRConnection.parse(endpoint), "signals", "signal")


def storm(
    bus: SignalRRest,
    contracts: list[OptionContract],
    rate_per_s: float,
    done: Callable[[int], bool],
    ttl_s: float = 30.0,
    published: Callable[[], None] = lambda: None,
) -> list[Signal]:
    """Fresh signals cycling over `contracts` at `rate_per_s` until `done`; closes the bus."""

    def make(index: int) -> Signal:
        return make_signal(contracts[index % len(contracts)], index, ttl_s)

    async def publish() -> list[Signal]:
        try:
            return await publish_at_rate(bus, make, rate_per_s, done, published)
        finally:
            await bus.aclose()

    # The sender's own collector pauses are not the system's (a scenario sends from the test
    # process, heap and all): off while it sends, as timeit does.
    gc.disable()
    try:
        return asyncio.run(publish())
    finally:
        gc.enable()


@dataclass(frozen=True)
class Beside:
    """What was measured beside the signals: the link's own one-way delay for each (ms), where
    each one's time went, hop by hop (harness.hops), or why that could not be seen, and the CPU
    time the host took from this VM meanwhile (harness.host_steal; None: not measured)."""

    link_ms: list[float] = field(default_factory=list)
    hops_ms: dict[str, list[float]] = field(default_factory=dict)
    hops_unavailable: str = ""
    host_steal_ms: float | None = None

    def hops(self) -> dict[str, Any]:
        """p50/p90/p99 of each hop (ms) over the signals seen all the way, or why none are."""
        if self.hops_unavailable or not self.hops_ms:
            return {"unavailable": self.hops_unavailable or "not captured"}
        hops = self.hops_ms
        figures: dict[str, Any] = {"signals": len(hops[HOPS[0]])}
        for hop in HOPS:
            figures[hop] = _spread(hops[hop])
        # Signal by signal, every hop but the link: what the stack added above the latency the
        # link really injected into that signal (not a difference of two separate p99s).
        stack = zip(*(hops[hop] for hop in HOPS if hop != "link"), strict=True)
        figures["stack"] = _spread([sum(times) for times in stack])
        return figures


def storm_beside_probe(
    bus: SignalRRest,
    contracts: list[OptionContract],
    rate_per_s: float,
    count: int,
    api: Toxiproxy,
    profile: VpnProfile,
    path: PathPorts,
    path_cpus: Set[int],
) -> tuple[list[Signal], Beside]:
    """`count` signals as `storm` sends them, each with a LinkProbe frame of its size across an
    identical link, and their segments on the path captured: the signals, and what was measured
    beside them. The sending thread runs on `path_cpus` (harness.cpu_placement); the probe's
    receiver and the capture, started before, stay where this process was."""
    with (
        HopCapture(path) as capture,
        LinkProbe(api, profile, signal_frame_bytes(contracts[0])) as probe,
        running_on(path_cpus),
        HostSteal() as steal,
    ):
        sent = storm(bus, contracts, rate_per_s, lambda n: n >= count, published=probe.mark)
    return sent, Beside(probe.delays_ms, capture.hops_ms(sent), capture.unavailable, steal.ms)


@dataclass(frozen=True)
class LatencyResult:
    """What the gateway saw of the signals sent: one order each, or the discrepancy."""

    injected_one_way_ms: float  # as configured
    samples_ms: list[float]  # signal created -> placeOrder received at the gateway
    acked_ms: list[float] = field(default_factory=list)  # signal created -> order acknowledged
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    beside: Beside = field(default_factory=Beside)

    @property
    def link_ms(self) -> list[float]:
        """The link's own one-way delay, measured beside the signals (LinkProbe)."""
        return self.beside.link_ms

    def percentile(self, q: float) -> float:
        return _percentile(self.samples_ms, q)

    @property
    def overhead_p99_ms(self) -> float:
        """p99 above the configured one-way latency."""
        return self.percentile(99) - self.injected_one_way_ms

    @property
    def link_p99_ms(self) -> float:
        """The one-way delay the link really injected, at p99 (measured beside the signals)."""
        return _percentile(self.link_ms, 99)

    @property
    def stack_p99_ms(self) -> float:
        """What the stack adds: p99 above the link's own measured p99."""
        return self.percentile(99) - self.link_p99_ms

    def summary(self) -> dict[str, Any]:
        return {
            "injected_one_way_ms": self.injected_one_way_ms,
            "signals": len(self.samples_ms) + len(self.missing),
            "orders": len(self.samples_ms),
            "missing": len(self.missing),
            "duplicated": len(self.duplicated),
            "p50_ms": round(self.percentile(50), 3),
            "p99_ms": round(self.percentile(99), 3),
            "overhead_p99_ms": round(self.overhead_p99_ms, 3),
            "link_p50_ms": _rounded(_percentile(self.link_ms, 50)),
            "link_p99_ms": _rounded(self.link_p99_ms),
            "stack_p99_ms": _rounded(self.stack_p99_ms),
            "acked_p50_ms": _rounded(_percentile(self.acked_ms, 50)),
            "acked_p99_ms": _rounded(_percentile(self.acked_ms, 99)),
            "host_steal_ms": self.beside.host_steal_ms,
            "hops": self.beside.hops(),
        }


def hop_lines(hops: dict[str, Any]) -> list[str]:
    """Beside.hops() for a terminal: one line a hop, `hops.bot   p50 0.6  p90 1.1  p99 1.5`."""
    lines = []
    for hop, figures in hops.items():
        if isinstance(figures, dict):
            figures = "  ".join(f"{q.removesuffix('_ms')} {v}" for q, v in figures.items())
        lines.append(f"{'hops.' + hop:<20} {figures}")
    return lines


def _spread(values: list[float]) -> dict[str, float | None]:
    return {f"p{q}_ms": _rounded(_percentile(values, q)) for q in (50, 90, 99)}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _rounded(value: float) -> float | None:
    """For JSON: NaN (nothing measured) becomes null."""
    return None if math.isnan(value) else round(value, 3)


def gateway_orders(admin_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{admin_url}/orders", timeout=10)
    response.raise_for_status()
    return list(response.json())


def match(
    sent: list[Signal],
    orders: list[dict[str, Any]],
    one_way_ms: float,
    beside: Beside | None = None,
) -> LatencyResult:
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        by_ref.setdefault(order["orderRef"], []).append(order)
    samples, acked, missing, duplicated = [], [], [], []
    for signal in sent:
        placed = by_ref.get(signal.id, [])
        if not placed:
            missing.append(signal.id)
            continue
        if len(placed) > 1:
            duplicated.append(signal.id)
        created_ns = int(signal.created_at.timestamp() * 1e9)
        first = min(placed, key=lambda order: order["received_at_ns"])
        samples.append((first["received_at_ns"] - created_ns) / 1e6)
        if first.get("acked_at_ns"):
            acked.append((first["acked_at_ns"] - created_ns) / 1e6)
    return LatencyResult(one_way_ms, samples, acked, missing, duplicated, beside or Beside())


def wait_for_orders(
    admin_url: str,
    sent: list[Signal],
    one_way_ms: float,
    timeout_s: float,
    beside: Beside | None = None,
) -> LatencyResult:
    """Poll the gateway until every signal has its order or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = match(sent, gateway_orders(admin_url), one_way_ms, beside)
        if not result.missing or time.monotonic() > deadline:
            return result
        time.sleep(0.2)
