"""Fixtures every scenario shares: the run folder, figures, and the running local topology."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.local_topology import build
from scenarios.stack import Stack

pytest_plugins = [
    "scenarios.steps.common",
    "scenarios.steps.vpn_link",
    "scenarios.steps.latency",
    "scenarios.steps.resilience",
    "scenarios.steps.operations",
    "scenarios.steps.dashboard",
]

RecordFigure = Callable[[str, dict[str, Any]], None]


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`spyh scenarios` passes its run folder; a bare pytest run gets a temporary one."""
    given = os.environ.get("SPYH_RUN_DIR")
    return Path(given) if given else tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def stack(run_dir: Path) -> Iterator[Stack]:
    """One topology for the whole session, as an operator's would be: scenarios hurt it and
    must leave it healthy again (checked after each one)."""
    env = os.environ.get("SPYH_ENV", "dev")
    local = build(env)
    supervisor = local.supervise(run_dir / "topology", local.profile, env)
    seconds = supervisor.up()
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    (run_dir / "figures" / "topology-up.json").write_text(
        json.dumps(
            {
                "scenario": "topology up",
                "seconds_to_ready": round(seconds, 2),
                "cpu_idle": supervisor.idle.status,
                "cpus": supervisor.cpus.status,
            }
        )
    )
    try:
        yield Stack(supervisor, local)
    finally:
        supervisor.down()


@pytest.fixture
def record_figure(run_dir: Path, request: pytest.FixtureRequest) -> RecordFigure:
    """Write a scenario's figures as JSON under figures/, named after the scenario."""

    def record(name: str, figures: dict[str, Any]) -> None:
        folder = run_dir / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        slug = request.node.name.replace("/", "_")
        (folder / f"{slug}-{name}.json").write_text(
            json.dumps({"scenario": request.node.name, **figures}, indent=1)
        )

    return record
