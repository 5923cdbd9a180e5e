"""Turn run folders into one self-contained report: report.html, report.junit.xml, summary.json.

    python -m reports.build [--out DIR] [--expect PART,...] [--history DIR ...] RUN_DIR ...

The parts (scenarios, load, chaos, conformance; see reports/parts.py) come from whichever run
folder holds them. A part that is expected and not found is marked MISSING and fails the
report; it is never shown as passed. The HTML is one file with inline SVG plots (no script, no
network): latency CDFs per VPN profile, failover timelines, load over time, chaos verdicts and
recovery times, the conformance table, and trends against the summaries of earlier runs.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from reports import plots
from reports.parts import (
    PART_NAMES,
    READERS,
    Part,
    latency_figures,
    missing,
    profile_label,
    screenshots,
    timelines,
)

REPORT, JUNIT, SUMMARY = "report.html", "report.junit.xml", "summary.json"


def expected_parts(run_dir: Path) -> tuple[str, ...]:
    """What a run folder of its kind (`<time>-<kind>`) should hold; everything for others."""
    kind = run_dir.name.rsplit("-", 1)[-1]
    return (kind,) if kind in PART_NAMES else PART_NAMES


def collect(sources: Sequence[Path], expect: Iterable[str]) -> list[Part]:
    """Every part found in the sources (the first folder holding it wins), and every expected
    part that none holds, marked missing."""
    folders = [s for s in sources if s.is_dir()]
    found = {}
    for name, read in READERS.items():
        part = next((p for folder in folders if (p := read(folder)) is not None), None)
        if part is not None:
            found[name] = part
    wanted = set(expect) | set(found)
    return [found.get(name) or missing(name, sources) for name in PART_NAMES if name in wanted]


def latency_groups(figures: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Samples by VPN profile; beside each, the link's own delay where it was measured (the
    floor the stack's figures stand on)."""
    groups: dict[str, list[float]] = {}
    for figure in figures:
        label = profile_label(figure)
        groups.setdefault(label, []).extend(figure["samples_ms"])
        if figure.get("link_ms"):
            groups.setdefault(f"{label}, the link alone", []).extend(figure["link_ms"])
    return groups


def hop_table(figures: list[dict[str, Any]]) -> str:
    """Where the signals' time went, hop by hop (p50 / p99, ms), per latency figure that has a
    breakdown (harness.hops); a figure whose breakdown could not be captured says why."""
    captured = [f for f in figures if f.get("hops")]
    if not captured:
        return ""
    hops = next((list(f["hops"])[1:] for f in captured if "signals" in f["hops"]), [])
    rows: list[list[object]] = []
    for figure in captured:
        found = figure["hops"]
        steal = figure.get("host_steal_ms")
        steal = "not measured" if steal is None else steal
        if "signals" in found:
            cells = [f"{found[h]['p50_ms']} / {found[h]['p99_ms']}" for h in hops]
            rows.append([profile_label(figure), found["signals"], *cells, steal])
        else:
            rows.append([profile_label(figure), 0, f"not captured: {found.get('unavailable')}"])
    header = ["profile", "signals", *(f"{h} p50 / p99 (ms)" for h in hops)]
    return _table([*header, "taken by the host (ms)"], rows)


def metrics(parts: list[Part], groups: dict[str, list[float]]) -> dict[str, float]:
    """The headline figures of a run: what the trends compare across runs."""
    found: dict[str, float] = {}
    for label, samples in groups.items():
        found[f"p99 latency, {label} (ms)"] = round(float(np.percentile(samples, 99)), 3)
    for part in parts:
        if part.status == "missing":
            continue
        found[f"{part.name}: failed"] = float(part.count("failed"))
        if part.name == "load":
            for gate in part.data["gates"]:
                if gate["value"] is not None:
                    found[f"load: {gate['name']}"] = float(gate["value"])
        if part.name == "chaos":
            found["chaos: drill runs"] = float(len(part.data["drills"]))
            violations = sum(len(i["violations"]) for i in part.data["invariants"])
            found["chaos: invariant violations"] = float(violations)
            for drill, seconds in part.data["mean_recovery_s"].items():
                found[f"chaos: recovery {drill} (s)"] = round(float(seconds), 3)
    return found


