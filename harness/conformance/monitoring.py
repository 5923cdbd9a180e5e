"""The edge's monitoring configuration: promtool (config, rules, rule tests), the dashboards'
queries, Alertmanager's routes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.conformance.context import CheckResult, Context
from harness.cost import Finding
from harness.toolchain import PROMTOOL


def _monitoring(root: Path) -> Path:
    return root / "charts" / "edge-monitoring" / "files"


def _promtool_findings(ctx: Context, output: str, rule: str) -> Iterator[Finding]:
    matched = False
    for match in re.finditer(r"^\s*(\S+\.ya?ml): (\d+):(\d+): (.+)$", output, flags=re.M):
        matched = True
        yield Finding(ctx.rel(match[1]), int(match[2]), rule, match[4])
    if not matched:
        text = " ".join(line.strip() for line in output.splitlines() if line.strip())
        yield Finding(ctx.rel(_monitoring(ctx.root) / "prometheus"), None, rule, text[-800:])


def check_promtool_rules(ctx: Context) -> CheckResult:
    result = CheckResult("promtool-check", f"promtool {ctx.data['versions']['promtool']}")
    prometheus = _monitoring(ctx.root) / "prometheus"
    rules = sorted((prometheus / "rules").glob("*.yml"))
    if not rules:
        result.fail(Finding(ctx.rel(prometheus / "rules"), None, "promtool", "no rule files"))
        return result
    done = ctx.run(result, [str(PROMTOOL.path), "check", "rules", *map(str, rules)])
    if done.returncode != 0:
        for finding in _promtool_findings(ctx, done.stdout + done.stderr, "promtool-check-rules"):
            result.fail(finding)
    config = prometheus / "prometheus.yml"
    done = ctx.run(result, [str(PROMTOOL.path), "check", "config", str(config)])
    if done.returncode != 0:
        for finding in _promtool_findings(ctx, done.stdout + done.stderr, "promtool-check-config"):
            result.fail(finding)
    names = _alert_names(rules)
    required = (
        "SignalToOrderLatencyHigh",
        "TradingBotFailover",
        "VpnLinkDown",
        "OutboxBacklogHigh",
    )
    for alert in required:
        if alert not in names:
            result.fail(
                Finding(ctx.rel(rules[0]), None, "alert-coverage", f"no {alert} alert rule")
            )
    result.detail = f"{len(names)} alerts in {len(rules)} rule files; scrape config"
    return result


def _alert_names(rules: Iterable[Path]) -> set[str]:
    names: set[str] = set()
    for path in rules:
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", []):
            names |= {r["alert"] for r in group.get("rules", []) if "alert" in r}
    return names


def check_promtool_tests(ctx: Context) -> CheckResult:
    result = CheckResult("promtool-test", f"promtool {ctx.data['versions']['promtool']}")
    tests = sorted((_monitoring(ctx.root) / "prometheus" / "tests").glob("*.yml"))
    if not tests:
        result.fail(Finding(ctx.rel(_monitoring(ctx.root)), None, "promtool-test", "no rule tests"))
        return result
    done = ctx.run(result, [str(PROMTOOL.path), "test", "rules", *map(str, tests)])
    if done.returncode != 0:
        failures = re.findall(r"alertname: (\S+), time: (\S+),", done.stdout + done.stderr)
        for alert, at in failures:
            line = _text_line(tests[0], f"alertname: {alert}")
            result.fail(
                Finding(
                    ctx.rel(tests[0]),
                    line,
                    "promtool-test-rules",
                    f"{alert} at {at.rstrip(',')}: expected alerts differ",
                )
            )
        for expr in re.findall(r'expr: "(.+?)", time: (\S+)', done.stdout + done.stderr):
            result.fail(
                Finding(ctx.rel(tests[0]), None, "promtool-test-rules", f"{expr[0]} at {expr[1]}")
            )
        if not result.findings:
            for finding in _promtool_findings(
                ctx, done.stdout + done.stderr, "promtool-test-rules"
            ):
                result.fail(finding)
    covered = set(re.findall(r"alertname: (\w+)", "\n".join(t.read_text() for t in tests)))
    rules = sorted((_monitoring(ctx.root) / "prometheus" / "rules").glob("*.yml"))
    for alert in sorted(_alert_names(rules) - covered):
        result.fail(Finding(ctx.rel(tests[0]), None, "alert-tested", f"{alert} has no unit test"))
    result.detail = f"{len(covered)} alerts unit-tested"
    return result


def _text_line(path: Path, needle: str) -> int | None:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            return number
    return None


def check_dashboards(ctx: Context) -> CheckResult:
    """Grafana dashboards: valid JSON with uid/title/panels, and every query parses as PromQL
    (promtool check rules over a generated rule file, one recording rule per panel query)."""
    result = CheckResult(
        "grafana-dashboards", f"promtool {ctx.data['versions']['promtool']} (PromQL)"
    )
    directory = _monitoring(ctx.root) / "grafana" / "dashboards"
    dashboards = sorted(directory.glob("*.json"))
    if not dashboards:
        result.fail(Finding(ctx.rel(directory), None, "dashboards", "no Grafana dashboards"))
        return result
    groups: list[dict[str, Any]] = []
    origin: dict[str, tuple[Path, int | None]] = {}
    for path in dashboards:
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            result.fail(Finding(ctx.rel(path), error.lineno, "dashboard-json", error.msg))
            continue
        for key in ("uid", "title", "panels"):
            if not dashboard.get(key):
                result.fail(Finding(ctx.rel(path), None, "dashboard-json", f"no {key}"))
        rules = []
        for panel in dashboard.get("panels", []):
            for target in panel.get("targets", []):
                expr = str(target.get("expr", ""))
                uid = re.sub(r"[^a-zA-Z0-9_]", "_", str(dashboard.get("uid")))
                record = f"dashboard:{uid}:panel{panel.get('id')}_{target.get('refId')}"
                query = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
                query = re.sub(r"\$\{?\w+\}?", "x", query)
                rules.append({"record": record, "expr": query})
                origin[record] = (path, _text_line(path, json.dumps(expr)[1:-1]))
        groups.append({"name": path.stem, "rules": rules})
    generated = ctx.out_dir / "dashboard-queries.rules.yml"
    generated.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    done = ctx.run(result, [str(PROMTOOL.path), "check", "rules", str(generated)])
    if done.returncode != 0:
        for match in re.finditer(
            r'rule \d+, "([^"]+)": (.+)$', done.stdout + done.stderr, flags=re.M
        ):
            path, line = origin.get(match[1], (directory, None))
            result.fail(Finding(ctx.rel(path), line, "promql", match[2]))
        if not result.findings:
            result.fail(
                Finding(ctx.rel(directory), None, "promql", (done.stderr or done.stdout)[-500:])
            )
    result.detail = f"{len(dashboards)} dashboards, {len(origin)} queries"
    return result


def check_alertmanager(ctx: Context) -> CheckResult:
    """Alertmanager routes: every route names a defined receiver, matchers parse, inhibitions name
    real alerts, every severity the rules use is routed, and no credential is inline."""
    result = CheckResult("alertmanager-routes", "python (pyyaml) structural check")
    result.commands.append("python -m harness.conformance --only alertmanager-routes")
    path = _monitoring(ctx.root) / "alertmanager" / "alertmanager.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    receivers = {r["name"] for r in config.get("receivers", [])}
    matcher = re.compile(r'^\s*[a-zA-Z_]\w*\s*(=~|!~|!=|=)\s*"?[^"]*"?\s*$')
    alerts = _alert_names(sorted((_monitoring(ctx.root) / "prometheus" / "rules").glob("*.yml")))
    routed_severities: set[str] = set()

    def visit(route: Mapping[str, Any], depth: int) -> None:
        receiver = route.get("receiver")
        if depth == 0 and not receiver:
            result.fail(
                Finding(
                    ctx.rel(path),
                    _text_line(path, "route:"),
                    "alertmanager-route",
                    "the top-level route has no receiver",
                )
            )
        if receiver and receiver not in receivers:
            result.fail(
                Finding(
                    ctx.rel(path),
                    _text_line(path, f"receiver: {receiver}"),
                    "alertmanager-route",
                    f"receiver {receiver} is not defined",
                )
            )
        for item in route.get("matchers", []):
            if not matcher.match(str(item)):
                result.fail(
                    Finding(
                        ctx.rel(path),
                        _text_line(path, str(item)),
                        "alertmanager-matcher",
                        f"cannot parse matcher {item!r}",
                    )
                )
            found = re.match(r'\s*severity\s*=\s*"?(\w+)"?', str(item))
            if found:
                routed_severities.add(found[1])
        for child in route.get("routes", []):
            visit(child, depth + 1)

    visit(config.get("route", {}), 0)
    for rule in config.get("inhibit_rules", []):
        for side in ("source_matchers", "target_matchers"):
            for item in rule.get(side, []):
                found = re.match(r'\s*alertname\s*(=~|=)\s*"?([^"]*)"?', str(item))
                if not found:
                    continue
                names = found[2].split("|") if found[1] == "=~" else [found[2]]
                for name in names:
                    if name not in alerts:
                        result.fail(
                            Finding(
                                ctx.rel(path),
                                _text_line(path, name),
                                "alertmanager-inhibit",
                                f"inhibit rule names {name}, which no alert rule defines",
                            )
                        )
    for receiver in config.get("receivers", []):
        if not any(k.endswith("_configs") for k in receiver):
            result.fail(
                Finding(
                    ctx.rel(path),
                    _text_line(path, f"name: {receiver['name']}"),
                    "alertmanager-receiver",
                    f"receiver {receiver['name']} sends nowhere",
                )
            )
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(r"(password|token|api_key|secret):\s*\S", line) and "_file:" not in line:
            result.fail(
                Finding(
                    ctx.rel(path),
                    number,
                    "secret-in-config",
                    "credential inline; use the *_file form",
                )
            )
    severities = set(
        re.findall(
            r"severity:\s*(\w+)",
            "\n".join(
                p.read_text()
                for p in (_monitoring(ctx.root) / "prometheus" / "rules").glob("*.yml")
            ),
        )
    )
    for severity in sorted(severities - routed_severities):
        result.fail(
            Finding(
                ctx.rel(path),
                None,
                "alertmanager-route",
                f"alerts of severity {severity} have no route of their own",
            )
        )
    result.detail = (
        f"{len(receivers)} receivers; severities routed: {', '.join(sorted(routed_severities))}"
    )
    return result
