"""Unusual activity at the IB Gateway simulator, for the backend's detector to turn into signals:
what the chaos drills and the dashboard scenario raise through the simulator's admin API."""

from __future__ import annotations

import random

import httpx

from system.domain.contracts import OptionContract


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
