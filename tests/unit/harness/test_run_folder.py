"""Run folders, and `latest-<kind>` when a run in which nothing ran is discarded."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import run_folder


def test_a_discarded_run_hands_latest_back_to_the_newest_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_folder, "RUNS", tmp_path)
    kept = run_folder.new_run_folder("scenarios")
    other_kind = run_folder.new_run_folder("load")
    empty = run_folder.new_run_folder("scenarios")
    assert (tmp_path / "latest-scenarios").resolve() == empty
    run_folder.discard_run_folder(empty)
    assert not empty.exists()
    assert (tmp_path / "latest-scenarios").resolve() == kept
    run_folder.discard_run_folder(kept)
    assert not (tmp_path / "latest-scenarios").is_symlink()
    assert (tmp_path / "latest-load").resolve() == other_kind