def earlier_summaries(run_dir: Path, history: Sequence[Path]) -> list[dict[str, Any]]:
    """Summaries of earlier runs: in the history folders given, else the run folders of the
    same kind beside this one."""
    if history:
        paths = [p for folder in history for p in sorted(folder.glob("**/summary.json"))]
    else:
        kind = run_dir.name.rsplit("-", 1)[-1]
        paths = [
            folder / SUMMARY
            for folder in sorted(run_dir.parent.glob(f"*-{kind}"))
            if folder.name < run_dir.name and (folder / SUMMARY).exists()
        ]
    summaries = []
    for path in paths:
        try:
            summary = json.loads(path.read_text())
            summaries.append({"at": datetime.fromisoformat(summary["generated_at"]), **summary})
        except (ValueError, KeyError, OSError):
            continue  # a summary from before trends existed, or a broken one: no point to plot
    return summaries


# -- HTML -----------------------------------------------------------------------------------
def _e(value: object) -> str:
    return html.escape(str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], css: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>'


def _status(status: str) -> str:
    return f'<span class="status {_e(status)}">{_e(status.upper())}</span>'


def _cases(part: Part) -> str:
    if part.status == "missing":
        return f'<p class="missing">{_e(part.note)}</p>'
    rows = "".join(
        f'<tr class="{c.outcome}"><td>{_e(c.name)}</td><td>{_e(c.outcome)}</td>'
        f"<td>{c.seconds:.2f} s</td><td>{_e(c.message[:400])}</td></tr>"
        for c in part.cases
    )
    note = f'<p class="note">{_e(part.note)}</p>' if part.note else ""
    return (
        f"{note}<details><summary>{len(part.cases)} cases: {part.count('passed')} passed, "
        f"{part.count('failed')} failed, {part.count('skipped')} skipped</summary>"
        f"<table><tr><th>case</th><th>outcome</th><th>time</th><th>detail</th></tr>{rows}"
        "</table></details>"
    )


def _load_section(part: Part) -> str:
    data = part.data
    gates = _table(
        ("gate", "value", "limit", "verdict"),
        (
            (
                g["name"],
                g["detail"],
                "figure" if g["limit"] is None else g["limit"],
                "figure" if g["limit"] is None else "pass" if g["passed"] else "BREACH",
            )
            for g in data["gates"]
        ),
    )
    over_time = plots.load_over_time(data["history"]) if len(data["history"]) > 1 else ""
    stats = _table(
        ("type", "name", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "requests/s"),
        (
            (
                r["Type"] or "",
                r["Name"],
                int(r["Request Count"]),
                int(r["Failure Count"]),
                r["50%"],
                r["95%"],
                r["99%"],
                f"{r['Requests/s']:.2f}",
            )
            for r in data["stats"]
        ),
    )
    locust = f"<p>Locust's own report: {_e(data['html'])}</p>" if data["html"] else ""
    return f"{gates}{over_time}{stats}{locust}"


