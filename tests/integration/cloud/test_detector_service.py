"""The detector as a service of its own (python -m system.services.detector, the spy-detector
image) beside a backend started with SPY_BACKEND_RUN_DETECTOR=false: real Azurite, the SignalR
and Key Vault fakes, processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.process import RunningProcess
from tests.integration.cloud.conftest import Backend, Cloud, start_backend, start_detector
from tests.integration.cloud.test_backend import run_service
from tests.integration.cloud.test_delivery import (
    accepted,
    eventually,
    listed,
    stored_rows,
    subscriber,
    surge,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def split(cloud: Cloud, tmp_path: Path) -> Iterator[tuple[Backend, RunningProcess, str]]:
    """A backend without its detector, and the detector service on the backend's chain feed."""
    backend = start_backend(
        cloud,
        tmp_path,
        "backend",
        SPY_BACKEND_RUN_DETECTOR="false",  # its market data settings are left unused
        SPY_BACKEND_SIGNAL_POLL_S="0.2",
    )
    try:
        detector, url = start_detector(cloud, tmp_path, backend)
        try:
            yield backend, detector, url
        finally:
            assert detector.stop() == 0
            assert "Traceback" not in detector.log_text()
    finally:
        backend.proc.stop()


async def test_its_signals_reach_the_hub_the_table_and_the_backends_api_once(
    split: tuple[Backend, RunningProcess, str], cloud: Cloud
) -> None:
    backend, _, url = split
    async with subscriber(backend) as received:
        symbols = surge(backend, [3, 20])
        await eventually(lambda: len(received) >= 2)
        await eventually(lambda: len(stored_rows(cloud, backend.table)) >= 2)
        signals = await eventually(lambda: len(listed(backend)) == 2 and listed(backend))
        backend.feed.append_quiet(3)  # raises nothing, re-sends nothing
    ids = sorted(s.id for s in received)
    assert len(ids) == 2
    assert sorted(s.contract.local_symbol for s in received) == symbols
    assert sorted(s.id for s in signals) == ids  # read back from the anomalies table
    assert sorted(row["RowKey"] for row in stored_rows(cloud, backend.table)) == ids
    assert accepted(cloud, backend.hub) == 2 + len(backend.quotes)
    assert {q["price"] for q in backend.quotes} == {backend.feed.chain.spot}
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{url}/metrics")).text
    assert 'spy_signal_deliveries_total{outcome="delivered",target="signalr"} 2.0' in metrics


def test_its_probes_and_the_backends_readiness(split: tuple[Backend, RunningProcess, str]) -> None:
    backend, _, url = split
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/ready").json()
    assert ready == {
        "status": "ready",
        "checks": dict.fromkeys(["tables", "signalr", "market"], "ok"),
    }
    assert httpx.get(f"{url}/api/signals").status_code == 404  # the API is the backend's
    with backend.client(None) as http:
        checks = http.get("/ready").json()["checks"]
    assert checks == {"tables": "ok", "signalr": "ok"}  # no market data without the detector


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "detector: missing setting SPY_DETECTOR_KEYVAULT_URL"),
        (
            {"SPY_DETECTOR_KEYVAULT_URL": "https://127.0.0.1:1"},
            "detector: invalid settings: SPY_DETECTOR_MARKET_SOURCE is required where the "
            "detector runs",
        ),
        (
            {"SPY_DETECTOR_KEYVAULT_URL": "https://127.0.0.1:1", "SPY_DETECTOR_MARKET_SOURCE": "ib"}
            | {"SPY_DETECTOR_IB_PORT": "0"},
            "detector: invalid setting SPY_DETECTOR_IB_PORT: Input should be greater than or "
            "equal to 1",
        ),
    ],
)
def test_a_bad_setting_stops_it_with_one_line_naming_it(env: dict[str, str], line: str) -> None:
    done = run_service(env, "detector")
    assert done.returncode == 2
    (only,) = done.stderr.strip().splitlines()
    assert only == line
