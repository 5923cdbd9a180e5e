"""Drills on real components (Azurite, Redis, the gateway simulator, a Toxiproxy link), run
through `chaos run` by the runner as a user runs it: the fault takes effect, it is cleaned up,
the journal and the report say so; drills on components this topology lacks are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chaos import probes
from tests.integration.chaos.conftest import ChaosRun

ON_REAL_COMPONENTS = ("redis-down", "azurite-down", "vpn-outage", "vpn-degradation")


def _latest(runs_dir: Path) -> Path:
    return (runs_dir / "latest-chaos").resolve()


def _journal(run: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((run / "chaos" / "journals" / f"{name}.json").read_text()))


def _outputs(journal: dict[str, Any]) -> dict[str, Any]:
    return {r["activity"]["name"]: r["output"] for r in journal["run"] + journal["rollbacks"]}


def _clean(topology_dir: Path) -> None:
    """What every drill must leave behind: the link as the profile says, Redis and Table
    Storage answering."""
    configuration = {"topology_dir": str(topology_dir)}
    assert probes.link_faults("*", configuration) == []
    assert probes.silent_links("*", configuration=configuration) == []
    assert probes.redis_answers("redis", configuration)
    assert probes.table_storage_answers("azurite", configuration)


def test_drills_take_effect_recover_and_clean_up(
    topology_dir: Path, chaos_run: ChaosRun, runs_dir: Path
) -> None:
    drills = [arg for name in ON_REAL_COMPONENTS for arg in ("--drill", name)]
    done = chaos_run("--topology", str(topology_dir), "--var", "fault_s:int=1", *drills)
    assert done.returncode == 0, done.stdout + done.stderr
    run = _latest(runs_dir)
    results = json.loads((run / "chaos" / "results.json").read_text())
    assert {d["drill"]: d["outcome"] for d in results["drills"]} == dict.fromkeys(
        ON_REAL_COMPONENTS, "passed"
    )
    assert set(results["mean_recovery_s"]) == set(ON_REAL_COMPONENTS)
    # While on, each fault was really in effect, seen from outside the tool that injected it.
    effects = {
        name: _outputs(_journal(run, f"{name}-1"))["fault-in-effect"]["value"]
        for name in ON_REAL_COMPONENTS
    }
    assert effects["redis-down"] is False
    assert effects["azurite-down"] is False
    assert effects["vpn-outage"] == []  # no link answered
    assert effects["vpn-degradation"] >= 140  # 2 x (100 - 30) ms
    for name in ON_REAL_COMPONENTS:
        journal = _journal(run, f"{name}-1")
        assert journal["status"] == "completed"
        assert [r["status"] for r in journal["rollbacks"]] == ["succeeded", "succeeded"]
    _clean(topology_dir)
    summary = json.loads((run / "summary.json").read_text())
    assert [(s["name"], s["status"]) for s in summary["suites"]] == [("chaos", "passed")]


def test_drills_on_components_not_here_are_refused_never_passed(
    topology_dir: Path, chaos_run: ChaosRun, runs_dir: Path
) -> None:
    done = chaos_run(
        "--topology", str(topology_dir), "--drill", "leader-kill", "--drill", "backend-restart"
    )
    assert done.returncode == 1  # nothing could run
    assert "leader-kill: skipped, this topology has no component bot" in done.stdout
    assert "backend-restart: skipped, this topology has no instance backend" in done.stdout
    results = json.loads((_latest(runs_dir) / "chaos" / "results.json").read_text())
    assert results["drills"] == []
    assert [s["drill"] for s in results["skipped"]] == ["leader-kill", "backend-restart"]
    summary = json.loads((_latest(runs_dir) / "summary.json").read_text())
    assert summary["status"] == "failed"


def test_ctrl_c_in_the_middle_of_a_drill_still_runs_its_rollbacks(
    topology_dir: Path, runs_dir: Path
) -> None:
    argv = [sys.executable, "-m", "chaos.run", "--topology", str(topology_dir)]
    runner = subprocess.Popen(
        [*argv, "--drill", "vpn-outage", "--var", "fault_s:int=120"],
        env={**os.environ, "SPYH_RUNS_DIR": str(runs_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        log = runs_dir / "latest-chaos" / "chaos" / "logs" / "vpn-outage-1.log"
        deadline = time.monotonic() + 60
        while "Pausing after activity" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the drill never reached its fault window"
            time.sleep(0.2)
        configuration = {"topology_dir": str(topology_dir)}
        assert probes.answering_links("*", configuration=configuration) == []  # cut, now
        runner.send_signal(signal.SIGINT)
        output, _ = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == 130, output
    journal = _journal(_latest(runs_dir), "vpn-outage-1")
    assert journal["status"] == "interrupted"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == [
        "restore-the-tunnel",
        "cleaned-up",
    ]
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded", "succeeded"]
    _clean(topology_dir)


def test_a_malformed_drill_fails_before_anything_is_touched(
    tmp_path: Path, topology_dir: Path, chaos_run: ChaosRun, runs_dir: Path
) -> None:
    experiment = json.loads(Path("chaos/drills/vpn-outage.json").read_text())
    experiment["method"][0]["provider"]["arguments"]["duration"] = 5  # cut_link has no such
    bad = tmp_path / "vpn-outage-for-a-while.json"
    bad.write_text(json.dumps(experiment))
    done = chaos_run("--topology", str(topology_dir), "--drill", str(bad))
    assert done.returncode == 2
    assert done.stderr.startswith("chaos: error: vpn-outage-for-a-while.json: ")
    assert "duration" in done.stderr
    assert not runs_dir.exists()  # no run folder, no drill, nothing started
    _clean(topology_dir)


def test_a_soak_runs_random_drills_until_its_time_is_up(
    topology_dir: Path, chaos_run: ChaosRun, runs_dir: Path
) -> None:
    done = chaos_run(
        "--topology",
        str(topology_dir),
        "--soak",
        "3s",
        "--seed",
        "7",
        "--var",
        "fault_s:int=1",
        "--drill",
        "redis-down",
        "--drill",
        "vpn-outage",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((_latest(runs_dir) / "chaos" / "results.json").read_text())
    assert results["soak_s"] == 3
    assert results["drills"]
    assert {d["outcome"] for d in results["drills"]} == {"passed"}
    duplicates = next(i for i in results["invariants"] if i["name"] == "no duplicate order")
    assert duplicates["checks"] >= 1
    assert duplicates["violations"] == []
    _clean(topology_dir)
