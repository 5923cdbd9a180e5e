"""The Helm charts: lint and template for dev and prod, kubernetes-validate --strict, the strategy
ConfigMap as the bot parses it, the namespaces' resource budget."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from harness import pod_resources
from harness.chart_values import CONTAINER
from harness.conformance.context import ENVIRONMENTS, CheckResult, Context, yaml_line
from harness.conformance.tools import tool_path
from harness.cost import Finding
from harness.toolchain import (
    HELM,
    PythonTool,
)

KUBERNETES_VERSION = "1.28.0"
# Where each chart is installed (edge-system creates the namespaces, so it lives in kube-system).
CHART_NAMESPACES = {
    "spy-trading-bot": "trading-bots",
    "ib-gateway": "trading-bots",
    "edge-monitoring": "monitoring",
    "edge-system": "kube-system",
}
KUBERNETES_VALIDATE = PythonTool("kubernetes-validate", "kubernetes-validate")


def _charts(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "charts").glob("*/Chart.yaml"))


def check_helm_lint(ctx: Context) -> CheckResult:
    helm = tool_path(HELM, ctx.root)
    result = CheckResult("helm-lint", f"helm {ctx.data['versions']['helm']}")
    charts = _charts(ctx.root)
    for chart in charts:
        for required in (
            "values.yaml",
            "values-dev.yaml",
            "values-prod.yaml",
            "values.schema.json",
            "templates/NOTES.txt",
        ):
            if not (chart / required).exists():
                result.fail(Finding(ctx.rel(chart / required), None, "chart-layout", "missing"))
        if not list((chart / "templates" / "tests").glob("*.yaml")):
            result.fail(
                Finding(
                    ctx.rel(chart / "templates" / "tests"),
                    None,
                    "chart-layout",
                    "no `helm test` hook",
                )
            )
        for env in ENVIRONMENTS:
            values = chart / f"values-{env}.yaml"
            done = ctx.run(
                result,
                [
                    str(helm),
                    "lint",
                    str(chart),
                    "--strict",
                    "--kube-version",
                    KUBERNETES_VERSION,
                    "--values",
                    str(values),
                ],
            )
            for finding in _helm_findings(ctx, chart, values, done.stdout + done.stderr):
                result.fail(finding)
            if done.returncode != 0 and not result.findings:
                result.fail(Finding(ctx.rel(chart), None, "helm-lint", done.stdout[-500:]))
    result.detail = f"{len(charts)} charts x {len(ENVIRONMENTS)} environments, --strict"
    return result


def _helm_findings(ctx: Context, chart: Path, values: Path, output: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for match in re.finditer(r"^\s*- at '([^']*)': (.+)$", output, flags=re.M):
        if match[2].strip() == "validation failed":  # a parent of more precise errors below
            continue
        pointer = [p for p in match[1].split("/") if p]
        key = f"{match[1]}|{match[2]}"
        if key in seen:
            continue
        seen.add(key)
        for candidate in (values, chart / "values.yaml"):
            line = yaml_line(candidate, pointer)
            if line is not None:
                yield Finding(
                    ctx.rel(candidate), line, "values.schema.json", f"{match[1] or '/'}: {match[2]}"
                )
                break
        else:
            yield Finding(
                ctx.rel(values), None, "values.schema.json", f"{match[1] or '/'}: {match[2]}"
            )
    for match in re.finditer(r"^\[(ERROR|WARNING)\] ([^:\n]+): (.+)$", output, flags=re.M):
        if "values don't meet the specifications" in match[3] or match[3].startswith("- at "):
            continue
        if match[2] == "values.yaml" and seen:
            continue
        yield Finding(ctx.rel(chart / match[2]), None, f"helm-lint-{match[1].lower()}", match[3])


def check_helm_template(ctx: Context) -> CheckResult:
    helm = tool_path(HELM, ctx.root)
    result = CheckResult("helm-template", f"helm {ctx.data['versions']['helm']}")
    for chart in _charts(ctx.root):
        namespace = CHART_NAMESPACES.get(chart.name, chart.name)
        for env in ENVIRONMENTS:
            values = chart / f"values-{env}.yaml"
            done = ctx.run(result, [
                str(helm), "template", chart.name, str(chart), "--namespace", namespace,
                "--kube-version", KUBERNETES_VERSION, "--values", str(values),
            ])  # fmt: skip
            if done.returncode != 0:
                for finding in _helm_findings(ctx, chart, values, done.stderr) or []:
                    result.fail(finding)
                result.fail(
                    Finding(ctx.rel(values), None, "helm-template", done.stderr.strip()[:500])
                )
                continue
            target = ctx.out_dir / "rendered" / env / f"{chart.name}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(done.stdout, encoding="utf-8")
            ctx.rendered[(chart.name, env)] = target
    _render_optional_features(ctx, result, helm)
    result.detail = (
        f"{len(ctx.rendered)} manifests under {ctx.rel(ctx.out_dir / 'rendered')}; "
        "spy-trading-bot also with its optional ServiceMonitor and PrometheusRule"
    )
    return result


def check_strategy_configmap(ctx: Context) -> CheckResult:
    """The strategy ConfigMap the chart mounts must be one the bot accepts: it is parsed here by
    the bot's own parser, so the chart and the code cannot drift apart unnoticed."""
    from system.edge.strategy_config import ConfigError, parse

    result = CheckResult("strategy-configmap", "system.edge.strategy_config.parse")
    result.commands.append("python -m harness.conformance --only strategy-configmap")
    chart = ctx.root / "charts" / "spy-trading-bot"
    for env in ENVIRONMENTS:
        values = chart / f"values-{env}.yaml"
        rendered = ctx.rendered.get((chart.name, env))
        if rendered is None:
            result.fail(
                Finding(ctx.rel(values), None, "strategy-configmap", "chart did not render")
            )
            continue
        mounted = [
            doc["data"]["strategy.yaml"]
            for doc in yaml.safe_load_all(rendered.read_text(encoding="utf-8"))
            if doc and doc.get("kind") == "ConfigMap" and "strategy.yaml" in doc.get("data", {})
        ]
        if not mounted:
            result.fail(Finding(ctx.rel(values), None, "strategy-configmap", "no strategy.yaml"))
        for text in mounted:
            try:
                parse(text, f"{chart.name} ConfigMap ({env})")
            except ConfigError as error:
                line = yaml_line(values, ["strategy"])
                result.fail(Finding(ctx.rel(values), line, "strategy-configmap", str(error)))
    result.detail = "dev and prod strategies parse as the bot parses them"
    return result


