"""The nightly report opens in headless Chromium (Debian's), draws every plot, logs no error
and asks the network for nothing: it is one self-contained file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from harness.browser import chromium
from reports.build import build
from tests.unit.reports.run_folders import chaos_run, conformance_run, load_run

ALL = ["scenarios", "load", "chaos", "conformance"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def nightly(tmp_path: Path) -> Path:
    """A nightly's run folders: scenarios with latency figures, load, chaos and conformance,
    and two earlier nightlies to trend against."""
    scenarios = tmp_path / "runs" / "scenarios"
    (scenarios / "figures").mkdir(parents=True)
    (scenarios / "junit.xml").write_text(
        '<testsuite><testcase name="rtt 10" time="1"/><testcase name="rtt 15" time="1"/>'
        "</testsuite>"
    )
    for one_way in (10, 15):
        figure = {
            "scenario": f"rtt {one_way}",
            "injected_one_way_ms": one_way,
            "samples_ms": [one_way + 0.5 * i for i in range(12)],
        }
        (scenarios / "figures" / f"rtt-{one_way}.json").write_text(json.dumps(figure))
    sources = [
        scenarios,
        load_run(tmp_path / "runs" / "load", p99_ms=30.0),
        chaos_run(tmp_path / "runs" / "chaos", violations=[]),
        conformance_run(tmp_path / "runs" / "conformance"),
    ]
    history = tmp_path / "history"
    for night in ("20261122T030000Z-nightly", "20261123T030000Z-nightly"):
        report = build(sources, tmp_path / night, ALL)
        (history / night).mkdir(parents=True)
        shutil.copy(report.parent / "summary.json", history / night / "summary.json")
    out = tmp_path / "20261124T030000Z-nightly"
    return build(
        [*sources, tmp_path / "runs" / "not-run"],
        out,
        ["scenarios", "load", "chaos", "conformance"],
        [history],
    )


def _open(browser: Browser, report: Path) -> tuple[Page, list[str], list[str]]:
    """The report in a fresh page, with every console error and every request it made."""
    page = browser.new_page()
    problems: list[str] = []
    requested: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page, problems, requested


def test_the_report_renders_every_plot_without_errors_or_network(
    browser: Browser, nightly: Path
) -> None:
    page, problems, requested = _open(browser, nightly)
    assert problems == []
    assert requested == [nightly.as_uri()]  # nothing but the file itself
    titles = page.locator("section > h2").all_inner_texts()
    for plot in (
        "Signal and request latency per VPN profile",
        "Timeline of chaos",
        "Trends against earlier runs",
    ):
        assert plot in titles
    svgs = page.locator("svg")
    assert svgs.count() == 5  # latency CDFs, timeline, trends, load over time, recovery times
    for index in range(svgs.count()):
        svg = svgs.nth(index)
        assert svg.locator("path").count() > 0, f"plot {index} drew nothing"
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 50
    conformance = page.locator("table.conformance")
    assert "infra/main.tf:3: CKV_AZURE_1: no" in conformance.inner_text()
    page.close()


def test_a_partial_run_renders_with_its_missing_parts_marked(
    browser: Browser, tmp_path: Path
) -> None:
    chaos = chaos_run(tmp_path / "chaos", violations=[])
    report = build([chaos, tmp_path / "load-never-ran"], tmp_path / "partial", ALL)
    page, problems, _ = _open(browser, report)
    assert problems == []
    assert page.locator("span.status.missing").count() == 3 * 2  # overview and section each
    missing = page.locator("p.missing").all_inner_texts()
    assert [text.split(":")[1].strip() for text in missing] == [
        "no scenarios results in " + f"{chaos}, {tmp_path / 'load-never-ran'}",
        "no load results in " + f"{chaos}, {tmp_path / 'load-never-ran'}",
        "no conformance results in " + f"{chaos}, {tmp_path / 'load-never-ran'}",
    ]
    assert page.locator("h1 span.status").inner_text() == "FAILED"
    page.close()
