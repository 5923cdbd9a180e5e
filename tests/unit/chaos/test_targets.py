"""Which targets a drill names that a topology lacks: instances, components, links."""

from __future__ import annotations

from chaos.drill import DRILLS, load
from chaos.topology import missing
from harness.state import LinkRecord, ProcessRecord, TopologyState
from harness.vpn import VpnProfile


def _record(**ports: int) -> ProcessRecord:
    return ProcessRecord(pid=1, started_at=None, argv=["x"], log="x.log", ports=ports)


def _state(instances: list[str], links: list[str]) -> TopologyState:
    return TopologyState(
        env="dev",
        run_dir="/nonexistent",
        toxiproxy=_record(),
        toxiproxy_api_port=1,
        control_port=1,
        profile=VpnProfile(10, 10),
        started_profile=VpnProfile(10, 10),
        links=[
            LinkRecord(name=n, component="c", port="p", server_side="cloud", listen_port=1)
            for n in links
        ],
        instances={name: _record() for name in instances},
    )


TODAY = _state(["azurite", "signalr", "tws", "redis"], [])
FULL = _state(
    ["azurite", "signalr", "tws", "redis", "backend", "bot-0", "bot-1", "bot-2"], ["tws-api"]
)


def test_arguments_name_instances_components_and_links() -> None:
    arguments = {"instance": "backend", "component": "bot", "link": "*", "lease_key": "k"}
    assert missing(TODAY, arguments) == ["instance backend", "component bot", "a VPN link"]
    assert missing(FULL, arguments) == []
    assert missing(FULL, {"link": "signalr-http"}) == ["link signalr-http"]


def test_the_probe_an_expect_looks_at_counts_as_a_target() -> None:
    arguments = {"check": "redis_answers", "arguments": {"instance": "redis-9"}, "equals": True}
    assert missing(FULL, arguments) == ["instance redis-9"]


def test_a_drill_on_components_not_yet_in_the_topology_is_refused() -> None:
    leader_kill = load(DRILLS / "leader-kill.json", {})
    assert leader_kill.missing_targets(TODAY) == ["component bot"]
    assert leader_kill.missing_targets(FULL) == []
    assert load(DRILLS / "vpn-outage.json", {}).missing_targets(TODAY) == ["a VPN link"]
    assert load(DRILLS / "redis-down.json", {}).missing_targets(TODAY) == []
