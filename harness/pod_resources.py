"""What the edge charts' workloads ask of each namespace at their most, against its quota, and
each pod's QoS class: Kubernetes' own arithmetic over rendered manifests, so that a rollout never
stalls on `exceeded quota` and the bot keeps the core its latency was measured with.

Kubernetes' rules, as the API server and the kubelet apply them: a container with a limit and no
request requests its limit; the namespace's LimitRange fills in what is still missing; a pod asks
the larger of its containers' sum and its largest init container; a pod is Guaranteed when every
container's requests equal its limits for CPU and memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

RESOURCES = ("cpu", "memory")
# The quota's keys this module counts; `cpu` and `memory` are the quota's aliases of requests.
COUNTED = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")
_ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
_SCALE: dict[str, Decimal] = {
    "m": Decimal("0.001"),
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate("kMGTPE")},
    **{s + "i": Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")},
}
_QUANTITY = re.compile(r"^([+]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|[KMGTPE]i|[mkMGTPE])?$")
# The edge is one node (its local volumes pin the pods to it): a DaemonSet runs one pod.
EDGE_NODES = 1


class QuantityError(ValueError):
    pass


def quantity(value: object) -> Decimal:
    """A Kubernetes quantity ("250m", "1", "1.5", "512Mi", 2) in cores or bytes."""
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity")
    number, suffix = Decimal(match[1]), match[2] or ""
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return number * Decimal(10) ** int(suffix[1:])
    return number * _SCALE.get(suffix, Decimal(1))


@dataclass(frozen=True)
class LimitDefaults:
    """What a namespace's LimitRange gives a container that states none: `limits` (its
    `default`, else its `max`) and `requests` (its `defaultRequest`, else that default)."""

    limits: Mapping[str, Decimal] = field(default_factory=dict)
    requests: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> LimitDefaults:
        limits = {**_amounts(item.get("max")), **_amounts(item.get("default"))}
        return cls(limits, {**limits, **_amounts(item.get("defaultRequest"))})


def _amounts(section: Any) -> dict[str, Decimal]:
    return {
        r: quantity(section[r]) for r in RESOURCES if isinstance(section, dict) and r in section
    }


def container_usage(container: Mapping[str, Any], defaults: LimitDefaults) -> dict[str, Decimal]:
    """requests.cpu, limits.memory, ... of one container once admitted (absent: unbounded)."""
    resources = container.get("resources") or {}
    limits, requests = _amounts(resources.get("limits")), _amounts(resources.get("requests"))
    # A limit with no request requests it (API defaulting); the LimitRange fills in the rest.
    usage = {f"requests.{r}": v for r, v in {**defaults.requests, **limits, **requests}.items()}
    usage.update({f"limits.{r}": v for r, v in {**defaults.limits, **limits}.items()})
    return usage


def pod_usage(pod: Mapping[str, Any], defaults: LimitDefaults) -> dict[str, Decimal]:
    """What one pod counts against a quota: its containers' sum, or its largest init container."""
    running = [container_usage(c, defaults) for c in pod.get("containers") or []]
    init = [container_usage(c, defaults) for c in pod.get("initContainers") or []]
    usage: dict[str, Decimal] = {"pods": Decimal(1)}
    for key in COUNTED[:-1]:
        if any(key not in c for c in running + init):
            usage[key] = Decimal("Infinity")  # a container without it is unbounded
            continue
        usage[key] = max([sum((c[key] for c in running), Decimal(0)), *(c[key] for c in init)])
    return usage


def is_guaranteed(pod: Mapping[str, Any], defaults: LimitDefaults) -> bool:
    containers = [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]
    for container in containers:
        usage = container_usage(container, defaults)
        for r in RESOURCES:
            if f"limits.{r}" not in usage or usage[f"limits.{r}"] != usage.get(f"requests.{r}"):
                return False
    return bool(containers)


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    namespace: str
    pod: Mapping[str, Any]
    pods_at_most: int  # replicas at the autoscaler's maximum, plus a rollout's surge