def _chaos_section(part: Part) -> str:
    data = part.data
    drills: dict[str, list[dict[str, Any]]] = {}
    for run in data["drills"]:
        drills.setdefault(run["drill"], []).append(run)
    verdicts = _table(
        ("drill", "runs", "passed", "failed", "mean time to recover (s)"),
        (
            (
                name,
                len(runs),
                sum(r["outcome"] == "passed" for r in runs),
                sum(r["outcome"] != "passed" for r in runs),
                f"{data['mean_recovery_s'][name]:.3f}" if name in data["mean_recovery_s"] else "-",
            )
            for name, runs in sorted(drills.items())
        ),
    )
    skipped = _table(
        ("drill not run", "this topology has no"),
        ((s["drill"], ", ".join(s["missing"])) for s in data["skipped"]),
    )
    invariants = _table(
        ("invariant", "checks", "violations", "not checked because"),
        (
            (i["name"], i["checks"], len(i["violations"]), i["not_checked"] or "")
            for i in data["invariants"]
        ),
    )
    bars = plots.recovery_bars(data["mean_recovery_s"]) if data["mean_recovery_s"] else ""
    stopped = data.get("traffic_failure")
    evidence = (
        f"<p>Orders at the gateway while the invariants were checked: {data['gateway_orders']}; "
        f"signals streamed throughout the drills: {data.get('signals_streamed', 0)}"
        + (f" (the stream stopped early: {html.escape(stopped)})" if stopped else "")
        + "</p>"
    )
    return f"{verdicts}{bars}{skipped if data['skipped'] else ''}{invariants}{evidence}"


def _conformance_section(part: Part) -> str:
    report = part.data
    rows = (
        (
            c["name"],
            c["tool"],
            c["status"],
            f"{c.get('duration_s', 0):.1f} s",
            len(c["findings"]),
            "; ".join(f["text"] for f in c["findings"][:3]) or c.get("detail", ""),
        )
        for c in report["checks"]
    )
    network = f"<p>{_e(report['network'])}</p>" if report.get("network") else ""
    table = _table(("check", "tool", "status", "time", "findings", "detail"), rows, "conformance")
    return network + table


