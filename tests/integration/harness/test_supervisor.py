"""The supervisor on real processes: links, the VPN profile, failure handling, clean take-down."""

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import components
from harness.errors import ComponentFailed
from harness.process import ProcessSpec, http, log_line
from harness.supervisor import Supervisor
from harness.topology import Component, Topology, Use, Wiring
from harness.vpn import VpnProfile

TABLE = Use("azurite", "table")

# An edge process that reports the address it was wired to and serves HTTP until stopped.
CLIENT = (
    "import http.server, sys; "
    "print('table at', sys.argv[2], flush=True); "
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
    ".serve_forever()"
)


def azurite(w: Wiring) -> ProcessSpec:
    return components.azurite(w.ports["table"], w.run_dir / w.instance)


def redis(w: Wiring) -> ProcessSpec:
    return components.redis(w.ports["redis"], w.run_dir / w.instance)


def client(w: Wiring) -> ProcessSpec:
    argv = [sys.executable, "-c", CLIENT, str(w.ports["http"]), w.url(TABLE)]
    return ProcessSpec(w.instance, argv, http(f"http://127.0.0.1:{w.ports['http']}/"))


def broken(w: Wiring) -> ProcessSpec:
    argv = [sys.executable, "-c", "print('cannot read strategy.yaml'); raise SystemExit(3)"]
    return ProcessSpec(w.instance, argv, log_line("never"))


TOPOLOGY = Topology(
    (
        Component("azurite", "cloud", azurite, ports=("table",)),
        Component("redis", "edge", redis, ports=("redis",)),
        Component("client", "edge", client, ports=("http",), uses=(TABLE,), replicas=2),
    )
)


def test_up_wires_edge_clients_through_the_link_and_down_stops_everything(tmp_path: Path) -> None:
    supervisor = Supervisor(
        TOPOLOGY, tmp_path, VpnProfile(edge_to_cloud_ms=10, cloud_to_edge_ms=10)
    )
    with supervisor:
        proxy_port = supervisor.proxy_ports[TABLE]
        status = {row.instance: row for row in supervisor.state().status()}
        assert set(status) == {"azurite", "redis", "client-0", "client-1"}
        assert all(row.alive and row.listening for row in status.values())
        # Each edge replica was given the link's address, not Azurite's own port.
        for replica in ("client-0", "client-1"):
            log = (tmp_path / "logs" / f"{replica}.log").read_text()
            assert f"table at http://127.0.0.1:{proxy_port}" in log
        toxics = {t["name"] for t in supervisor.api.toxics("azurite-table")}
        assert {"vpn-latency-upstream", "vpn-latency-downstream"} <= toxics
        started = time.perf_counter()
        httpx.get(f"http://127.0.0.1:{proxy_port}/devstoreaccount1/Tables")
        assert (time.perf_counter() - started) * 1000 >= 20  # one request, one round trip
        assert (tmp_path / "topology.json").exists()
        pids = [row.pid for row in status.values()]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_component_that_will_not_start_is_named_and_everything_is_stopped(tmp_path: Path) -> None:
    topology = Topology(
        (*TOPOLOGY.components, Component("strategy", "edge", broken, uses=(TABLE,)))
    )
    supervisor = Supervisor(topology, tmp_path, VpnProfile(1, 1))
    with pytest.raises(
        ComponentFailed, match=r"component strategy exited with code 3[\s\S]*strategy.yaml"
    ):
        supervisor.up()
    assert supervisor.processes == {}
