"""Every kind of run folder becomes its part of the report; what is missing is marked missing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from reports.build import build, build_report, main
from tests.unit.reports.run_folders import chaos_run, conformance_run, load_run


def _suites(out: Path) -> dict[str, dict[str, Any]]:
    summary = json.loads((out / "summary.json").read_text())
    return {s["name"]: s for s in summary["suites"]}


def test_a_load_run_reports_its_gates_and_plots(tmp_path: Path) -> None:
    run = load_run(tmp_path / "20261124T210000Z-load", p99_ms=60.0)
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
    run = load_run(tmp_path / "20261124T210000Z-load", p99_ms=10.0)
    (run / "load" / "slo.json").unlink()
    build_report(run)
    case = _suites(run)["load"]["cases"][0]
    assert (case["outcome"], case["message"]) == ("failed", "no slo.json: Locust did not finish")


def test_a_chaos_run_reports_verdicts_skips_invariants_and_its_timeline(tmp_path: Path) -> None:
    run = chaos_run(tmp_path / "20261124T210000Z-chaos", violations=["sig-1"])
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
    run = chaos_run(tmp_path / "20261124T210000Z-chaos", violations=[])
    results = json.loads((run / "chaos" / "results.json").read_text())
    results["drills"] = []
    (run / "chaos" / "results.json").write_text(json.dumps(results))
    build_report(run)
    chaos = _suites(run)["chaos"]
    assert chaos["status"] == "failed"
    assert chaos["cases"][1]["message"] == "no drill could run on this topology"


def test_an_invariant_every_look_at_which_failed_is_not_a_pass(tmp_path: Path) -> None:
    run = chaos_run(tmp_path / "20261124T210000Z-chaos", violations=[])
    results = json.loads((run / "chaos" / "results.json").read_text())
    results["invariants"][0].update(checks=0, unavailable=40)
    (run / "chaos" / "results.json").write_text(json.dumps(results))
    build_report(run)
    outcomes = {c["name"]: c["outcome"] for c in _suites(run)["chaos"]["cases"]}
    assert outcomes["invariant: no duplicate order"] == "failed"


def test_a_conformance_run_is_read_from_its_own_json_not_as_scenarios(tmp_path: Path) -> None:
    run = conformance_run(tmp_path / "20261124T210000Z-conformance")
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
    load = load_run(tmp_path / "a-load", p99_ms=20.0)
    chaos = chaos_run(tmp_path / "b-chaos", violations=[])
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
        build_report(load_run(tmp_path / f"{stamp}-load", p99_ms=p99))
    broken = tmp_path / "20261122T000000Z-load"
    broken.mkdir()
    (broken / "summary.json").write_text("{not json")
    page = build_report(load_run(tmp_path / "20261123T000000Z-load", p99_ms=45.0)).read_text()
    assert "Trends against earlier runs" in page
    assert "load: backend p99 latency" in page


def test_unknown_parts_to_expect_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--expect", "scenarios,soak", "."])
    assert exited.value.code == 2
    assert "unknown parts ['soak']" in capsys.readouterr().err