SECTIONS = {"load": _load_section, "chaos": _chaos_section, "conformance": _conformance_section}

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #111; }
table { border-collapse: collapse; margin: .6rem 0 1rem; }
td, th { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: left; }
td { vertical-align: top; }
.status { font-weight: 600; padding: .1rem .4rem; border-radius: .25rem; color: #fff; }
.status.passed { background: #1e7b34; } .status.failed { background: #b02a2a; }
.status.missing { background: #8a6100; }
tr.failed td:nth-child(2) { color: #b02a2a; } tr.skipped td:nth-child(2) { color: #8a6100; }
p.missing { color: #8a6100; font-weight: 600; }
svg { max-width: 100%; height: auto; display: block; margin: .5rem 0 1rem; }
figure img { max-width: 100%; border: 1px solid #ddd; }
"""


def _screenshot(path: Path) -> str:
    """Inline, so the report stays one file wherever it is copied."""
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{_e(path.stem)}'>"
        f"<figcaption>{_e(path)}</figcaption></figure>"
    )


def render(
    parts: list[Part], summary: dict[str, Any], figures: dict[str, str], shots: list[Path]
) -> str:
    overview = "".join(
        f"<tr><td><a href='#{p.name}'>{_e(p.name)}</a></td><td>{_status(p.status)}</td>"
        f"<td>{p.count('passed')}</td><td>{p.count('failed')}</td><td>{p.count('skipped')}</td>"
        f"<td>{_e(p.source or p.note)}</td></tr>"
        for p in parts
    )
    sections = "".join(
        f'<section id="{p.name}"><h2>{_e(p.name)} {_status(p.status)}</h2>'
        f"{SECTIONS[p.name](p) if p.name in SECTIONS and p.status != 'missing' else ''}"
        f"{_cases(p)}</section>"
        for p in parts
    )
    plotted = "".join(
        f"<section><h2>{_e(title)}</h2>{svg}</section>" for title, svg in figures.items()
    )
    if shots:
        shown = "".join(_screenshot(path) for path in shots)
        plotted += f"<section><h2>The dashboard, as the browser saw it</h2>{shown}</section>"
    title = f"spy-hybrid run {summary['run']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><style>{STYLE}</style></head><body>
<h1>{_e(title)} {_status(summary["status"])}</h1>
<p>Built {_e(summary["generated_at"])} from {_e(", ".join(summary["sources"]))}</p>
<table><tr><th>part</th><th>status</th><th>passed</th><th>failed</th><th>skipped</th>
<th>from</th></tr>{overview}</table>
{plotted}{sections}
</body></html>
"""


def junit(parts: list[Part], name: str) -> str:
    """One testsuite per part; a missing part is an error, so CI never reads it as passed."""
    root = ET.Element("testsuites", name=name)
    for part in parts:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=part.name,
            tests=str(max(len(part.cases), 1)),
            failures=str(part.count("failed")),
            errors=str(int(part.status == "missing")),
            skipped=str(part.count("skipped")),
        )
        if part.status == "missing":
            case = ET.SubElement(suite, "testcase", classname=part.name, name=part.name)
            ET.SubElement(case, "error", message=part.note)
        for c in part.cases:
            case = ET.SubElement(
                suite, "testcase", classname=part.name, name=c.name, time=f"{c.seconds:.3f}"
            )
            if c.outcome != "passed":
                tag = "failure" if c.outcome == "failed" else "skipped"
                ET.SubElement(case, tag, message=c.message)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def build(
    sources: Sequence[Path],
    out: Path,
    expect: Iterable[str],
    history: Sequence[Path] = (),
) -> Path:
    folders = [s for s in sources if s.is_dir()]
    parts = collect(sources, expect)
    measured = latency_figures(folders)
    groups = latency_groups(measured)
    found = metrics(parts, groups)
    summary: dict[str, Any] = {
        "run": out.name,
        "generated_at": datetime.now(UTC).isoformat(),
        "status": "passed" if all(p.status == "passed" for p in parts) else "failed",
        "sources": [str(s) for s in sources],
        "suites": [
            {
                "name": p.name,
                "status": p.status,
                "source": p.source,
                "note": p.note,
                "cases": [asdict(c) for c in p.cases],
            }
            for p in parts
        ],
        "metrics": found,
    }
    figures = {}
    if groups:
        figures["Signal and request latency per VPN profile"] = plots.latency_cdfs(groups)
    if hops := hop_table(measured):
        figures["Where each signal's time went, hop by hop"] = hops
    for line in timelines(folders):
        figures[f"Timeline of {Path(line.source).name}"] = plots.timeline(line)
    series: dict[str, list[tuple[datetime, float]]] = {}
    for earlier in [*earlier_summaries(out, history), {"at": datetime.now(UTC), "metrics": found}]:
        for name, value in earlier["metrics"].items():
            if name in found:
                series.setdefault(name, []).append((earlier["at"], value))
    series = {name: points for name, points in series.items() if len(points) > 1}
    if series:
        figures["Trends against earlier runs"] = plots.trends(series)
    out.mkdir(parents=True, exist_ok=True)
    (out / JUNIT).write_text(junit(parts, f"spy-hybrid run {out.name}"))
    (out / SUMMARY).write_text(json.dumps(summary, indent=1))
    report = out / REPORT
    report.write_text(render(parts, summary, figures, screenshots(folders)))
    return report


def build_report(run_dir: Path) -> Path:
    """The report of one run folder, expecting what a run of its kind produces."""
    return build([run_dir], run_dir, expected_parts(run_dir))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.build", description=__doc__.split("\n")[0])
    p.add_argument("sources", nargs="+", type=Path, help="run folders")
    p.add_argument("--out", type=Path, help="where the report goes (default: the first folder)")
    p.add_argument("--expect", help=f"parts that must be there (default: {','.join(PART_NAMES)})")
    p.add_argument("--history", type=Path, action="append", default=[], help="earlier summaries")
    args = p.parse_args(argv)
    expect = args.expect.split(",") if args.expect else list(PART_NAMES)
    unknown = set(expect) - set(PART_NAMES)
    if unknown:
        p.error(f"--expect: unknown parts {sorted(unknown)}; parts: {', '.join(PART_NAMES)}")
    print(build(args.sources, args.out or args.sources[0], expect, args.history))
    return 0


if __name__ == "__main__":
    sys.exit(main())
