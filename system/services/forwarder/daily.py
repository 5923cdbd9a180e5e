"""The daily metrics aggregate: per replica and metric, the day's count, sum, min, max, mean.

Computed from the day's samples still in the edge store, delivered or not, so recomputing it
is idempotent: the forwarder upserts it (row key replica.metric) as often as it likes, and the
last upsert of the day is the day's figure.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from system.ports import StoredRecord

DAILY_TABLE = "metricsdaily"


def aggregate(samples: list[StoredRecord], day: str, now: datetime) -> list[StoredRecord]:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for sample in samples:
        fields = sample.fields
        value = fields.get("value")
        if isinstance(value, int | float):
            values[str(fields.get("replica", "")), str(fields.get("name", ""))].append(value)
    return [
        StoredRecord(
            DAILY_TABLE,
            day,
            f"{replica}.{name}",
            {
                "replica": replica,
                "name": name,
                "count": len(series),
                "sum": float(sum(series)),
                "min": float(min(series)),
                "max": float(max(series)),
                "mean": float(sum(series) / len(series)),
                "updated_at": now.isoformat(),
            },
        )
        for (replica, name), series in sorted(values.items())
    ]
