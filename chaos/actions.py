"""Faults the drills inject and lift: Chaos Toolkit actions (`"module": "chaos.actions"`).

VPN faults are Toxiproxy toxics on a named link (or `*`, the whole tunnel), applied the way
`spyh vpn` applies them; instance faults go through the supervisor's control API, so the
restart policy and the event timeline see them as they would a real crash; gateway faults go
through the IB Gateway simulator's admin API. Every target is an explicit argument, so the
runner can refuse a drill whose targets this topology does not have.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from chaos import probes, topology
from chaos.topology import Configuration
from harness import unusual_activity, vpn
from harness.control import call
from harness.state import TopologyState
from harness.vpn import VpnProfile


def cut_link(link: str, configuration: Configuration | None = None) -> list[str]:
    """Black-hole the link: connections stay open and nothing arrives, as in a dead tunnel."""
    state = topology.load(configuration)
    chosen = topology.links(state, link)
    with topology.toxiproxy(state) as api:
        vpn.start_outage(api, chosen)
    return [each.name for each in chosen]


def _profile(link: str, profile: VpnProfile, state: TopologyState) -> str:
    with topology.toxiproxy(state) as api:
        vpn.apply_profile(api, topology.links(state, link), profile)
    return str(profile)


def degrade_link(
    link: str,
    latency_ms: int,
    jitter_ms: int,
    bandwidth_kbytes_s: int,
    configuration: Configuration | None = None,
) -> str:
    """A bad-day profile on the link: one-way latency each way, jitter, a bandwidth cap."""
    profile = VpnProfile(latency_ms, latency_ms, jitter_ms, bandwidth_kbytes_s)
    return _profile(link, profile, topology.load(configuration))


def restore_link(link: str, configuration: Configuration | None = None) -> str:
    """End any outage and put back the profile the topology started with. Idempotent."""
    state = topology.load(configuration)
    with topology.toxiproxy(state) as api:
        vpn.end_outage(api, topology.links(state, link))
    return _profile(link, state.started_profile, state)


def kill_instance(
    instance: str, signal: str = "SIGKILL", configuration: Configuration | None = None
) -> dict[str, Any]:
    """Like a node losing a pod: the supervisor's restart policy brings it back."""
    state = topology.load(configuration)
    topology.instance(state, instance)
    return dict(call(state.control_port, "POST", f"/instances/{instance}/kill", {"signal": signal}))


def stop_instance(instance: str, configuration: Configuration | None = None) -> dict[str, Any]:
    """Stop it and keep it down until `start_instance`."""
    state = topology.load(configuration)
    topology.instance(state, instance)
    return dict(call(state.control_port, "POST", f"/instances/{instance}/stop"))


def start_instance(instance: str, configuration: Configuration | None = None) -> dict[str, Any]:
    """Let it run again; a no-op for an instance that already runs."""
    state = topology.load(configuration)
    topology.instance(state, instance)
    return dict(call(state.control_port, "POST", f"/instances/{instance}/start"))


def start_component(component: str, configuration: Configuration | None = None) -> list[str]:
    """`start_instance` on every replica of a component."""
    state = topology.load(configuration)
    names = topology.instances_of(state, component)
    for name in names:
        call(state.control_port, "POST", f"/instances/{name}/start")
    return names


def kill_leader(
    component: str,
    redis_instance: str,
    lease_key: str,
    signal: str = "SIGKILL",
    configuration: Configuration | None = None,
) -> str:
    """Kill whichever replica holds the lease now; returns its name."""
    holder = probes.lease_holder(redis_instance, lease_key, configuration)
    if holder not in topology.instances_of(topology.load(configuration), component):
        raise RuntimeError(f"no {component} replica holds {lease_key!r} (holder: {holder})")
    kill_instance(holder, signal, configuration)
    return holder


def gateway_fault(
    gateway: str,
    fault: str,
    body: dict[str, Any] | None = None,
    configuration: Configuration | None = None,
) -> dict[str, Any]:
    """A fault of the IB Gateway simulator (`restart`, `slow-acks`, `drop-connections`, ...)."""
    admin = topology.url(topology.load(configuration), gateway, "admin")
    response = httpx.post(f"{admin}/faults/{fault}", json=body or {}, timeout=70)
    response.raise_for_status()
    return dict(response.json())


def raise_unusual_activity(
    gateway: str,
    contracts: int,
    volume_multiplier: float,
    configuration: Configuration | None = None,
) -> list[str]:
    """A volume surge on `contracts` options near spot (harness.unusual_activity), for the
    detector to turn into signals."""
    admin = topology.url(topology.load(configuration), gateway, "admin")
    return unusual_activity.raise_unusual_activity(admin, contracts, volume_multiplier)


def raise_signals_until_traded(
    gateway: str,
    contracts: int,
    volume_multiplier: float,
    within_s: float,
    configuration: Configuration | None = None,
) -> int:
    """`raise_unusual_activity` every few seconds until a new order reaches the gateway (the
    detector needs a while to learn its baselines again after a restart); the new order count."""
    before = probes.order_count(gateway, configuration)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        raise_unusual_activity(gateway, contracts, volume_multiplier, configuration)
        for _ in range(25):
            if (count := probes.order_count(gateway, configuration)) > before:
                return count
            time.sleep(0.2)
    raise RuntimeError(f"no new order reached {gateway} within {within_s:g} s of surges")
