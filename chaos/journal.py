"""A drill's verdict from its Chaos Toolkit journal.

Chaos Toolkit calls a run `completed` even when a method activity failed, so the verdict reads
the whole journal: the steady state held before and after, every method activity succeeded
(among them the drill's proof that its fault took effect), every rollback ran and succeeded
(among them its proof of cleanup). The method probe named `recovered` times the recovery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECOVERY_PROBE = "recovered"


@dataclass(frozen=True, slots=True)
class Verdict:
    drill: str
    repeat: int
    outcome: str  # passed | failed | interrupted
    reasons: tuple[str, ...]
    recovered_after_s: float | None
    start: str  # ISO 8601, as the journal has it
    end: str


def _problem(run: dict[str, Any]) -> str:
    lines = run.get("exception") or [run.get("status", "did not finish")]
    return f"{run['activity']['name']}: {lines[-1].strip()}"


def _unmet(state: dict[str, Any] | None) -> list[str]:
    if not state:
        return []
    return [p["activity"]["name"] for p in state.get("probes", []) if not p.get("tolerance_met")]


def verdict(drill: str, repeat: int, journal: dict[str, Any]) -> Verdict:
    experiment = journal.get("experiment", {})
    states = journal.get("steady_states") or {}
    runs, rollbacks = journal.get("run") or [], journal.get("rollbacks") or []
    reasons = []
    if journal.get("status") != "completed":
        reasons.append(f"Chaos Toolkit ended the run as {journal.get('status')}")
    if unmet := _unmet(states.get("before")):
        reasons.append(f"steady state did not hold before the fault: {', '.join(unmet)}")
    if unmet := _unmet(states.get("after")):
        reasons.append(f"steady state did not hold after the fault: {', '.join(unmet)}")
    if len(runs) < len(experiment.get("method", [])):
        reasons.append(f"the method stopped after {len(runs)} of its activities")
    reasons += [f"method {_problem(r)}" for r in runs if r.get("status") != "succeeded"]
    if len(rollbacks) < len(experiment.get("rollbacks", [])):
        reasons.append(f"only {len(rollbacks)} of {len(experiment['rollbacks'])} rollbacks ran")
    reasons += [f"rollback {_problem(r)}" for r in rollbacks if r.get("status") != "succeeded"]
    recovered = next(
        (
            float(r["output"]["after_s"])
            for r in runs
            if r["activity"].get("name") == RECOVERY_PROBE and r.get("status") == "succeeded"
        ),
        None,
    )
    outcome = (
        "interrupted"
        if journal.get("status") == "interrupted"
        else "failed"
        if reasons
        else "passed"
    )
    return Verdict(
        drill,
        repeat,
        outcome,
        tuple(reasons),
        recovered,
        str(journal.get("start", "")),
        str(journal.get("end", "")),
    )


def read(path: Path, drill: str, repeat: int) -> Verdict:
    """The verdict of a journal file; a missing or unreadable one is a failed drill."""
    try:
        journal = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return Verdict(drill, repeat, "failed", (f"no journal: {error}",), None, "", "")
    return verdict(drill, repeat, journal)
