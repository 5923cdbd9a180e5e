"""Metric samples for the cloud: every interval, what changed in the bot's Prometheus registry,
as records queued in the outbox (the layout both sides share: system/domain/metric_samples.py).

Counters become deltas over the interval (unchanged ones are left out), gauges their value, and
each histogram its interval count, p50 and p99 (interpolated within the bucket holding that
rank, as Prometheus' histogram_quantile does). The forwarder sends them to Table Storage and
Application Insights and sums each day's samples into the daily aggregate; the backend shows the
signal-to-order ones on the dashboard.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry

from system.domain.metric_samples import METRICS_TABLE, partition_key, row_key
from system.ports import StoredRecord


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile from cumulative (upper bound, count) pairs, linear within its bucket; in
    the +Inf bucket, the highest finite bound."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


class Sampler:
    def __init__(self, registry: CollectorRegistry, replica: str) -> None:
        self._registry = registry
        self._replica = replica
        self._last: dict[str, float] = {}

    def _read(
        self,
    ) -> tuple[dict[str, float], dict[str, float], dict[str, list[tuple[float, float]]]]:
        counters: dict[str, float] = {}
        gauges: dict[str, float] = {}
        histograms: dict[str, list[tuple[float, float]]] = {}
        for family in self._registry.collect():
            for sample in family.samples:
                labels = ".".join(v for k, v in sorted(sample.labels.items()) if k != "le")
                name = sample.name + (f".{labels}" if labels else "")
                if family.type == "counter" and sample.name.endswith("_total"):
                    counters[name] = sample.value
                elif family.type == "gauge":
                    gauges[name] = sample.value
                elif family.type == "histogram" and sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    histograms.setdefault(family.name, []).append((bound, sample.value))
        return counters, gauges, histograms

    def take(self, now: datetime) -> list[StoredRecord]:
        counters, gauges, histograms = self._read()
        values: dict[str, float] = {}
        for name, total in counters.items():
            if delta := total - self._last.get(name, 0.0):
                values[name] = delta
            self._last[name] = total
        values.update(gauges)
        for family, buckets in histograms.items():
            interval: list[tuple[float, float]] = []
            for bound, count in buckets:
                key = f"{family}.le{bound}"
                interval.append((bound, count - self._last.get(key, 0.0)))
                self._last[key] = count
            if interval and interval[-1][1] > 0:
                values[f"{family}.count"] = interval[-1][1]
            for q in (0.5, 0.99):
                value = _quantile(interval, q)
                if value is not None:
                    values[f"{family}.p{round(q * 100)}"] = value
        return [
            StoredRecord(
                METRICS_TABLE,
                partition_key(now),
                row_key(now, self._replica, name),
                {"name": name, "value": value, "replica": self._replica, "at": now.isoformat()},
            )
            for name, value in sorted(values.items())
        ]
