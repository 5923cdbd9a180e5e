from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.process import ProcessSpec, tcp
from harness.topology import Component, Link, Topology, Use, Wiring
from harness.vpn import VpnProfile


def spec(wiring: Wiring) -> ProcessSpec:
    return ProcessSpec(wiring.instance, ["true"], tcp(1))


SIGNALR = Component("signalr", "cloud", spec, ports=("http",))
BACKEND = Component("backend", "cloud", spec, ports=("http",), uses=(Use("signalr", "http"),))
TWS = Component("tws", "edge", spec, ports=("api", "admin"))
BOT = Component(
    "bot",
    "edge",
    spec,
    ports=("health",),
    replicas=3,
    uses=(Use("backend", "http"), Use("signalr", "http"), Use("tws", "api")),
)


def test_only_uses_that_cross_sides_become_links() -> None:
    links = Topology((SIGNALR, BACKEND, TWS, BOT)).links()
    assert links == [
        Link("backend-http", Use("backend", "http"), "cloud"),
        Link("signalr-http", Use("signalr", "http"), "cloud"),
    ]


def waves(topology: Topology) -> list[list[str]]:
    order = topology.start_order()
    order.prepare()
    found = []
    while order.is_active():
        wave = sorted(order.get_ready())
        found.append(wave)
        order.done(*wave)
    return found


def test_dependencies_start_first() -> None:
    assert waves(Topology((BOT, TWS, BACKEND, SIGNALR))) == [
        ["signalr", "tws"],
        ["backend"],
        ["bot"],
    ]


def test_a_use_the_client_retries_does_not_hold_its_start_back() -> None:
    retried = Use("backend", "http", retried=True)
    bot = Component("bot", "edge", spec, uses=(retried, Use("tws", "api")))
    assert waves(Topology((bot, TWS, BACKEND, SIGNALR))) == [["signalr", "tws"], ["backend", "bot"]]
    # The same route to the same port: one link, one address, however the client starts.
    assert retried == Use("backend", "http")
    assert Topology((bot, TWS, BACKEND, SIGNALR)).links()[0].target == Use("backend", "http")


def test_replicas_get_numbered_instances() -> None:
    assert BOT.instances() == ["bot-0", "bot-1", "bot-2"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            Component("x", "edge", spec, uses=(Use("nope", "http"),)),
            "x uses unknown component nope",
        ),
        (
            Component("x", "edge", spec, uses=(Use("tws", "http"),)),
            "x uses tws.http, which tws does not serve",
        ),
        (
            Component("x", "cloud", spec, uses=(Use("bot", "health"),)),
            "x uses bot, which has replicas",
        ),
    ],
)
def test_bad_wiring_is_named(bad: Component, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        Topology((TWS, BOT, SIGNALR, BACKEND, bad))


def test_one_way_latency_follows_the_direction_of_travel() -> None:
    profile = VpnProfile(edge_to_cloud_ms=8, cloud_to_edge_ms=12)
    to_cloud_server = Link("signalr-http", Use("signalr", "http"), "cloud")
    to_edge_server = Link("tws-api", Use("tws", "api"), "edge")
    # An edge client's requests travel upstream to a cloud server; the server's pushes come back.
    assert profile.one_way_ms("upstream", to_cloud_server) == 8
    assert profile.one_way_ms("downstream", to_cloud_server) == 12
    assert profile.one_way_ms("upstream", to_edge_server) == 12
    assert profile.one_way_ms("downstream", to_edge_server) == 8


def test_rtt_is_split_between_directions() -> None:
    assert VpnProfile.from_rtt(15) == VpnProfile(7, 8)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"edge_to_cloud_ms": -1, "cloud_to_edge_ms": 5}, "edge_to_cloud_ms must not be negative"),
        (
            {"edge_to_cloud_ms": 5, "cloud_to_edge_ms": 5, "jitter_ms": 6},
            "jitter_ms must not exceed",
        ),
    ],
)
def test_a_malformed_profile_is_named(fields: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VpnProfile(**fields)


def test_wiring_builds_urls(tmp_path: Path) -> None:
    def address_from(side: str, use: Use) -> tuple[str, int]:
        return ("127.0.0.1", 4242 if side == "edge" else 80)

    wiring = Wiring("bot-1", 1, "1.2.0", {"health": 1}, tmp_path, address_from, "edge")
    assert wiring.url(Use("backend", "http")) == "http://127.0.0.1:4242"
    assert wiring.url(Use("backend", "http"), side="cloud") == "http://127.0.0.1:80"
