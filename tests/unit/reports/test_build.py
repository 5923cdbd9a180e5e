import base64
import json
from pathlib import Path

import pytest

from reports.build import build_report

JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="pytest">
 <testcase name="fast enough" time="1.5"/>
 <testcase name="failover" time="2.0">
  <failure message="duplicate order for sig-1">trace</failure>
 </testcase>
</testsuite></testsuites>"""


def test_a_run_without_results_is_reported_missing_not_passed(tmp_path: Path) -> None:
    report = build_report(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["suites"][0]["status"] == "missing"
    assert "MISSING" in report.read_text()


def test_failures_and_latency_plots_reach_the_report(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "figures").mkdir()
    figure = {"scenario": "rtt 20", "samples_ms": [10.5, 11.0, 12.5]}
    (tmp_path / "figures" / "rtt.json").write_text(json.dumps(figure))
    html = build_report(tmp_path).read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert [c["outcome"] for c in summary["suites"][0]["cases"]] == ["passed", "failed"]
    assert "duplicate order for sig-1" in html
    assert "<svg" in html  # the CDF is inlined: the report is one self-contained file


def test_the_links_own_delay_is_reported_beside_the_signals(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "figures").mkdir()
    figure = {"injected_one_way_ms": 15, "samples_ms": [19.0, 20.0], "link_ms": [15.5, 16.0]}
    (tmp_path / "figures" / "rtt.json").write_text(json.dumps(figure))
    build_report(tmp_path)
    metrics = json.loads((tmp_path / "summary.json").read_text())["metrics"]
    assert metrics["p99 latency, one-way 15 ms (ms)"] == pytest.approx(19.99)
    assert metrics["p99 latency, one-way 15 ms, the link alone (ms)"] == pytest.approx(15.995)


def test_each_figures_hops_are_tabled_or_say_why_they_are_missing(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "figures").mkdir()
    hop = {"p50_ms": 1.5, "p90_ms": 2.5, "p99_ms": 4.75}
    hops = {"signals": 600, "sender": hop, "signalr": hop, "link": hop, "bot": hop}
    for name, one_way, found in (("a", 15, hops), ("b", 10, {"unavailable": "no CAP_NET_RAW"})):
        figure = {"injected_one_way_ms": one_way, "samples_ms": [19.0], "hops": found}
        (tmp_path / "figures" / f"{name}.json").write_text(json.dumps(figure))
    older = {"injected_one_way_ms": 20, "samples_ms": [24.0], "hops": hops}
    (tmp_path / "figures" / "c.json").write_text(json.dumps({**older, "host_steal_ms": 70.0}))
    unmeasured = {"injected_one_way_ms": 25, "samples_ms": [29.0], "hops": hops}
    (tmp_path / "figures" / "d.json").write_text(json.dumps({**unmeasured, "host_steal_ms": None}))
    html = build_report(tmp_path).read_text()
    assert "<th>bot p50 / p99 (ms)</th>" in html
    assert "<th>taken by the host (ms)</th>" in html
    assert "<td>one-way 15 ms</td><td>600</td><td>1.5 / 4.75</td>" in html
    assert "<td>1.5 / 4.75</td><td>not measured</td></tr>" in html  # a figure from before
    assert "<td>1.5 / 4.75</td><td>70.0</td></tr>" in html
    cells = "<td>1.5 / 4.75</td>" * 4
    assert f"<td>one-way 25 ms</td><td>600</td>{cells}<td>not measured</td></tr>" in html
    assert "<td>one-way 10 ms</td><td>0</td><td>not captured: no CAP_NET_RAW</td>" in html


def test_the_dashboards_screenshots_are_inlined(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "dashboard").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(16))
    (tmp_path / "dashboard" / "dashboard-live.png").write_bytes(png)
    html = build_report(tmp_path).read_text()
    assert "The dashboard, as the browser saw it" in html
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in html
