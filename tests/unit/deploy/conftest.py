"""A private copy of the deployment path (infra, charts, docker, workflows) to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.toolchain import ROOT

DEPLOY_PATHS = (
    "infra",
    "charts",
    "docker",
    ".github/workflows",
    "system",
)  # system: what images run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for part in DEPLOY_PATHS:
        shutil.copytree(ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
