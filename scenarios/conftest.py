"""Fixtures every scenario shares: the run folder and where figures go."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["scenarios.steps.vpn_link"]

RecordFigure = Callable[[str, dict[str, Any]], None]


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`spyh scenarios` passes its run folder; a bare pytest run gets a temporary one."""
    given = os.environ.get("SPYH_RUN_DIR")
    return Path(given) if given else tmp_path_factory.mktemp("run")


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
