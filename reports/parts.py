"""What run folders hold, read into report parts (the Sonobuoy idea: one part per suite, each
with its cases, and a status that is never `passed` for a part that left nothing behind).

A run folder holds any of:
  scenarios    junit.xml (no conformance.json beside it) and figures/*.json
  load         load/slo.json, load/locust_stats.csv, load/locust_stats_history.csv, load/figures/
  chaos        chaos/results.json and chaos/journals/
  conformance  conformance.json and its junit.xml
and events.jsonl, the topology's timeline.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

PART_NAMES = ("scenarios", "load", "chaos", "conformance")


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    outcome: str  # passed | failed | skipped
    seconds: float = 0.0
    message: str = ""


@dataclass
class Part:
    name: str
    status: str  # passed | failed | missing
    source: str = ""  # the run folder it came from
    cases: list[Case] = field(default_factory=list)
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # what the part's section shows

    @classmethod
    def judged(cls, name: str, source: Path, cases: list[Case], **extra: Any) -> Part:
        """Failed when a case failed or there is no case that passed."""
        failed = any(c.outcome == "failed" for c in cases)
        passed = any(c.outcome == "passed" for c in cases)
        status = "passed" if passed and not failed else "failed"
        return cls(name, status, str(source), cases, **extra)

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.cases)


def missing(name: str, sources: Iterable[Path]) -> Part:
    where = ", ".join(str(s) for s in sources) or "no run folder"
    return Part(name, "missing", note=f"MISSING: no {name} results in {where}")


# -- JUnit ----------------------------------------------------------------------------------
def junit_cases(path: Path) -> list[Case]:
    # The XML is what our own tools wrote in the run folder, not outside input.
    root = ET.parse(path).getroot()  # noqa: S314
    cases = []
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        detail = problem if problem is not None else skipped
        outcome = (
            "failed" if problem is not None else "skipped" if skipped is not None else "passed"
        )
        message = (detail.get("message") or detail.text or "") if detail is not None else ""
        cases.append(Case(case.get("name", "?"), outcome, float(case.get("time", 0)), message))
    return cases


# -- the four suites ------------------------------------------------------------------------
def read_scenarios(folder: Path) -> Part | None:
    junit = folder / "junit.xml"
    if not junit.exists() or (folder / "conformance.json").exists():
        return None
    return Part.judged("scenarios", folder, junit_cases(junit))


def _numbers(row: dict[str, str]) -> dict[str, Any]:
    def value(text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return None if text in ("", "N/A") else text

    return {key: value(text) for key, text in row.items()}


def _csv(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="") as rows:
        return [_numbers(row) for row in csv.DictReader(rows)]


def read_load(folder: Path) -> Part | None:
    out = folder / "load"
    slo, stats = out / "slo.json", out / "locust_stats.csv"
    if not slo.exists() and not stats.exists():
        return None
    data = {
        "stats": _csv(stats),
        "history": [r for r in _csv(out / "locust_stats_history.csv") if r["Name"] == "Aggregated"],
        "gates": json.loads(slo.read_text())["gates"] if slo.exists() else [],
        "html": str(out / "locust.html") if (out / "locust.html").exists() else "",
    }
    cases = [
        Case(g["name"], "passed" if g["passed"] else "failed", message=g["detail"])
        for g in data["gates"]
        if g["limit"] is not None
    ]
    if not slo.exists():
        cases.append(Case("SLO gates", "failed", message="no slo.json: Locust did not finish"))
    return Part.judged("load", folder, cases, data=data)


def read_chaos(folder: Path) -> Part | None:
    path = folder / "chaos" / "results.json"
    if not path.exists():
        return None
    results = json.loads(path.read_text())
    cases = [
        Case(
            f"{d['drill']} #{d['repeat']}",
            "passed" if d["outcome"] == "passed" else "failed",
            _seconds(d["start"], d["end"]),
            "; ".join(d["reasons"]) or _recovered(d["recovered_after_s"]),
        )
        for d in results["drills"]
    ]
    cases += [
        Case(
            s["drill"],
            "skipped",
            message=f"not run: this topology has no {', '.join(s['missing'])}",
        )
        for s in results["skipped"]
    ]
    if not results["drills"]:
        cases.append(Case("drills", "failed", message="no drill could run on this topology"))
    for invariant in results["invariants"]:
        name = f"invariant: {invariant['name']}"
        if invariant["not_checked"]:
            cases.append(Case(name, "skipped", message=f"not checked: {invariant['not_checked']}"))
        else:
            broken = invariant["violations"]
            message = f"{invariant['checks']} checks, {len(broken)} violations {broken[:5]}"
            # Never once checked (every look failed) is not a pass.
            verdict = "failed" if broken or not invariant["checks"] else "passed"
            cases.append(Case(name, verdict, message=message))
    note = (
        "interrupted (Ctrl-C): the drill rolled back, the run stopped"
        if results["interrupted"]
        else ""
    )
    return Part.judged("chaos", folder, cases, note=note, data=results)


def _seconds(start: str, end: str) -> float:
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _recovered(seconds: float | None) -> str:
    return "" if seconds is None else f"recovered in {seconds:g} s"


def read_conformance(folder: Path) -> Part | None:
    path = folder / "conformance.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    outcome = {"passed": "passed", "failed": "failed"}
    cases = [
        Case(
            check["name"],
            outcome.get(check["status"], "skipped"),
            check.get("duration_s", 0.0),
            "; ".join(f["text"] for f in check["findings"][:5]) or check.get("detail", ""),
        )
        for check in report["checks"]
    ]
    return Part.judged("conformance", folder, cases, data=report)


READERS: dict[str, Callable[[Path], Part | None]] = {
    "scenarios": read_scenarios,
    "load": read_load,
    "chaos": read_chaos,
    "conformance": read_conformance,
}


# -- figures and timelines ------------------------------------------------------------------
def latency_figures(folders: Iterable[Path]) -> list[dict[str, Any]]:
    """Every figure with latency samples, from scenarios (figures/) and load runs."""
    found = []
    for folder in folders:
        for path in sorted([*folder.glob("figures/*.json"), *folder.glob("load/figures/*.json")]):
            figure = json.loads(path.read_text())
            if figure.get("samples_ms"):
                found.append(figure)
    return found


def screenshots(folders: Iterable[Path]) -> list[Path]:
    """The dashboard as the scenarios and browser tests saw it (PNG, under dashboard/)."""
    return [path for folder in folders for path in sorted(folder.glob("dashboard/*.png"))]


def profile_label(figure: dict[str, Any]) -> str:
    """Which VPN profile a figure was measured under."""
    if figure.get("vpn_profile"):
        return str(figure["vpn_profile"])
    if figure.get("injected_one_way_ms") is not None:
        return f"one-way {figure['injected_one_way_ms']:g} ms"
    return str(figure.get("scenario", "?"))


@dataclass(frozen=True, slots=True)
class Timeline:
    source: str
    events: list[dict[str, Any]]
    windows: list[tuple[str, float, float, str]]  # (drill, start s, end s, outcome), epoch s


def timelines(folders: Iterable[Path]) -> list[Timeline]:
    found = []
    for folder in folders:
        path = folder / "events.jsonl"
        if not path.exists():
            continue
        events = [json.loads(line) for line in path.read_text().splitlines() if line]
        chaos = folder / "chaos" / "results.json"
        drills = json.loads(chaos.read_text())["drills"] if chaos.exists() else []
        windows = [
            (
                f"{d['drill']} #{d['repeat']}",
                datetime.fromisoformat(d["start"]).timestamp(),
                datetime.fromisoformat(d["end"]).timestamp(),
                d["outcome"],
            )
            for d in drills
            if d["start"] and d["end"]
        ]
        if events:
            found.append(Timeline(str(folder), events, windows))
    return found
