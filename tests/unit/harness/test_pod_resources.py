"""Kubernetes' quota and QoS arithmetic over rendered manifests (harness.pod_resources)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from harness.pod_resources import (
    LimitDefaults,
    QuantityError,
    container_usage,
    exclusive_cpu_problems,
    is_guaranteed,
    namespaces,
    pod_usage,
    quantity,
    shown,
    workloads,
)

NS = "trading-bots"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("1", Decimal(1)),
        (2, Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("512Mi", Decimal(512 * 2**20)),
        ("6Gi", Decimal(6 * 2**30)),
        ("1k", Decimal(1000)),
        ("1M", Decimal(10**6)),
        ("1e3", Decimal(1000)),
    ],
)
def test_quantities_read_as_kubernetes_reads_them(text: object, value: Decimal) -> None:
    assert quantity(text) == value


@pytest.mark.parametrize("text", ["", "one", "1.5 cores", "10mb", "-1", "1Xi"])
def test_a_malformed_quantity_is_refused_by_name(text: str) -> None:
    with pytest.raises(QuantityError, match="is not a Kubernetes quantity"):
        quantity(text)


def container(name: str = "c", **resources: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "resources": resources} if resources else {"name": name}


DEFAULTS = LimitDefaults.of(
    {"default": {"cpu": "200m", "memory": "256Mi"}, "defaultRequest": {"cpu": "50m"}}
)


def test_a_limit_without_a_request_requests_the_limit() -> None:
    usage = container_usage(container(limits={"cpu": "1", "memory": "1Gi"}), DEFAULTS)
    assert usage["requests.cpu"] == usage["limits.cpu"] == 1
    assert usage["requests.memory"] == usage["limits.memory"] == 2**30


def test_the_limit_range_fills_in_what_a_container_leaves_out() -> None:
    usage = container_usage(container(requests={"memory": "64Mi"}), DEFAULTS)
    assert usage == {
        "requests.cpu": Decimal("0.05"),  # defaultRequest
        "requests.memory": Decimal(64 * 2**20),  # its own
        "limits.cpu": Decimal("0.2"),  # default
        "limits.memory": Decimal(256 * 2**20),  # default, and defaultRequest falls back to it
    }
    assert container_usage(container(), LimitDefaults.of({"max": {"cpu": "2"}}))["limits.cpu"] == 2


def test_a_pod_asks_its_containers_sum_or_its_largest_init_container() -> None:
    small = {"limits": {"cpu": "100m", "memory": "100Mi"}}
    pod = {
        "containers": [container(**small), container(**small)],
        "initContainers": [container(limits={"cpu": "1", "memory": "10Mi"})],
    }
    usage = pod_usage(pod, LimitDefaults())
    assert usage["requests.cpu"] == 1  # the init container
    assert usage["limits.memory"] == 200 * 2**20  # the two containers
    assert pod_usage({"containers": [container()]}, LimitDefaults())["limits.cpu"].is_infinite()


def test_guaranteed_needs_every_container_to_request_its_limits() -> None:
    whole = {"limits": {"cpu": "1", "memory": "512Mi"}}
    assert is_guaranteed({"containers": [container(**whole)]}, LimitDefaults())
    sidecar = container(
        requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "200m", "memory": "64Mi"}
    )
    assert not is_guaranteed({"containers": [container(**whole), sidecar]}, LimitDefaults())
    assert not is_guaranteed({"containers": [container()]}, DEFAULTS)  # 50m requested, 200m limit


def workload(kind: str, name: str, pod: dict[str, Any], **spec: Any) -> dict[str, Any]:
    spec["template"] = {"spec": pod}
    return {"kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}


def deployment(name: str, replicas: int, pod: dict[str, Any], **strategy: Any) -> dict[str, Any]:
    return workload(
        "Deployment", name, pod, replicas=replicas, **({"strategy": strategy} if strategy else {})
    )


def hpa(target: str, most: int) -> dict[str, Any]:
    ref = {"kind": "Deployment", "name": target}
    return {"kind": "HorizontalPodAutoscaler", "spec": {"scaleTargetRef": ref, "maxReplicas": most}}


ONE_CPU = {"containers": [container(limits={"cpu": "1", "memory": "1Gi"})]}


def test_workloads_count_at_their_most() -> None:
    surge_one = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    documents = [
        deployment("bot", 3, ONE_CPU, **surge_one),
        hpa("bot", 5),
        deployment("web", 4, ONE_CPU),  # the default surge: 25%, rounded up
        deployment("batch", 2, ONE_CPU, type="Recreate"),
        workload("DaemonSet", "ds", ONE_CPU),
        workload("StatefulSet", "gw", ONE_CPU, replicas=1),
    ]
    counts = {w.name: w.pods_at_most for w in workloads(documents)}
    assert counts == {"bot": 6, "web": 5, "batch": 2, "ds": 1, "gw": 1}


def quota(**hard: str) -> dict[str, Any]:
    return {"kind": "ResourceQuota", "metadata": {"namespace": NS}, "spec": {"hard": hard}}


def test_a_quota_is_compared_with_its_namespace_s_workloads_at_their_most() -> None:
    documents = [deployment("bot", 3, ONE_CPU), hpa("bot", 5), quota(cpu="6", pods="10")]
    [namespace] = namespaces(documents)
    assert namespace.used["requests.cpu"] == 7  # 5 at the autoscaler's maximum, 25% surge: 2
    assert namespace.over() == ["requests.cpu"]  # `cpu` is the quota's name for requests.cpu
    assert shown("requests.cpu", namespace.hard["requests.cpu"]) == "6000m"
    assert shown("limits.memory", namespace.used["limits.memory"]) == "7168Mi"


def test_exclusive_cpus_need_a_guaranteed_pod_and_a_whole_cpu() -> None:
    assert exclusive_cpu_problems([deployment("bot", 3, ONE_CPU)], "bot", "c") == []
    half = {"containers": [container(limits={"cpu": "500m", "memory": "1Gi"})]}
    [problem] = exclusive_cpu_problems([deployment("bot", 3, half)], "bot", "c")
    assert problem.startswith("container c asks 500m of CPU")
    burstable = {"containers": [container(requests={"cpu": "1", "memory": "1Gi"})]}
    [problem] = exclusive_cpu_problems([deployment("bot", 3, burstable)], "bot", "c")
    assert "not Guaranteed" in problem
    assert exclusive_cpu_problems([], "bot", "c") == ["no Deployment bot was rendered"]
