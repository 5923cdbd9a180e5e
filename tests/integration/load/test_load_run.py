"""Short Locust runs against the real local topology (`spyh up`): the backend, its Key Vault,
SignalR, Table Storage and gateway behind their VPN links. Locust's CSV and HTML, the SLO
verdict and the report come out of the run folder; a breached gate is a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.state import TopologyState
from harness.unusual_activity import surge_until_signalled

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("load") / "runs"


def _run(runs_dir: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, "SPYH_RUNS_DIR": str(runs_dir)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def topology(runs_dir: Path) -> Iterator[Path]:
    up = _run(runs_dir, "harness", "up", "--detach")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        run_dir = (runs_dir / "latest-up").resolve()
        _warm_the_detector(run_dir)
        yield run_dir
    finally:
        _run(runs_dir, "harness", "down")


def _warm_the_detector(run_dir: Path) -> None:
    """A detector on fresh data first learns its baselines (a window of 15 snapshots), which can
    take most of a short storm: once it has raised something, the storm's surges are signalled."""
    state = TopologyState.load(run_dir)
    key = json.loads((run_dir / "credentials.json").read_text())["backend_api_key"]
    backend = f"http://127.0.0.1:{state.instances['backend'].ports['http']}"
    admin = f"http://127.0.0.1:{state.instances['tws'].ports['admin']}"
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=backend, headers=headers, timeout=10) as api:
        surge_until_signalled(admin, api.get, 2, 50.0)


@pytest.fixture
def load(runs_dir: Path) -> Run:
    return lambda *args: _run(runs_dir, "loadtests.run", *args)


FEW = ("--users", "4", "--spawn-rate", "4")
SHORT = (*FEW, "--duration", "6s")


def test_a_run_within_its_gates_writes_locust_output_and_passes_with_a_signal_storm(
    topology: Path, load: Run, runs_dir: Path
) -> None:
    # Loose limits: this checks the gates' mechanics and orders == signals, not this machine.
    loose = ("--p99-ms", "10000", "--error-rate", "0.5", "--overhead-p99-ms", "100000")
    storm = ("--signal-rate", "1", "--duration", "20s")
    done = load("--topology", str(topology), *FEW, *storm, *loose)
    assert done.returncode == 0, done.stdout + done.stderr
    out = (runs_dir / "latest-load").resolve() / "load"
    for produced in ("locust_stats.csv", "locust_stats_history.csv", "locust.html", "slo.json"):
        assert (out / produced).exists(), produced
    slo = json.loads((out / "slo.json").read_text())
    assert slo["passed"] is True
    stats = (out / "locust_stats.csv").read_text()
    assert "/api/negotiate" in stats
    assert "/dashboard/" in stats
    assert "signal→order" in stats  # the storm's latencies, from the gateway's records
    orders = next(g for g in slo["gates"] if g["name"] == "orders == signals")
    assert orders["passed"], orders["detail"]
    assert orders["limit"] > 0  # the storm raised signals, each traded exactly once
    # Where their time went, hop by hop, from the kernel's timestamps (harness.hops).
    figure = json.loads((out / "figures" / "signal-to-order.json").read_text())
    hops = figure["hops"]
    assert figure["host_steal_ms"] >= 0  # measured over the run (harness.host_steal)
    assert 0 < hops["signals"] <= orders["limit"], hops
    assert hops["link"]["p50_ms"] >= 10 > hops["sender"]["p50_ms"] > 0, hops  # dev: 12 ms
    assert "hops.stack           p50 " in done.stdout
    overhead = next(g for g in slo["gates"] if g["name"] == "signal-to-order p99 overhead")
    assert overhead["value"] == hops["stack"]["p99_ms"]  # judged signal by signal, link aside
    assert ": the stack above the link each signal crossed; p99 of " in overhead["detail"]
    summary = json.loads((out.parent / "summary.json").read_text())
    assert [(s["name"], s["status"]) for s in summary["suites"]] == [("load", "passed")]
    assert f"report: {out.parent / 'report.html'}" in done.stdout


def test_a_breached_gate_fails_the_run(topology: Path, load: Run, runs_dir: Path) -> None:
    done = load("--topology", str(topology), *SHORT, "--signal-rate", "0", "--p99-ms", "0.001")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "SLO BREACH backend p99 latency" in done.stdout
    slo = json.loads(((runs_dir / "latest-load").resolve() / "load" / "slo.json").read_text())
    assert slo["passed"] is False


def test_a_second_topology_is_not_started_beside_a_running_one(topology: Path, load: Run) -> None:
    done = load(*SHORT)
    assert done.returncode == 2
    assert f"a topology is already up ({topology})" in done.stderr
