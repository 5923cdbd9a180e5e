"""The run: every check (some in parallel), one line each, conformance.json and junit.xml."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from harness.conformance.charts import (
    check_helm_lint,
    check_helm_template,
    check_kubernetes_validate,
    check_resource_budget,
    check_strategy_configmap,
)
from harness.conformance.checkov import check_checkov_charts, check_checkov_terraform
from harness.conformance.context import CheckResult, Context, Status
from harness.conformance.cost_model import check_cost
from harness.conformance.delivery import check_actionlint, check_hadolint, check_systemd
from harness.conformance.monitoring import (
    check_alertmanager,
    check_dashboards,
    check_promtool_rules,
    check_promtool_tests,
)
from harness.conformance.secrets import check_no_secrets
from harness.conformance.terraform import (
    check_terraform_fmt,
    check_terraform_inputs,
    check_terraform_validate,
)
from harness.conformance.terraform_policy import check_terraform_policy
from harness.conformance.tools import network_isolation, tool_environment, tool_versions
from harness.cost import Finding
from harness.errors import HarnessError
from harness.toolchain import ROOT

CHECKS: dict[str, Callable[[Context], CheckResult]] = {
    "terraform-fmt": check_terraform_fmt,
    "terraform-validate": check_terraform_validate,
    "terraform-inputs": check_terraform_inputs,
    "terraform-policy": check_terraform_policy,
    "no-secrets": check_no_secrets,
    "checkov-terraform": check_checkov_terraform,
    "helm-lint": check_helm_lint,
    "helm-template": check_helm_template,
    "kubernetes-validate": check_kubernetes_validate,
    "strategy-configmap": check_strategy_configmap,
    "resource-budget": check_resource_budget,
    "checkov-charts": check_checkov_charts,
    "promtool-check": check_promtool_rules,
    "promtool-test": check_promtool_tests,
    "grafana-dashboards": check_dashboards,
    "alertmanager-routes": check_alertmanager,
    "actionlint": check_actionlint,
    "hadolint": check_hadolint,
    "systemd-analyze": check_systemd,
    "cost-model": check_cost,
}
_NEEDS_RENDERING = {
    "kubernetes-validate",
    "checkov-charts",
    "strategy-configmap",
    "resource-budget",
}
_SLOW = ("checkov-terraform", "checkov-charts")


def _timed(check: Callable[[Context], CheckResult], ctx: Context) -> CheckResult:
    started = time.monotonic()
    try:
        result = check(ctx)
    except (HarnessError, OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
        name = next((n for n, c in CHECKS.items() if c is check), check.__name__)
        result = CheckResult(name, "?")
        result.fail(Finding(name, None, "check-crashed", f"{type(error).__name__}: {error}"))
    result.duration_s = time.monotonic() - started
    return result


def run_checks(
    out_dir: Path, root: Path = ROOT, only: Collection[str] | None = None
) -> list[CheckResult]:
    unknown = set(only or ()) - set(CHECKS)
    if unknown:
        raise HarnessError(
            f"unknown checks: {', '.join(sorted(unknown))} (known: {', '.join(CHECKS)})"
        )
    selected = [name for name in CHECKS if only is None or name in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(
        root=root.resolve(),
        out_dir=out_dir.resolve(),
        env=tool_environment(out_dir.resolve()),
        isolate=network_isolation(),
    )
    ctx.data["versions"] = tool_versions(ctx.root)
    results: dict[str, CheckResult] = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures: dict[str, Future[CheckResult]] = {}
        if "checkov-terraform" in selected:
            futures["checkov-terraform"] = pool.submit(_timed, CHECKS["checkov-terraform"], ctx)
        if "helm-template" in selected or _NEEDS_RENDERING & set(selected):
            results["helm-template"] = _timed(check_helm_template, ctx)
        for name in selected:
            if name not in futures and name not in results:
                futures[name] = pool.submit(_timed, CHECKS[name], ctx)
        for name, future in futures.items():
            results[name] = future.result()
    ctx.data["network"] = (
        "isolated: each tool ran in its own network namespace (unshare -rn, loopback only)"
        if ctx.isolate
        else "not isolated (unshare unavailable): tools ran with their offline switches only"
    )
    _ordered = [results[name] for name in CHECKS if name in results]
    _write_reports(ctx, _ordered)
    return _ordered


def run_conformance(out_dir: Path, root: Path = ROOT, only: Collection[str] | None = None) -> int:
    """Run the checks, print one line per check and a summary, write conformance.json and
    junit.xml into out_dir; non-zero when any check failed."""
    results = run_checks(out_dir, root, only)
    for line in summary_lines(results, out_dir):
        print(line)
    return 1 if any(r.status is Status.FAILED for r in results) else 0


def summary_lines(results: Sequence[CheckResult], out_dir: Path, limit: int = 20) -> list[str]:
    labels = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.NOT_RUN: "NOT RUN"}
    lines: list[str] = []
    for r in results:
        detail = r.detail if r.status is not Status.FAILED else f"{len(r.findings)} finding(s)"
        lines.append(
            f"{labels[r.status]:<7} {r.name:<20} {r.tool:<58} {r.duration_s:6.1f}s  {detail}"
        )
        for finding in r.findings[:limit]:
            lines.append(f"          {finding}")
        if len(r.findings) > limit:
            lines.append(f"          ... and {len(r.findings) - limit} more in conformance.json")
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    not_run = [r.name for r in results if r.status is Status.NOT_RUN]
    lines.append(
        f"conformance: {counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, "
        f"{counts[Status.NOT_RUN]} not run{' (' + ', '.join(not_run) + ')' if not_run else ''}"
        f"; report: {out_dir / 'conformance.json'}, {out_dir / 'junit.xml'}"
    )
    return lines


def _write_reports(ctx: Context, results: Sequence[CheckResult]) -> None:
    skips = [s.__dict__ | {"check": r.name} for r in results for s in r.skips]
    report = {
        "root": str(ctx.root),
        "network": ctx.data.get("network"),
        "tools": ctx.data.get("versions", {}),
        "summary": {str(s): sum(1 for r in results if r.status is s) for s in Status},
        "checks": [r.as_dict() for r in results],
        "skip_list": skips,
        "cost": ctx.data.get("bills", {}),
    }
    (ctx.out_dir / "conformance.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    failures = sum(1 for r in results if r.status is Status.FAILED)
    skipped = sum(1 for r in results if r.status is Status.NOT_RUN)
    total = sum(r.duration_s for r in results)
    cases = []
    for r in results:
        body = ""
        if r.status is Status.FAILED:
            text = "\n".join(str(f) for f in r.findings)
            message = quoteattr(f"{len(r.findings)} finding(s)")
            body = f"<failure message={message}>{escape(text)}</failure>"
        elif r.status is Status.NOT_RUN:
            body = f"<skipped message={quoteattr(r.detail)}/>"
        out = escape("\n".join([r.tool, *r.commands, r.detail]))
        cases.append(
            f'  <testcase classname="conformance" name={quoteattr(r.name)} '
            f'time="{r.duration_s:.2f}">'
            f"{body}<system-out>{out}</system-out></testcase>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="conformance" tests="{len(results)}" failures="{failures}" errors="0" '
        f'skipped="{skipped}" time="{total:.2f}">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )
    (ctx.out_dir / "junit.xml").write_text(xml, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m harness.conformance", description=_package_summary()
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default: a new .runs/<time>-conformance)"
    )
    parser.add_argument("--only", help="comma-separated checks: " + ", ".join(CHECKS))
    args = parser.parse_args(argv)
    if args.out is None:
        from harness.run_folder import new_run_folder

        args.out = new_run_folder("conformance")
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    try:
        return run_conformance(args.out, only=only)
    except HarnessError as error:
        print(f"conformance: error: {error}", file=sys.stderr)
        return 2


def _package_summary() -> str:
    import harness.conformance

    return (harness.conformance.__doc__ or "").split("\n")[0]
