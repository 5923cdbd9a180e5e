"""spyh as an operator uses it: separate commands against one detached topology."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Spyh = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def spyh(tmp_path: Path) -> Iterator[Spyh]:
    env = {**os.environ, "SPYH_RUNS_DIR": str(tmp_path / "runs"), "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    yield run
    run("down")  # whatever a failed test left behind


def test_detached_lifecycle(spyh: Spyh) -> None:
    up = spyh("up", "--detach", "--vpn-rtt", "20")
    assert up.returncode == 0, up.stderr
    assert "topology up in the background" in up.stdout
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
    restored = spyh("vpn", "restore")
    assert restored.returncode == 0, restored.stderr
    assert "edge→cloud 10 ms, cloud→edge 10 ms" in spyh("status").stdout
    down = spyh("down")
    assert "stopped" in down.stdout
    assert "listening" not in spyh("status").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("up", "--env", "staging"), "'staging' is not one of 'dev', 'prod'"),
        (("up", "--vpn-rtt", "-5"), "Invalid value for '--vpn-rtt'"),
        (("status",), "no topology is up"),
        (("rollout", "bot", "--image-version", "2"), "no topology is up"),
        (("vpn", "degrade", "--latency-ms", "5", "--jitter-ms", "9"), "jitter_ms must not exceed"),
    ],
)
def test_bad_input_gets_one_clear_line(spyh: Spyh, args: tuple[str, ...], message: str) -> None:
    result = spyh(*args)
    assert result.returncode != 0
    words = (result.stdout + result.stderr).translate(str.maketrans("", "", "│╭╮╰╯─")).split()
    assert message in " ".join(words)
    assert "Traceback" not in result.stderr