def check_resource_budget(ctx: Context) -> CheckResult:
    """Every namespace's quota admits its workloads at their most (the autoscaler's maximum and
    a rollout's surge), or a rollout stalls on `exceeded quota`; and in prod the bot's pod is
    Guaranteed with whole CPUs, the core of its own that its latency was measured with."""
    result = CheckResult(
        "resource-budget", "Kubernetes' quota and QoS rules (harness.pod_resources)"
    )
    result.commands.append("python -m harness.conformance --only resource-budget")
    system = ctx.root / "charts" / "edge-system"
    bot = ctx.root / "charts" / "spy-trading-bot"
    for env in ENVIRONMENTS:
        rendered = [ctx.rendered.get((chart.name, env)) for chart in _charts(ctx.root)]
        if None in rendered:
            result.fail(
                Finding("charts", None, "resource-budget", f"{env}: not every chart rendered")
            )
            continue
        documents = [
            d for path in rendered if path for d in yaml.safe_load_all(path.read_text("utf-8"))
        ]
        for namespace in pod_resources.namespaces(documents):
            for key in namespace.over():
                asked = "; ".join(
                    f"{w} {pod_resources.shown(key, t.get(key, Decimal(0)))}"
                    for w, t in namespace.by_workload.items()
                )
                result.fail(_values_finding(
                    ctx, system, env, ["namespaces", namespace.name, "quota", key],
                    "quota-admits-workloads",
                    f"{env}: namespace {namespace.name} {key} "
                    f"{pod_resources.shown(key, namespace.hard[key])} is less than its workloads "
                    f"ask at their most: {pod_resources.shown(key, namespace.used[key])} ({asked})",
                ))  # fmt: skip
        if env == "prod":
            for problem in pod_resources.exclusive_cpu_problems(documents, bot.name, CONTAINER):
                result.fail(_values_finding(
                    ctx, bot, env, ["resources"], "guaranteed-bot", f"{env}: {problem}"
                ))  # fmt: skip
    result.detail = (
        "dev and prod quotas admit their workloads at their most; prod's bot pod is Guaranteed "
        "with whole CPUs"
    )
    return result


