"""Turn a run folder into one self-contained report: report.html, summary.json.

Reads what the run left behind (JUnit XML of each suite, figures/*.json). A part that is missing
is shown as missing, never as passed.
"""

from __future__ import annotations

import html
import io
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("svg")  # before pyplot is imported: no display here
import matplotlib.pyplot as plt
import numpy as np

SUITES = {"scenarios": "junit.xml"}


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    outcome: str  # passed | failed | skipped
    seconds: float
    message: str


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    status: str  # passed | failed | missing
    cases: list[Case]


def read_suite(name: str, junit: Path) -> Suite:
    if not junit.exists():
        return Suite(name, "missing", [])
    cases = []
    # The XML is what our own pytest run wrote, not outside input.
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        outcome = (
            "failed" if problem is not None else "skipped" if skipped is not None else "passed"
        )
        detail = problem if problem is not None else skipped
        message = (detail.get("message") or "") if detail is not None else ""
        cases.append(Case(case.get("name", "?"), outcome, float(case.get("time", 0)), message))
    failed = any(c.outcome == "failed" for c in cases) or not cases
    return Suite(name, "failed" if failed else "passed", cases)


def latency_cdf_svg(figures: list[dict[str, Any]]) -> str:
    """One CDF line per figure file that carries latency samples."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for figure in figures:
        samples = np.sort(np.asarray(figure["samples_ms"], dtype=float))
        ax.step(
            samples,
            np.arange(1, len(samples) + 1) / len(samples),
            where="post",
            label=figure["scenario"],
        )
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def render(suites: list[Suite], figures: list[dict[str, Any]], title: str) -> str:
    rows = []
    for suite in suites:
        if suite.status == "missing":
            rows.append(
                f'<tr class="missing"><td>{suite.name}</td><td colspan="3">MISSING: '
                "this suite left no results</td></tr>"
            )
        for case in suite.cases:
            rows.append(
                f'<tr class="{case.outcome}"><td>{suite.name}</td>'
                f"<td>{html.escape(case.name)}</td><td>{case.outcome}</td>"
                f"<td>{case.seconds:.2f} s {html.escape(case.message[:300])}</td></tr>"
            )
    latency = [f for f in figures if "samples_ms" in f]
    plot = latency_cdf_svg(latency) if latency else "<p>No latency samples in this run.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #111; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .25rem .6rem; border-bottom: 1px solid #ddd; }}
.passed td:nth-child(3) {{ color: #176b2c; }}
.failed td:nth-child(3), .missing td {{ color: #a11; }}
.skipped td:nth-child(3) {{ color: #8a6100; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<h2>Results</h2>
<table><tr><th>suite</th><th>case</th><th>outcome</th><th>detail</th></tr>
{"".join(rows)}</table>
<h2>Latency</h2>
{plot}
</body></html>
"""


def build_report(run_dir: Path) -> Path:
    suites = [read_suite(name, run_dir / file) for name, file in SUITES.items()]
    figures = [json.loads(p.read_text()) for p in sorted((run_dir / "figures").glob("*.json"))]
    report = run_dir / "report.html"
    report.write_text(render(suites, figures, f"spy-hybrid run {run_dir.name}"))
    summary = {
        "run": run_dir.name,
        "status": "passed" if all(s.status == "passed" for s in suites) else "failed",
        "suites": [asdict(s) for s in suites],
        "figures": [p.name for p in sorted((run_dir / "figures").glob("*.json"))],
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return report


if __name__ == "__main__":
    print(build_report(Path(sys.argv[1])))
