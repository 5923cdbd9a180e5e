"""Dependencies going away and coming back: readiness follows them, deliveries retry."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.cloud.conftest import Backend, Cloud
from tests.integration.cloud.test_delivery import (
    eventually,
    listed,
    stored_rows,
    subscriber,
    surge,
)

pytestmark = pytest.mark.integration


def metrics(backend: Backend) -> str:
    with backend.client(None) as http:
        return http.get("/metrics").text


def value(metrics: str, series: str) -> float:
    found = re.search(re.escape(series) + r" (\S+)", metrics)
    return float(found[1]) if found else 0.0


def readiness(backend: Backend) -> tuple[int, dict[str, str]]:
    with backend.client(None) as http:
        response = http.get("/ready")
    return response.status_code, response.json()["checks"]


async def test_table_storage_down_fails_readiness_and_writes_land_when_it_returns(
    backend: Backend, cloud: Cloud
) -> None:
    assert readiness(backend)[0] == 200
    cloud.azurite.stop()
    try:
        _, checks = await eventually(lambda: (r := readiness(backend))[0] == 503 and r)
        assert checks["tables"] != "ok"
        assert (checks["signalr"], checks["market"]) == ("ok", "ok")
        with backend.client(None) as http:
            assert http.get("/health").status_code == 200
        with backend.client() as http:
            assert http.get("/api/anomalies").status_code == 503
        surge(backend, [7])
        (signal,) = await eventually(lambda: listed(backend))
        published = 'spy_signal_deliveries_total{outcome="delivered",target="signalr"} 1.0'
        assert await eventually(lambda: published in metrics(backend))
    finally:
        cloud.restart_azurite()
    await eventually(lambda: readiness(backend)[0] == 200)
    rows = await eventually(lambda: stored_rows(cloud, backend.table))
    assert [row["RowKey"] for row in rows] == [signal.id]


async def test_signalr_refusals_are_retried_and_delivered_once(
    backend: Backend, cloud: Cloud
) -> None:
    async with (
        subscriber(backend) as received,
        httpx.AsyncClient(base_url=f"{cloud.signalr_url}/admin") as admin,
    ):
        reject = await admin.post("/faults/reject", json={"count": 3, "status": 503})
        reject.raise_for_status()
        try:
            surge(backend, [11])
            await eventually(lambda: received)
        finally:
            await admin.delete("/faults")
    assert [s.id for s in received] == [s.id for s in listed(backend)]
    text = metrics(backend)
    assert 'spy_signal_deliveries_total{outcome="delivered",target="signalr"} 1.0' in text
    # The three refusals went to the signal's broadcast and to dashboard quotes (not retried).
    refused = value(text, 'spy_signal_delivery_retries_total{target="signalr"}') + value(
        text, 'spy_signal_deliveries_total{outcome="failed",target="quote"}'
    )
    assert refused == 3


async def test_a_signal_is_stored_while_signalr_refuses_its_broadcast(
    backend: Backend, cloud: Cloud
) -> None:
    """The store waits for the signal's first publish attempt (so that it never holds the
    signal on its way out), not for a publish that succeeds."""
    async with (
        subscriber(backend) as received,
        httpx.AsyncClient(base_url=f"{cloud.signalr_url}/admin") as admin,
    ):
        reject = await admin.post("/faults/reject", json={"count": 1000, "status": 503})
        reject.raise_for_status()
        try:
            surge(backend, [13])
            (signal,) = await eventually(lambda: listed(backend))
            rows = await eventually(lambda: stored_rows(cloud, backend.table))
            assert [row["RowKey"] for row in rows] == [signal.id]
            assert received == []  # every broadcast so far was refused
        finally:
            await admin.delete("/faults")
        await eventually(lambda: received)
    assert [s.id for s in received] == [signal.id]
