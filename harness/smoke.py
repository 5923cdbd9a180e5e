"""The smoke check: real Azurite behind a real Toxiproxy link proves the harness's parts work.

It starts both on free loopback ports, puts a proxy in front of Azurite, writes and reads a table
entity through it with azure-data-tables, adds a latency toxic, and measures that the latency
really arrived on every request. Everything it started is stopped again.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from azure.data.tables import TableServiceClient, UpdateMode

from harness import components
from harness.ports import free_port
from harness.process import running
from harness.toxiproxy import Toxiproxy

LINK = "cloud-storage"
TABLE = "smoke"


@dataclass(frozen=True, slots=True)
class SmokeResult:
    toxiproxy_version: str
    injected_ms: int
    baseline_ms: list[float]
    toxic_ms: list[float]

    @property
    def added_ms(self) -> float:
        return statistics.median(self.toxic_ms) - statistics.median(self.baseline_ms)

    def lines(self) -> list[str]:
        return [
            f"toxiproxy {self.toxiproxy_version}, azurite-table through link '{LINK}'",
            f"round trip without toxic: p50 {statistics.median(self.baseline_ms):.2f} ms",
            f"round trip with a {self.injected_ms:g} ms latency toxic: "
            f"p50 {statistics.median(self.toxic_ms):.2f} ms, min {min(self.toxic_ms):.2f} ms",
            f"latency added: {self.added_ms:.2f} ms (injected {self.injected_ms:g} ms)",
        ]


def _round_trips(port: int, samples: int) -> list[float]:
    """Upsert, then time `samples` reads, each one HTTP request on a fresh client's connection
    (Toxiproxy toxics need not affect connections opened before they were added)."""
    service = TableServiceClient.from_connection_string(
        components.azurite_connection_string(port), retry_total=0
    )
    with service:
        table = service.create_table_if_not_exists(TABLE)
        entity = {"PartitionKey": "smoke", "RowKey": "1", "value": "written through the link"}
        table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            read = table.get_entity("smoke", "1")
            timings.append((time.perf_counter() - started) * 1000)
            if read["value"] != entity["value"]:
                raise AssertionError(f"read back {read['value']!r}, wrote {entity['value']!r}")
        return timings


def run_smoke(run_dir: Path, latency_ms: int = 10, samples: int = 20) -> SmokeResult:
    api_port, azurite_port = free_port(), free_port()
    with (
        running(components.toxiproxy(api_port), run_dir) as _toxiproxy,
        running(components.azurite(azurite_port, run_dir / "azurite"), run_dir) as _azurite,
    ):
        api = Toxiproxy(api_port)
        try:
            proxy = api.create_proxy(LINK, f"127.0.0.1:{azurite_port}")
            baseline = _round_trips(proxy.listen_port, samples)
            api.add_toxic(LINK, "latency", "downstream", {"latency": latency_ms, "jitter": 0})
            slowed = _round_trips(proxy.listen_port, samples)
            return SmokeResult(api.version(), latency_ms, baseline, slowed)
        finally:
            api.close()
