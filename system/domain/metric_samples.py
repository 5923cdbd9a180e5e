"""Metric samples, as the edge sends them to the cloud: what both sides agree on.

The bots sample their Prometheus registries every interval into table `metrics` (one partition
per UTC day, a row per sample time, replica and metric: `HHMMSS.replica.metric`, so that a
reader can follow the day in key order). A histogram gives three rows per interval:
`name.count`, `name.p50` and `name.p99`. The forwarder stores them in Table Storage; the backend
reads the signal-to-order ones back for the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

METRICS_TABLE = "metrics"
# Signal.created_at (detector clock) to placeOrder written to the gateway socket, in seconds.
SIGNAL_TO_ORDER = "spy_signal_to_order_seconds"


def partition_key(at: datetime) -> str:
    return at.astimezone(UTC).date().isoformat()


def row_key(at: datetime, replica: str, name: str) -> str:
    return f"{stamp(at)}.{replica}.{name}"


def stamp(at: datetime) -> str:
    """The sample time within its day's partition: a row key's first part, in key order."""
    return at.astimezone(UTC).strftime("%H%M%S")


@dataclass(frozen=True, slots=True)
class OrderLatency:
    """One replica's signal-to-order latency over one sampling interval."""

    replica: str
    at: datetime
    count: int
    p50_ms: float
    p99_ms: float


def order_latencies(samples: Iterable[Mapping[str, Any]]) -> list[OrderLatency]:
    """The signal-to-order figures among the samples' fields, oldest first; an interval with
    no orders, or whose three rows are not all there yet, gives none."""
    parts: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for fields in samples:
        metric, _, quantity = str(fields.get("name", "")).rpartition(".")
        value = fields.get("value")
        if metric == SIGNAL_TO_ORDER and isinstance(value, int | float):
            parts[str(fields.get("at")), str(fields.get("replica"))][quantity] = float(value)
    figures = [
        OrderLatency(
            replica=replica,
            at=datetime.fromisoformat(at),
            count=int(got["count"]),
            p50_ms=round(got["p50"] * 1000, 1),
            p99_ms=round(got["p99"] * 1000, 1),
        )
        for (at, replica), got in parts.items()
        if got.keys() >= {"count", "p50", "p99"} and got["count"] > 0
    ]
    return sorted(figures, key=lambda figure: (figure.at, figure.replica))