def _values_finding(
    ctx: Context, chart: Path, env: str, pointer: list[str], rule: str, message: str
) -> Finding:
    """A finding at the key in the environment's values file, else in the chart's defaults."""
    for values in (chart / f"values-{env}.yaml", chart / "values.yaml"):
        line = yaml_line(values, pointer)
        if line is not None:
            return Finding(ctx.rel(values), line, rule, message)
    return Finding(ctx.rel(chart / f"values-{env}.yaml"), None, rule, message)


def _render_optional_features(ctx: Context, result: CheckResult, helm: Path) -> None:
    """The Prometheus Operator objects are off in dev and prod (no operator on the edge), so
    render them once switched on: they must still come out as the CRDs expect."""
    chart = ctx.root / "charts" / "spy-trading-bot"
    if not chart.is_dir():
        return
    rule = '[{"alert":"BotDown","expr":"up{job=\\"spy-trading-bot\\"} == 0","for":"1m"}]'
    done = ctx.run(result, [
        str(helm), "template", chart.name, str(chart), "--namespace", "trading-bots",
        "--kube-version", KUBERNETES_VERSION, "--values", str(chart / "values-prod.yaml"),
        "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "metrics.prometheusRule.enabled=true",
        "--set-json", f"metrics.prometheusRule.rules={rule}",
    ])  # fmt: skip
    kinds = {
        str(document.get("kind"))
        for document in yaml.safe_load_all(done.stdout if done.returncode == 0 else "")
        if isinstance(document, dict)
    }
    for kind in ("ServiceMonitor", "PrometheusRule"):
        if kind not in kinds:
            detail = done.stderr.strip()[:300] or "not rendered"
            result.fail(Finding(ctx.rel(chart / "templates"), None, "helm-template",
                                f"{kind} with metrics.*.enabled=true: {detail}"))  # fmt: skip


@dataclass(frozen=True)
class _Document:
    kind: str
    name: str
    line: int
    source: str


def _documents(path: Path) -> list[_Document]:
    documents: list[_Document] = []
    source, start, kind, name = "", 1, "", ""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate([*lines, "---"], start=1):
        if text.startswith("---"):
            if kind:
                documents.append(_Document(kind.lower(), name, start, source))
            source, start, kind, name = "", number + 1, "", ""
        elif text.startswith("# Source: "):
            source = "charts/" + text.removeprefix("# Source: ").strip()
        elif text.startswith("kind: "):
            kind = text.removeprefix("kind: ").strip()
        elif text.startswith("  name: ") and not name:
            name = text.removeprefix("  name: ").strip().strip('"')
    return documents


def check_kubernetes_validate(ctx: Context) -> CheckResult:
    tool = tool_path(KUBERNETES_VALIDATE, ctx.root)
    version = KUBERNETES_VERSION.rsplit(".", 1)[0]
    result = CheckResult(
        "kubernetes-validate",
        f"kubernetes-validate {ctx.data['versions']['kubernetes-validate']} "
        f"(--strict, Kubernetes {version})",
    )
    files = sorted(ctx.rendered.values())
    if not files:
        result.fail(Finding("charts", None, "helm-template", "nothing was rendered"))
        return result
    done = ctx.run(
        result,
        [
            str(tool),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--quiet",
            *map(str, files),
        ],
    )
    pattern = re.compile(
        r"^ERROR (\S+) did not validate for resource ([^/\s]+)/(\S+) against version [\d.]+: (.+)$"
    )
    for text in (done.stdout + done.stderr).splitlines():
        match = pattern.match(text)
        if not match:
            if text.startswith("ERROR"):
                result.fail(Finding(ctx.rel(files[0].parent), None, "kubernetes-validate", text))
            continue
        path = Path(match[1])
        document = next(
            (d for d in _documents(path) if d.kind == match[2] and d.name == match[3]), None
        )
        where = f"{ctx.rel(path)}:{document.line}" if document else ctx.rel(path)
        result.fail(
            Finding(
                document.source if document else ctx.rel(path),
                None,
                "kubernetes-schema-1.28",
                f"{match[2]}/{match[3]}: {match[4]} (rendered {where})",
            )
        )
    if done.returncode != 0 and not result.findings:
        result.fail(
            Finding(ctx.rel(files[0].parent), None, "kubernetes-validate", done.stderr[-500:])
        )
    documents = sum(len(_documents(f)) for f in files)
    result.detail = f"{documents} resources in {len(files)} rendered manifests (dev and prod)"
    return result
