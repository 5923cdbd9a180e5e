"""The SLO gates on Locust's own stats objects: what breaches, what the exit code becomes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

# Locust as a library here, not a load generator: without gevent's monkey patching, which would
# otherwise change sockets and ssl under every other test in this process.
with pytest.MonkeyPatch.context() as patch:
    patch.setenv("LOCUST_SKIP_MONKEY_PATCH", "1")
    from locust.env import Environment

    from loadtests.backend import ApiUser, DashboardUser, backend_gates
    from loadtests.slo import BREACHED, _check_gates, p99_basis


def _environment(tmp_path: Path, p99_ms: float = 50.0) -> Environment:
    options = argparse.Namespace(
        slo_p99_ms=p99_ms, slo_error_rate=0.05, slo_file=str(tmp_path / "slo.json")
    )
    return Environment(user_classes=[DashboardUser, ApiUser], parsed_options=options)


def _requests(environment: Environment, count: int, ms: float, failures: int = 0) -> None:
    for index in range(count):
        environment.stats.log_request("GET", "/api/signals", ms, 100)
        if index < failures:
            environment.stats.log_error("GET", "/api/signals", RuntimeError("503"))


def test_gates_that_hold_pass_and_exit_0(tmp_path: Path) -> None:
    environment = _environment(tmp_path)
    _requests(environment, 200, ms=20)
    _check_gates(environment)
    assert environment.process_exit_code == 0
    report = json.loads((tmp_path / "slo.json").read_text())
    assert report["passed"] is True
    assert [g["name"] for g in report["gates"]] == [
        "backend p99 latency",
        "backend error rate",
        "backend requests/s",
    ]


def test_a_slow_p99_breaches_and_sets_the_exit_code(tmp_path: Path) -> None:
    environment = _environment(tmp_path)
    _requests(environment, 98, ms=20)
    _requests(environment, 2, ms=300)
    gates = {g.name: g for g in backend_gates(environment)}
    assert gates["backend p99 latency"].passed is False
    assert gates["backend p99 latency"].value == 300
    _check_gates(environment)
    assert environment.process_exit_code == BREACHED


def test_too_many_errors_breach(tmp_path: Path) -> None:
    environment = _environment(tmp_path)
    _requests(environment, 100, ms=5, failures=10)
    gates = {g.name: g for g in backend_gates(environment)}
    assert gates["backend error rate"].passed is False
    assert gates["backend p99 latency"].passed is True


def test_a_run_without_requests_breaches_rather_than_passes(tmp_path: Path) -> None:
    gates = {g.name: g for g in backend_gates(_environment(tmp_path))}
    assert gates["backend p99 latency"].passed is False
    assert gates["backend p99 latency"].detail == "no samples"


def test_a_p99_says_which_of_the_worst_it_is_and_when_it_rests_on_too_few() -> None:
    assert p99_basis(150, "signals") == (
        "p99 of 150 signals, at their 2nd worst "
        "(too few to be steady: 600 or more need a longer --duration)"
    )
    assert p99_basis(600, "signals") == "p99 of 600 signals, at their 6th worst"
    assert p99_basis(2_100, "signals") == "p99 of 2100 signals, at their 21st worst"
    assert p99_basis(50, "signals").startswith("p99 of 50 signals, at their worst (too few")
