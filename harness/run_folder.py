"""Run folders: every log, metric and report of one run under .runs/<time>-<kind>/."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from harness.toolchain import ROOT

# SPYH_RUNS_DIR lets tests keep their runs apart from an operator's `.runs/latest-*`.
RUNS = Path(os.environ.get("SPYH_RUNS_DIR", ROOT / ".runs"))


def new_run_folder(kind: str) -> Path:
    """A fresh folder, and `.runs/latest-<kind>` pointing at it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    folder = RUNS / f"{stamp}-{kind}"
    folder.mkdir(parents=True)
    latest = RUNS / f"latest-{kind}"
    latest.unlink(missing_ok=True)
    latest.symlink_to(folder.name)
    return folder


def discard_run_folder(folder: Path) -> None:
    """Remove a run in which nothing ran; `latest-<kind>` goes back to the newest left."""
    kind = folder.name.split("-", 1)[1]
    shutil.rmtree(folder)
    latest = RUNS / f"latest-{kind}"
    latest.unlink(missing_ok=True)
    left = sorted(p.name for p in RUNS.glob(f"*-{kind}") if p.is_dir() and not p.is_symlink())
    if left:
        latest.symlink_to(left[-1])
