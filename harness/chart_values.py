"""What the cluster deployment runs, read from the rendered Helm chart (the one source of truth).

`deployment_settings("dev")` renders charts/spy-trading-bot with values-dev.yaml through
`helm template` and reads the Deployment Kubernetes would get: replicas, probes, grace period and
the rolling-update strategy, plus the VPN link profile the environment runs over (the
`spy-hybrid.io/vpn-profile` annotation, from `localTopology.vpn` in the values), which the local
harness applies as Toxiproxy toxics.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from harness.errors import HarnessError
from harness.toolchain import HELM, ROOT, tool_path

Environment = Literal["dev", "prod"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)

CHART = ROOT / "charts" / "spy-trading-bot"
RELEASE = "spy-trading-bot"
NAMESPACE = "trading-bots"
KUBE_VERSION = "1.28.0"
CONTAINER = "bot"
VPN_ANNOTATION = "spy-hybrid.io/vpn-profile"


class ChartValuesError(HarnessError):
    pass


@dataclass(frozen=True, slots=True)
class Probe:
    """An HTTP probe as the kubelet runs it."""

    path: str
    port: int
    initial_delay_seconds: int
    period_seconds: int
    timeout_seconds: int
    failure_threshold: int
    success_threshold: int

    @property
    def seconds_to_fail(self) -> int:
        """How long a broken endpoint goes unnoticed at most (period x threshold)."""
        return self.period_seconds * self.failure_threshold


@dataclass(frozen=True, slots=True)
class LinkDirection:
    latency_ms: float
    jitter_ms: float


@dataclass(frozen=True, slots=True)
class VpnLink:
    """The site-to-site link of the environment, per direction."""

    cloud_to_edge: LinkDirection
    edge_to_cloud: LinkDirection
    bandwidth_mbps: float

    @property
    def bandwidth_kbytes_per_s(self) -> int:
        """Toxiproxy's bandwidth toxic counts KB/s: 100 Mbps is 12,500."""
        return round(self.bandwidth_mbps * 1000 / 8)

    @property
    def rtt_ms(self) -> float:
        return self.cloud_to_edge.latency_ms + self.edge_to_cloud.latency_ms


@dataclass(frozen=True, slots=True)
class DeploymentSettings:
    environment: Environment
    image: str
    replicas: int
    liveness: Probe
    readiness: Probe
    startup: Probe | None
    termination_grace_period_seconds: int
    strategy: str
    max_surge: int | str
    max_unavailable: int | str
    progress_deadline_seconds: int
    revision_history_limit: int
    min_ready_seconds: int
    vpn: VpnLink


def deployment_settings(env: Environment, chart: Path = CHART) -> DeploymentSettings:
    """Render the chart for `env` and read the Deployment (ChartValuesError if it cannot)."""
    if env not in ENVIRONMENTS:
        raise ChartValuesError(f"environment must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    return _settings(env, chart.resolve())


@lru_cache(maxsize=8)
def _settings(env: Environment, chart: Path) -> DeploymentSettings:
    deployment = _rendered_deployment(env, chart)
    spec = _mapping(deployment, "spec")
    pod = _mapping(_mapping(spec, "template"), "spec")
    container = _container(pod)
    ports = {
        str(port["name"]): int(port["containerPort"])
        for port in container.get("ports", [])
        if "name" in port
    }
    strategy = _mapping(spec, "strategy")
    rolling = strategy.get("rollingUpdate") or {}
    startup = container.get("startupProbe")
    return DeploymentSettings(
        environment=env,
        image=str(container["image"]),
        replicas=int(spec["replicas"]),
        liveness=_probe(container, "livenessProbe", ports),
        readiness=_probe(container, "readinessProbe", ports),
        startup=_probe(container, "startupProbe", ports) if startup else None,
        termination_grace_period_seconds=int(pod.get("terminationGracePeriodSeconds", 30)),
        strategy=str(strategy.get("type", "RollingUpdate")),
        max_surge=_int_or_percent(rolling.get("maxSurge", "25%")),
        max_unavailable=_int_or_percent(rolling.get("maxUnavailable", "25%")),
        progress_deadline_seconds=int(spec.get("progressDeadlineSeconds", 600)),
        revision_history_limit=int(spec.get("revisionHistoryLimit", 10)),
        min_ready_seconds=int(spec.get("minReadySeconds", 0)),
        vpn=_vpn(deployment),
    )


def _rendered_deployment(env: str, chart: Path) -> dict[str, Any]:
    values = chart / f"values-{env}.yaml"
    if not values.exists():
        raise ChartValuesError(f"{values} does not exist")
    command = [
        str(tool_path(HELM)), "template", RELEASE, str(chart),
        "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION,
        "--values", str(values), "--show-only", "templates/deployment.yaml",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChartValuesError(f"helm template {chart.name} ({env}) failed: {done.stderr.strip()}")
    for document in yaml.safe_load_all(done.stdout):
        if isinstance(document, dict) and document.get("kind") == "Deployment":
            return document
    raise ChartValuesError(f"helm template {chart.name} ({env}) rendered no Deployment")


def _mapping(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise ChartValuesError(f"the rendered Deployment has no {key}")
    return value


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    for container in pod.get("containers", []):
        if container.get("name") == CONTAINER:
            return dict(container)
    raise ChartValuesError(f"the rendered Deployment has no container named {CONTAINER!r}")


def _probe(container: dict[str, Any], key: str, ports: dict[str, int]) -> Probe:
    probe = container.get(key)
    if not isinstance(probe, dict) or "httpGet" not in probe:
        raise ChartValuesError(f"the bot container has no HTTP {key}")
    http = probe["httpGet"]
    port = http["port"]
    return Probe(
        path=str(http.get("path", "/")),
        port=ports[port] if isinstance(port, str) else int(port),
        initial_delay_seconds=int(probe.get("initialDelaySeconds", 0)),
        period_seconds=int(probe.get("periodSeconds", 10)),
        timeout_seconds=int(probe.get("timeoutSeconds", 1)),
        failure_threshold=int(probe.get("failureThreshold", 3)),
        success_threshold=int(probe.get("successThreshold", 1)),
    )


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else text


def _vpn(deployment: dict[str, Any]) -> VpnLink:
    annotations = deployment.get("metadata", {}).get("annotations") or {}
    raw = annotations.get(VPN_ANNOTATION)
    if raw is None:
        raise ChartValuesError(
            f"the Deployment has no {VPN_ANNOTATION} annotation (localTopology.vpn in the values)"
        )
    profile = json.loads(raw)

    def direction(key: str) -> LinkDirection:
        return LinkDirection(float(profile[key]["latencyMs"]), float(profile[key]["jitterMs"]))

    bandwidth = float(profile["bandwidthMbps"])
    return VpnLink(direction("cloudToEdge"), direction("edgeToCloud"), bandwidth)


if __name__ == "__main__":
    for environment in ENVIRONMENTS:
        print(deployment_settings(environment))  # type: ignore[arg-type]
