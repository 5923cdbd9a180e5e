"""spyh as an operator uses it: separate commands against one detached topology."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.latency import wait_for_orders
from harness.state import TopologyState
from harness.toolchain import VENV
from harness.unusual_activity import surge_until_signalled

Spyh = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def spyh(tmp_path: Path) -> Iterator[Spyh]:
    env = {**os.environ, "SPYH_RUNS_DIR": str(tmp_path / "runs"), "COLUMNS": "200"}

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", *args],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    yield run
    run("down")  # whatever a failed test left behind


def test_detached_lifecycle(spyh: Spyh, tmp_path: Path) -> None:
    up = spyh("up", "--detach", "--vpn-rtt", "20", SPY_BOT_SWEEP_S="1")  # the default
    assert up.returncode == 0, up.stderr
    assert "topology up in the background" in up.stdout
    [shell] = [line for line in up.stdout.splitlines() if line.startswith("from your shell")]
    assert "SPY_BOT_SWEEP_S" in shell.split(": ", 1)[1].split(", ")
    second = spyh("up", "--detach")
    assert second.returncode != 0
    assert "a topology is already up" in second.stdout + second.stderr
    status = spyh("status")
    assert status.stdout.count("listening") >= 4, status.stdout
    assert "edge→cloud 10 ms, cloud→edge 10 ms" in status.stdout
    killed = spyh("kill", "redis")
    assert killed.returncode == 0
    assert "SIGKILL sent to redis" in killed.stdout
    degraded = spyh("vpn", "degrade", "--latency-ms", "40", "--jitter-ms", "5")
    assert degraded.returncode == 0, degraded.stderr
    assert "edge→cloud 40 ms, cloud→edge 40 ms, jitter ±5 ms, 1 Mbps" in spyh("status").stdout
    assert spyh("vpn", "outage").returncode == 0
    black_holed = " ".join(spyh("status").stdout.split())  # however the outage was started
    assert "OUTAGE: azurite-table, backend-http," in black_holed, black_holed
    restored = spyh("vpn", "restore")
    assert restored.returncode == 0, restored.stderr
    restored_status = spyh("status").stdout
    assert "edge→cloud 10 ms, cloud→edge 10 ms" in restored_status
    assert "OUTAGE" not in restored_status
    bench = spyh("bench", "latency", "--signals", "20", "--rate", "50", "--warmup", "0", "--json")
    assert bench.returncode == 0, bench.stderr
    figures = json.loads(bench.stdout)
    assert (figures["orders"], figures["missing"], figures["duplicated"]) == (20, 0, 0)
    assert figures["p50_ms"] > figures["injected_one_way_ms"] == 10
    assert "50 signals/s is more orders than the bot may send" in bench.stderr
    down = spyh("down")
    assert "stopped" in down.stdout
    run_dir = TopologyState.load(tmp_path / "runs" / "latest-up").run_dir
    for after in (("status",), ("down",), ("vpn", "outage"), ("bench", "latency")):
        result = spyh(*after)
        assert result.returncode == 2, after
        words = " ".join((result.stdout + result.stderr).split())
        assert f"no topology is up: the last one (run folder {run_dir}) has stopped" in words
        assert "Traceback" not in result.stderr
    assert "== bot-0" in spyh("logs", "bot").stdout  # the last run's logs stay readable
    assert "== toxiproxy" in spyh("logs", "toxiproxy").stdout
    unknown = spyh("logs", "nosuch")
    assert unknown.returncode == 2
    assert "no component 'nosuch' in the topology: toxiproxy, azurite," in unknown.stderr


def test_the_detector_apart_still_turns_unusual_activity_into_orders(
    spyh: Spyh, tmp_path: Path
) -> None:
    """As an environment with Container Instances runs: the detector a process of its own
    (reaching the gateway over the VPN link), the backend without it, listing its signals."""
    up = spyh("up", "--detach", "--detector", "apart")
    assert up.returncode == 0, up.stderr
    run_dir = tmp_path / "runs" / "latest-up"
    state = TopologyState.load(run_dir)
    assert {"backend", "detector"} <= set(state.instances)
    assert "tws-api" in {link.name for link in state.links}
    backend = f"http://127.0.0.1:{state.instances['backend'].ports['http']}"
    key = json.loads((run_dir / "credentials.json").read_text())["backend_api_key"]
    admin = f"http://127.0.0.1:{state.instances['tws'].ports['admin']}"
    with httpx.Client(base_url=backend, headers={"X-API-Key": key}, timeout=10) as api:
        raised = surge_until_signalled(admin, api.get, 2, 50.0)
        assert api.get("/ready").json()["checks"] == {"tables": "ok", "signalr": "ok"}
    result = wait_for_orders(admin, raised, 0, timeout_s=20)
    assert (result.missing, result.duplicated) == ([], [])
    detector = state.instances["detector"].ports["http"]
    assert httpx.get(f"http://127.0.0.1:{detector}/ready", timeout=5).json()["status"] == "ready"


def test_a_component_that_will_not_start_is_named_with_the_end_of_its_log(spyh: Spyh) -> None:
    up = spyh("up", "--detach", SPY_BACKEND_LOG_LEVEL="loud")  # the backend refuses it
    assert up.returncode == 2
    said = up.stderr.splitlines()
    assert said[0].startswith(
        "spyh: error: component backend exited with code 2 before it was ready; last lines of "
    ), up.stderr
    assert "backend: invalid setting SPY_BACKEND_LOG_LEVEL" in said[1]
    assert up.stderr.count("spyh: error:") == 1  # relayed from the background up, not wrapped


def test_sigint_stops_a_foreground_up_and_everything_it_started(tmp_path: Path) -> None:
    """Ctrl-C's signal stops `spyh up` however it was started: here as a shell's background
    job starts it, with SIGINT ignored (`trap '' INT`), which it would otherwise inherit."""
    runs = tmp_path / "runs"
    env = {**os.environ, "SPYH_RUNS_DIR": str(runs), "COLUMNS": "200"}
    with (tmp_path / "up.log").open("w") as log:
        up = subprocess.Popen(
            ["bash", "-c", f"trap '' INT; exec {sys.executable} -m harness up"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while not (runs / "latest-up" / "topology.json").exists():  # written once all are ready
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, "the topology did not come up"
            time.sleep(0.2)
        state = TopologyState.load(runs / "latest-up")
        started = [*state.instances.values(), state.toxiproxy]
        assert all(record.is_ours() for record in started)
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 130
        assert [record.argv[0] for record in started if record.is_ours()] == []
        assert "everything it started has been stopped" in (tmp_path / "up.log").read_text()
    finally:
        if up.poll() is None:
            up.kill()
            subprocess.run([sys.executable, "-m", "harness", "down"], env=env, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("up", "--env", "staging"), "'staging' is not one of 'dev', 'prod'"),
        (("up", "--vpn-rtt", "-5"), "Invalid value for '--vpn-rtt'"),
        (("status",), "no topology is up"),
        (("rollout", "bot", "--image-version", "2"), "no topology is up"),
        (("vpn", "degrade", "--latency-ms", "5", "--jitter-ms", "9"), "jitter_ms must not exceed"),
        (("bench", "link", "--latency-ms", "5", "--jitter-ms", "9"), "jitter_ms must not exceed"),
        (("bench", "link", "--rate", "0"), "Invalid value for '--rate'"),
    ],
)
def test_bad_input_gets_one_clear_line(spyh: Spyh, args: tuple[str, ...], message: str) -> None:
    result = spyh(*args)
    assert result.returncode != 0
    words = (result.stdout + result.stderr).translate(str.maketrans("", "", "│╭╮╰╯─")).split()
    assert message in " ".join(words)
    assert "Traceback" not in result.stderr


def test_scenarios_that_select_nothing_say_so_and_leave_no_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    selected = subprocess.run(  # the project's .venv: it has the scenarios' pytest-bdd
        [str(VENV / "bin" / "spyh"), "scenarios", "-k", "no_such_scenario"],
        env={**os.environ, "SPYH_RUNS_DIR": str(runs)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert selected.returncode == 4, selected.stderr
    assert "error: no tests were collected: the selection is wrong" in selected.stdout
    assert "report:" not in selected.stdout
    assert not list(runs.glob("*scenarios*"))
