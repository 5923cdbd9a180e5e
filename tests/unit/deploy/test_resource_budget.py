"""The resource-budget check on the charts: it passes on the repository and fails, naming the
values file and the line, on a copy broken on purpose."""

from __future__ import annotations

from pathlib import Path

from harness.conformance import CheckResult, Status, run_checks
from tests.unit.deploy.conftest import line_of, replace_in


def budget(repo: Path) -> CheckResult:
    results = {r.name: r for r in run_checks(repo / "out", root=repo, only={"resource-budget"})}
    assert results["helm-template"].status is Status.PASSED
    return results["resource-budget"]


def test_the_charts_fit_their_quotas_and_the_prod_bot_has_cores_of_its_own(repo: Path) -> None:
    result = budget(repo)
    assert result.status is Status.PASSED, [str(f) for f in result.findings]


def test_an_autoscaler_the_quota_cannot_hold_is_refused_at_the_quota(repo: Path) -> None:
    bot = repo / "charts" / "spy-trading-bot" / "values-prod.yaml"
    replace_in(bot, "maxReplicas: 5", "maxReplicas: 7")  # 8 pods in a rollout: 9.6 CPUs

    result = budget(repo)

    assert result.status is Status.FAILED
    quota = repo / "charts" / "edge-system" / "values-prod.yaml"
    [cpu] = [f for f in result.findings if "requests.cpu" in f.message]
    assert (cpu.file, cpu.line) == (
        "charts/edge-system/values-prod.yaml",
        line_of(quota, "requests.cpu"),
    )
    assert cpu.rule == "quota-admits-workloads"
    assert "prod: namespace trading-bots requests.cpu 8000m" in cpu.message
    assert "Deployment/spy-trading-bot x8 9600m" in cpu.message


def prod_bot_cpu(repo: Path, after: str, cpu: str, times: int) -> Path:
    """The prod values with the bot's first `times` CPU figures from `after` on set to `cpu`."""
    bot = repo / "charts" / "spy-trading-bot" / "values-prod.yaml"
    text = bot.read_text(encoding="utf-8")
    start = text.index(after)
    bot.write_text(text[:start] + text[start:].replace('cpu: "1"', f"cpu: {cpu}", times))
    return bot


def test_a_prod_bot_that_would_share_its_cpu_is_refused(repo: Path) -> None:
    bot = prod_bot_cpu(repo, '  limits:\n    cpu: "1"', "1500m", 1)  # a limit above the request

    result = budget(repo)

    assert result.status is Status.FAILED
    [finding] = [f for f in result.findings if f.rule == "guaranteed-bot"]
    assert (finding.file, finding.line) == (
        "charts/spy-trading-bot/values-prod.yaml",
        line_of(bot, "resources:"),
    )
    assert "not Guaranteed" in finding.message


def test_a_fraction_of_a_cpu_gets_no_core_of_its_own(repo: Path) -> None:
    prod_bot_cpu(repo, "resources:\n  requests:", "500m", 2)  # requests and limits

    result = budget(repo)

    [finding] = result.findings  # Guaranteed, and within the quota
    assert finding.rule == "guaranteed-bot"
    assert "container bot asks 500m of CPU: only a whole number of CPUs" in finding.message
