"""The run's timeline: one JSON line per thing that happened to the topology.

Wall-clock nanoseconds, so the timeline lines up with what the services and the gateway
simulator stamp (failover timelines, rollouts, faults) in the report.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any


class EventLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, kind: str, subject: str, **details: Any) -> None:
        line = json.dumps({"t_ns": time.time_ns(), "kind": kind, "subject": subject, **details})
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as out:
                out.write(line + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]
