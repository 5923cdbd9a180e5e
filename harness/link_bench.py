"""The emulated VPN link alone: what Toxiproxy itself adds to the latency it is told to inject.

Its own Toxiproxy and nothing else: frames the size of a signal cross a link with the profile's
toxics on a fixed schedule, sent and received stamps taken as the latency bench takes them
(harness.link_probe). The overshoot above the configured one-way latency is the floor under any
signal-to-order overhead measured through the same link on this machine, before the stack adds
anything: Go's netpoller sleeps in whole milliseconds, so a toxic's timer fires up to 1 ms late.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from fakes.tws.instruments import expiries
from harness import components
from harness.latency import signal_frame_bytes
from harness.link_priority import make_realtime
from harness.link_probe import LinkProbe
from harness.ports import free_port
from harness.process import running
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile
from system.domain.contracts import OptionContract, Right


@dataclass(frozen=True)
class LinkFigures:
    profile: VpnProfile
    rate_per_s: float
    priority: str  # how Toxiproxy was scheduled, as in the topology (harness.link_priority)
    delays_ms: list[float]  # each frame's one-way delay, cloud to edge

    def summary(self) -> dict[str, Any]:
        configured = self.profile.cloud_to_edge_ms
        overshoot = np.array(self.delays_ms) - configured
        return {
            "vpn": str(self.profile),
            "rate_per_s": self.rate_per_s,
            "priority": self.priority,
            "frames": len(self.delays_ms),
            "configured_ms": configured,
            **{f"p{q}_ms": round(float(np.percentile(self.delays_ms, q)), 3) for q in (50, 99)},
            **{
                f"overshoot_p{q}_ms": round(float(np.percentile(overshoot, q)), 3)
                for q in (50, 90, 99)
            },
            "overshoot_max_ms": round(float(overshoot.max()), 3),
        }


def bench_link(run_dir: Path, profile: VpnProfile, frames: int, rate_per_s: float) -> LinkFigures:
    """`frames` signal-sized frames at `rate_per_s` across a link with `profile`'s toxics, on a
    Toxiproxy of its own, scheduled as the topology's is, that it stops again."""
    api_port = free_port()
    with running(components.toxiproxy(api_port), run_dir) as toxiproxy:
        priority = make_realtime(toxiproxy.pid)
        api = Toxiproxy(api_port)
        try:
            with LinkProbe(api, profile, signal_frame_bytes(_a_listed_call())) as probe:
                start = time.monotonic()
                for index in range(frames):  # a fixed schedule: no drift
                    time.sleep(max(0.0, start + index / rate_per_s - time.monotonic()))
                    probe.mark()
        finally:
            api.close()
    return LinkFigures(profile, rate_per_s, priority, probe.delays_ms)


def _a_listed_call() -> OptionContract:
    expiry = expiries(datetime.now(UTC).date())[1]
    return OptionContract(symbol="SPY", expiry=expiry, strike=Decimal(600), right=Right.CALL)
