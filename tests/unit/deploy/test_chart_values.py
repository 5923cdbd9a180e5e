"""The harness reads replicas, probes, grace period, strategy and the VPN link from the chart."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.chart_values import CHART, ChartValuesError, deployment_settings
from tests.unit.deploy.conftest import replace_in


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_settings_are_what_the_values_say(env: str) -> None:
    values = yaml.safe_load((CHART / f"values-{env}.yaml").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    settings = deployment_settings(env)  # type: ignore[arg-type]

    assert settings.replicas == values["replicaCount"] == 3
    assert settings.strategy == "RollingUpdate"
    assert settings.max_unavailable == 0
    assert settings.max_surge == defaults["updateStrategy"]["rollingUpdate"]["maxSurge"]
    assert settings.termination_grace_period_seconds == 30
    assert settings.liveness.period_seconds == settings.readiness.period_seconds == 10
    assert settings.liveness.path == defaults["livenessProbe"]["path"]
    assert settings.readiness.port == defaults["containerPorts"]["http"]
    assert settings.readiness.failure_threshold == values["readinessProbe"]["failureThreshold"]
    deadline = values.get("progressDeadlineSeconds", defaults["progressDeadlineSeconds"])
    assert settings.progress_deadline_seconds == deadline
    assert settings.revision_history_limit == defaults["revisionHistoryLimit"]
    vpn = values["localTopology"]["vpn"]
    assert settings.vpn.cloud_to_edge.latency_ms == vpn["cloudToEdge"]["latencyMs"]
    assert settings.vpn.edge_to_cloud.jitter_ms == vpn["edgeToCloud"]["jitterMs"]
    assert settings.vpn.bandwidth_mbps == 100
    assert settings.vpn.bandwidth_kbytes_per_s == 12_500


def test_the_environments_differ_where_their_values_do() -> None:
    dev, prod = deployment_settings("dev"), deployment_settings("prod")

    assert dev.vpn.rtt_ms > prod.vpn.rtt_ms  # Basic gateway vs zone-redundant active-active
    assert "acrspyhdev" in dev.image
    assert "acrspyhprod" in prod.image


def test_a_changed_values_file_changes_the_settings(repo: Path) -> None:
    chart = repo / "charts" / "spy-trading-bot"
    replace_in(chart / "values-dev.yaml", "replicaCount: 3", "replicaCount: 5")
    replace_in(chart / "values-dev.yaml", "terminationGracePeriodSeconds: 30",
               "terminationGracePeriodSeconds: 45")  # fmt: skip

    settings = deployment_settings("dev", chart=chart)

    assert settings.replicas == 5
    assert settings.termination_grace_period_seconds == 45


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ChartValuesError, match="dev, prod"):
        deployment_settings("staging")  # type: ignore[arg-type]


def test_a_values_file_the_schema_rejects_is_a_clear_error(repo: Path) -> None:
    chart = repo / "charts" / "spy-trading-bot"
    replace_in(chart / "values-dev.yaml", "replicaCount: 3", 'replicaCount: "three"')

    with pytest.raises(ChartValuesError, match="replicaCount"):
        deployment_settings("dev", chart=chart)
