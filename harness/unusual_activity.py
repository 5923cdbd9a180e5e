"""Unusual activity at the IB Gateway simulator, for the backend's detector to turn into signals:
what the chaos drills, the dashboard scenario and the load tests raise through the simulator's
admin API."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from harness.errors import HarnessError
from harness.latency import signals_since
from system.domain.contracts import OptionContract
from system.domain.signals import Signal

SURGE_EVERY_S = 5.0


def raise_unusual_activity(admin_url: str, contracts: int, volume_multiplier: float) -> list[str]:
    """A volume surge on `contracts` options picked at random near spot (within 8 strikes) in
    the nearest expiry; their local symbols. At random, because a strategy may decline a
    contract it already traded."""
    endpoint = f"{admin_url}/market/unusual-activity"
    spot = round(httpx.get(f"{admin_url}/health", timeout=5).raise_for_status().json()["spot"])
    listing = {"strikes": [float(spot + offset) for offset in range(-8, 9)], "volume_multiplier": 1}
    listed = httpx.post(endpoint, json=listing, timeout=5).raise_for_status().json()["contracts"]
    expiry = {c["conId"]: OptionContract.from_local_symbol(c["localSymbol"]).expiry for c in listed}
    nearest = [c for c in listed if expiry[c["conId"]] == min(expiry.values())]
    chosen = random.sample(nearest, min(contracts, len(nearest)))
    surge = {"con_ids": [c["conId"] for c in chosen], "volume_multiplier": volume_multiplier}
    httpx.post(endpoint, json=surge, timeout=5).raise_for_status()
    return [c["localSymbol"] for c in chosen]


def surge_until_signalled(
    admin_url: str,
    backend_get: Callable[..., Any],
    contracts: int,
    volume_multiplier: float,
    within_s: float = 60.0,
) -> list[Signal]:
    """Surges every few seconds until the backend (`backend_get`, based at it) lists signals
    raised since the first; those signals. A detector that has just started, or restarted, first
    learns its baselines (a window of 15 snapshots), so a single surge may go unnoticed."""
    since = datetime.now(UTC)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        raise_unusual_activity(admin_url, contracts, volume_multiplier)
        next_surge = time.monotonic() + SURGE_EVERY_S
        while time.monotonic() < next_surge:
            if raised := signals_since(backend_get, since):
                return raised
            time.sleep(0.2)
    raise HarnessError(f"the detector raised no signal within {within_s:g} s of surges")
