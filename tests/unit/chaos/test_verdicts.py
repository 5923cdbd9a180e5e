"""A drill passes only when its whole journal says so; Chaos Toolkit's status alone does not."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from chaos.journal import read, verdict

EXPERIMENT = {
    "method": [{"name": "stop"}, {"name": "fault-in-effect"}, {"name": "recovered"}],
    "rollbacks": [{"name": "start"}, {"name": "cleaned-up"}],
}


def _run(name: str, status: str = "succeeded", output: Any = None) -> dict[str, Any]:
    run: dict[str, Any] = {"activity": {"name": name}, "status": status, "output": output}
    if status == "failed":
        run["exception"] = [
            "Traceback ...",
            "AssertionError: redis_answers is True, expected False\n",
        ]
    return run


def _state(met: bool) -> dict[str, Any]:
    return {
        "steady_state_met": met,
        "probes": [{"activity": {"name": "redis-answers"}, "tolerance_met": met}],
    }


PASSED = {
    "experiment": EXPERIMENT,
    "status": "completed",
    "deviated": False,
    "start": "2026-11-24T21:00:00+00:00",
    "end": "2026-11-24T21:00:05+00:00",
    "steady_states": {"before": _state(True), "after": _state(True), "during": []},
    "run": [
        _run("stop"),
        _run("fault-in-effect", output={"value": False, "after_s": 0.1}),
        _run("recovered", output={"value": True, "after_s": 1.25}),
    ],
    "rollbacks": [_run("start"), _run("cleaned-up", output={"value": True, "after_s": 0.0})],
}


def _changed(**changes: Any) -> dict[str, Any]:
    journal = copy.deepcopy(PASSED)
    journal.update(changes)
    return journal


def test_a_clean_journal_passes_and_times_the_recovery() -> None:
    result = verdict("redis-down", 1, PASSED)
    assert (result.outcome, result.reasons, result.recovered_after_s) == ("passed", (), 1.25)


def test_a_fault_that_did_not_take_effect_fails_a_completed_run() -> None:
    runs = copy.deepcopy(PASSED["run"])
    runs[1] = _run("fault-in-effect", "failed")
    result = verdict("redis-down", 1, _changed(run=runs))
    assert result.outcome == "failed"
    assert result.reasons == (
        "method fault-in-effect: AssertionError: redis_answers is True, expected False",
    )


def test_a_cleanup_that_did_not_happen_fails_the_drill() -> None:
    rollbacks = [_run("start"), _run("cleaned-up", "failed")]
    assert verdict("redis-down", 1, _changed(rollbacks=rollbacks)).outcome == "failed"


def test_rollbacks_that_did_not_all_run_fail_the_drill() -> None:
    result = verdict("redis-down", 1, _changed(rollbacks=[_run("start")]))
    assert "only 1 of 2 rollbacks ran" in result.reasons


def test_a_steady_state_broken_before_the_fault_is_no_pass_even_if_nothing_deviated() -> None:
    result = verdict("redis-down", 1, _changed(steady_states={"before": _state(False)}, run=[]))
    assert result.outcome == "failed"
    assert "steady state did not hold before the fault: redis-answers" in result.reasons
    assert "the method stopped after 0 of its activities" in result.reasons
    assert result.recovered_after_s is None


def test_a_deviation_after_the_fault_fails_the_drill() -> None:
    states = {"before": _state(True), "after": _state(False)}
    result = verdict("redis-down", 1, _changed(deviated=True, steady_states=states))
    assert "steady state did not hold after the fault: redis-answers" in result.reasons


def test_an_interrupted_drill_is_interrupted_not_passed() -> None:
    assert verdict("vpn-outage", 2, _changed(status="interrupted")).outcome == "interrupted"


def test_a_missing_journal_is_a_failed_drill(tmp_path: Path) -> None:
    result = read(tmp_path / "none.json", "redis-down", 1)
    assert result.outcome == "failed"
    assert result.reasons[0].startswith("no journal: ")
    (tmp_path / "ok.json").write_text(json.dumps(PASSED))
    assert read(tmp_path / "ok.json", "redis-down", 1).outcome == "passed"
