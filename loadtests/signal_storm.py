"""A signal storm through the real path (locust -f loadtests/signal_storm.py --host BACKEND_URL
--gateway-admin GATEWAY_ADMIN_URL --signal-rate S --vpn-one-way-ms F).

SignalStorm raises unusual activity (a volume surge on one option near spot, in one of the two
nearest expiries the backend streams) at the IB Gateway simulator S times a second; the
backend's detector turns it into a signal and publishes it to the SignalR hub, the bots receive
it over the VPN link and trade it through the gateway.
OrderWatcher matches the gateway's orders (orderRef = signal id) with the backend's signals and
records each signal-to-order latency (the gateway's receipt minus the signal's created_at) as a
Locust request, so the CSV, the HTML report and the gates see it like any other.

Gates, once the last orders have settled: the p99 of what the stack added to each signal
above the link it crossed, where --hop-path lets the storm follow its signals hop by hop
(harness.hops; else the p99 above the VPN's configured one-way latency, jitter and all), and
orders == signals (every signal the backend raised during the run has exactly one order).
"""

from __future__ import annotations

import dataclasses
import json
import random
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from locust import User, constant, constant_throughput, events, task
from locust.clients import HttpSession
from locust.env import Environment
from locust.runners import WorkerRunner

from harness.hops import HopCapture, PathPorts
from harness.host_steal import HostSteal
from harness.latency import Beside, match, signals_since, wait_for_orders
from loadtests import STORM_FIGURE
from loadtests.slo import Gate, at_most, gate, options, p99_basis
from system.domain.contracts import OptionContract
from system.domain.signals import Signal

SIGNAL, SIGNAL_TO_ORDER = "SIGNAL", "signal→order"
UNUSUAL = "/market/unusual-activity"
_run = {"started": datetime.now(UTC)}
_beside: list[
    tuple[ExitStack, HopCapture, HostSteal]
] = []  # measured beside the storm, while it runs


class GatewayUser(User):
    abstract = True

    def on_start(self) -> None:
        given = options(self.environment)
        hook = self.environment.events.request
        self.admin = HttpSession(given.gateway_admin, hook, self)
        self.backend = HttpSession(self.host, hook, self)
        self.backend.headers["Authorization"] = f"Bearer {given.api_key}"


class SignalStorm(GatewayUser):
    fixed_count = 1
    wait_time = constant_throughput(1)  # --signal-rate replaces it when Locust starts

    def on_start(self) -> None:
        super().on_start()
        self.spot = round(self.admin.get("/health", name="gateway /health").json()["spot"])
        listing = {"strikes": [float(self.spot)], "volume_multiplier": 1}  # names, changes nothing
        listed = self.admin.post(UNUSUAL, json=listing, name="gateway contracts").json()
        expiries = {
            OptionContract.from_local_symbol(c["localSymbol"]).expiry for c in listed["contracts"]
        }
        self.expiries = [f"{expiry:%Y%m%d}" for expiry in sorted(expiries)[:2]]

    @task
    def surge(self) -> None:
        body = {
            "strikes": [float(self.spot + random.randint(-8, 8))],
            "expiry": random.choice(self.expiries),
            "right": random.choice("CP"),
            "volume_multiplier": 50,
        }
        self.admin.post(UNUSUAL, json=body, name="gateway unusual-activity")


class OrderWatcher(GatewayUser):
    fixed_count = 1
    wait_time = constant(1)

    def on_start(self) -> None:
        super().on_start()
        self.traded: set[str] = set()

    @task
    def record_new_orders(self) -> None:
        signals = signals_since(self.backend.get, _run["started"], name="/api/signals")
        orders = self.admin.get("/orders", name="gateway /orders").json()
        fresh = [s for s in signals if s.id not in self.traded]
        result = match(fresh, orders, options(self.environment).vpn_one_way_ms)
        self.traded |= {s.id for s in fresh} - set(result.missing)
        for latency_ms in result.samples_ms:
            self.environment.events.request.fire(
                request_type=SIGNAL,
                name=SIGNAL_TO_ORDER,
                response_time=latency_ms,
                response_length=0,
                exception=None,
                context={},
            )


@events.init.add_listener  # type: ignore[untyped-decorator]
def _pace(environment: Environment, **_kwargs: Any) -> None:
    SignalStorm.wait_time = constant_throughput(options(environment).signal_rate)


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _started(environment: Environment, **_kwargs: Any) -> None:
    _run["started"] = datetime.now(UTC)
    path = options(environment).hop_path
    if path and not isinstance(environment.runner, WorkerRunner):  # where the gates are judged
        held = ExitStack()
        capture = held.enter_context(HopCapture(PathPorts.from_json(path)))
        _beside.append((held, capture, held.enter_context(HostSteal())))


def _measured_beside(signals: list[Signal]) -> Beside:
    """The storm's signals hop by hop and the host's steal, once the capture has ended."""
    if not _beside:
        return Beside()
    held, capture, steal = _beside.pop()
    held.close()
    return Beside(
        hops_ms=capture.hops_ms(signals),
        hops_unavailable=capture.unavailable,
        host_steal_ms=steal.ms,
    )


@gate
def storm_gates(environment: Environment) -> list[Gate]:
    given = options(environment)
    headers = {"Authorization": f"Bearer {given.api_key}"}
    with httpx.Client(base_url=environment.host or "", headers=headers, timeout=10) as backend:
        signals = signals_since(backend.get, _run["started"])
    floor = given.vpn_one_way_ms
    settled = wait_for_orders(given.gateway_admin, signals, floor, given.settle_s)
    result = dataclasses.replace(settled, beside=_measured_beside(signals))
    summary = result.summary()
    if given.slo_file:
        figure = Path(given.slo_file).parent / STORM_FIGURE
        figure.parent.mkdir(parents=True, exist_ok=True)
        found = {"scenario": "signal storm", **summary, "samples_ms": result.samples_ms}
        figure.write_text(json.dumps(found, indent=1))
    hops = summary["hops"]
    if "stack" in hops:  # signal by signal: what the stack added above the link it crossed
        overhead, basis = hops["stack"]["p99_ms"], "the stack above the link each signal crossed"
        judged_on = hops["signals"]
    else:
        overhead = result.overhead_p99_ms if result.samples_ms else None
        basis = f"above the configured one-way latency (hops: {hops.get('unavailable')})"
        judged_on = len(result.samples_ms)
    judged = at_most("signal-to-order p99 overhead", overhead, given.slo_overhead_p99_ms, " ms")
    if overhead is not None:
        basis += f"; {p99_basis(judged_on, 'signals')}"
    counted = f"{summary['signals']} signals, {summary['orders']} orders"
    rate = len(signals) / (datetime.now(UTC) - _run["started"]).total_seconds()
    return [
        dataclasses.replace(judged, detail=f"{judged.detail}: {basis}"),
        Gate(
            "orders == signals",
            float(summary["orders"]),
            float(summary["signals"]),
            bool(signals) and not result.missing and not result.duplicated,
            f"{counted}, {summary['missing']} missing, {summary['duplicated']} duplicated",
        ),
        Gate("signals/s", round(rate, 3), None, True, f"{rate:.2f} signals/s raised"),
    ]