def workloads(documents: Iterable[Mapping[str, Any]]) -> list[Workload]:
    """Every pod-making object among rendered documents, with how many pods it may run at once:
    a Deployment at its HorizontalPodAutoscaler's maximum (or its replicas) plus maxSurge, a
    StatefulSet at its replicas, a DaemonSet once per node, a CronJob, Job or hook Pod once."""
    docs = [d for d in documents if isinstance(d, dict)]
    scaled_to = {
        (d["spec"]["scaleTargetRef"]["kind"], d["spec"]["scaleTargetRef"]["name"]): int(
            d["spec"]["maxReplicas"]
        )
        for d in docs
        if d.get("kind") == "HorizontalPodAutoscaler"
    }
    found: list[Workload] = []
    for d in docs:
        kind, meta, spec = d.get("kind"), d.get("metadata") or {}, d.get("spec") or {}
        name, namespace = str(meta.get("name")), str(meta.get("namespace", "default"))
        if kind == "Deployment":
            replicas = max(int(spec.get("replicas", 1)), scaled_to.get((kind, name), 0))
            count = replicas + _surge(spec.get("strategy") or {}, replicas, "25%")
            pod = spec["template"]["spec"]
        elif kind == "StatefulSet":
            count, pod = int(spec.get("replicas", 1)), spec["template"]["spec"]
        elif kind == "DaemonSet":
            count = EDGE_NODES + _surge(spec.get("updateStrategy") or {}, EDGE_NODES, 0)
            pod = spec["template"]["spec"]
        elif kind == "CronJob":
            count, pod = 1, spec["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Job":
            count, pod = int(spec.get("parallelism", 1)), spec["template"]["spec"]
        elif kind == "Pod":
            count, pod = 1, spec
        else:
            continue
        found.append(Workload(str(kind), name, namespace, pod, count))
    return found


def _surge(strategy: Mapping[str, Any], replicas: int, default: int | str) -> int:
    """The pods a rolling update may add (`default`: the kind's own maxSurge default)."""
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", default)
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge)


@dataclass(frozen=True)
class Namespace:
    """A namespace's quota (`hard`, counted keys only) and its workloads' usage at their most."""

    name: str
    hard: Mapping[str, Decimal]
    used: Mapping[str, Decimal]
    by_workload: Mapping[str, Mapping[str, Decimal]]

    def over(self) -> list[str]:
        """The quota's keys the workloads can exceed."""
        return [key for key, limit in self.hard.items() if self.used.get(key, 0) > limit]


def namespaces(documents: Iterable[Mapping[str, Any]]) -> list[Namespace]:
    """Every namespace with a ResourceQuota among `documents`, its workloads counted at their
    most with the namespace's LimitRange defaults."""
    docs = [d for d in documents if isinstance(d, dict)]
    defaults = _limit_defaults(docs)
    result: list[Namespace] = []
    for d in docs:
        if d.get("kind") != "ResourceQuota":
            continue
        name = str(d["metadata"]["namespace"])
        hard = {
            _ALIASES.get(k, k): quantity(v)
            for k, v in (d["spec"].get("hard") or {}).items()
            if _ALIASES.get(k, k) in COUNTED
        }
        by_workload: dict[str, dict[str, Decimal]] = {}
        used: dict[str, Decimal] = {}
        for w in workloads(docs):
            if w.namespace != name:
                continue
            each = pod_usage(w.pod, defaults.get(name, LimitDefaults()))
            total = {key: value * w.pods_at_most for key, value in each.items()}
            by_workload[f"{w.kind}/{w.name} x{w.pods_at_most}"] = total
            for key, value in total.items():
                used[key] = used.get(key, Decimal(0)) + value
        result.append(Namespace(name, hard, used, by_workload))
    return result


def exclusive_cpu_problems(
    documents: Iterable[Mapping[str, Any]], deployment: str, container: str
) -> list[str]:
    """Why the Deployment's `container` would not get CPUs of its own under the kubelet's static
    CPU manager policy (none: it would): its pod must be Guaranteed and its CPU whole."""
    docs = [d for d in documents if isinstance(d, dict)]
    found = [w for w in workloads(docs) if (w.kind, w.name) == ("Deployment", deployment)]
    if not found:
        return [f"no Deployment {deployment} was rendered"]
    pod, namespace = found[0].pod, found[0].namespace
    defaults = _limit_defaults(docs).get(namespace, LimitDefaults())
    problems: list[str] = []
    if not is_guaranteed(pod, defaults):
        problems.append(
            f"Deployment/{deployment}'s pod is not Guaranteed: every container's CPU and memory "
            "requests must equal its limits"
        )
    target = next((c for c in pod.get("containers") or [] if c.get("name") == container), None)
    if target is None:
        return [*problems, f"Deployment/{deployment} has no container {container}"]
    cpu = container_usage(target, defaults).get("requests.cpu", Decimal(0))
    if cpu < 1 or cpu != cpu.to_integral_value():
        problems.append(
            f"container {container} asks {shown('cpu', cpu)} of CPU: only a whole number of CPUs "
            "gets cores of its own"
        )
    return problems


def _limit_defaults(docs: list[dict[str, Any]]) -> dict[str, LimitDefaults]:
    """Each namespace's container defaults, from its LimitRange."""
    defaults: dict[str, LimitDefaults] = {}
    for d in docs:
        if d.get("kind") == "LimitRange":
            for item in d["spec"].get("limits", []):
                if item.get("type") == "Container":
                    defaults[d["metadata"]["namespace"]] = LimitDefaults.of(item)
    return defaults


def shown(key: str, value: Decimal) -> str:
    """A figure as a quota states it: cores with millicores, memory in MiB."""
    if value.is_infinite():
        return "unbounded"
    if key.endswith("memory"):
        return f"{(value / 2**20).normalize():f}Mi"
    if key == "pods":
        return f"{value.normalize():f}"
    return f"{(value * 1000).normalize():f}m"
