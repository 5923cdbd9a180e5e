"""A small real topology to drill: Azurite in the cloud; Redis, the IB Gateway simulator and an
edge client of Table Storage (standing in for the forwarder) on the edge, so one real VPN link,
`azurite-table`, runs through Toxiproxy. The harness's own supervisor and control API run it,
as `spyh up` runs the full one; `python -m chaos.run --topology` drills it from outside."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness import components
from harness.control import ControlServer
from harness.process import ProcessSpec, http, log_line
from harness.supervisor import Supervisor
from harness.topology import Component, Topology, Use, Wiring
from harness.vpn import VpnProfile

TABLE = Use("azurite", "table")
CLIENT = (
    "import http.server, sys; "
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
    ".serve_forever()"
)


def azurite(w: Wiring) -> ProcessSpec:
    return components.azurite(w.ports["table"], w.run_dir / w.instance)


def redis(w: Wiring) -> ProcessSpec:
    return components.redis(w.ports["redis"], w.run_dir / w.instance)


def tws(w: Wiring) -> ProcessSpec:
    ports = ["--port", str(w.ports["api"]), "--admin-port", str(w.ports["admin"])]
    state = ["--state-file", str(w.run_dir / "tws-state.json")]
    argv = [sys.executable, "-m", "fakes.tws", "--host", "127.0.0.1", *ports, "--seed", "7", *state]
    return ProcessSpec(w.instance, argv, log_line(r"^fakes\.tws ready"))


def client(w: Wiring) -> ProcessSpec:
    argv = [sys.executable, "-c", CLIENT, str(w.ports["http"])]
    return ProcessSpec(w.instance, argv, http(f"http://127.0.0.1:{w.ports['http']}/"))


TOPOLOGY = Topology(
    (
        Component("azurite", "cloud", azurite, ports=("table",)),
        Component("redis", "edge", redis, ports=("redis",)),
        Component("tws", "edge", tws, ports=("api", "admin")),
        Component("forwarder", "edge", client, ports=("http",), uses=(TABLE,)),
    )
)

ChaosRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def topology_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    run_dir = tmp_path_factory.mktemp("up")
    supervisor = Supervisor(TOPOLOGY, run_dir, VpnProfile(5, 5, 1))
    supervisor.up()
    control = ControlServer(supervisor, threading.Event())
    try:
        control.start()
        supervisor.control_port = control.port
        supervisor.state().save()
        yield run_dir
    finally:
        control.stop()
        supervisor.down()


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def chaos_run(runs_dir: Path) -> ChaosRun:
    """python -m chaos.run as a user runs it, its runs kept under the test's folder."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chaos.run", *args],
            env={**os.environ, "SPYH_RUNS_DIR": str(runs_dir)},
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )

    return run
