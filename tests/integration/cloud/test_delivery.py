"""Signals from the replayed chain reach a SignalR subscriber and Table Storage exactly once,
also when the first attempts to reach them fail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.data.tables import TableClient
from pysignalr.client import SignalRClient

from harness import components
from system.adapters.tables import TableEventStore
from system.domain.signals import Signal
from system.services.bot.metrics import BotMetrics
from system.services.bot.samples import Sampler
from tests.integration.cloud.conftest import API_KEY, WARM_UP, Backend, Cloud, start_backend

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    """Polls until `check` returns something truthy; fails with its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"still {result!r} after {timeout_s} s"
            return result
        await asyncio.sleep(0.1)


@asynccontextmanager
async def subscriber(backend: Backend) -> AsyncIterator[list[Signal]]:
    """A SignalR client as the edge runs one: negotiate at the backend, then the hub. Yields
    the signals received; what is for the dashboard goes to `backend.quotes` and `.latencies`."""
    received: list[Signal] = []
    opened = asyncio.Event()
    client = SignalRClient(f"{backend.url}/api", headers={"Authorization": f"Bearer {API_KEY}"})

    async def on_signal(arguments: list[dict[str, Any]]) -> None:
        received.extend(Signal.model_validate(a) for a in arguments)

    async def on_quote(arguments: list[dict[str, Any]]) -> None:
        backend.quotes.extend(arguments)

    async def on_latency(arguments: list[dict[str, Any]]) -> None:
        backend.latencies.extend(arguments)

    async def on_open() -> None:
        opened.set()

    client.on("quote", on_quote)
    client.on("latency", on_latency)
    client.on("signal", on_signal)
    client.on_open(on_open)
    task = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(opened.wait(), 15)
        yield received
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def surge(backend: Backend, contracts: list[int]) -> list[str]:
    """Warm the baseline, then one snapshot with volume surges; the surged local symbols."""
    backend.feed.append_quiet(WARM_UP)
    snapshot = backend.feed.next()
    snapshot.volume[contracts] += 5_000
    backend.feed.append(snapshot)
    return sorted(snapshot.contracts[i].local_symbol for i in contracts)


def listed(backend: Backend) -> list[Signal]:
    with backend.client() as http:
        page = http.get("/api/signals").json()
    return [Signal.model_validate(item) for item in page["items"]]


def stored_rows(cloud: Cloud, table: str) -> list[dict[str, Any]]:
    with TableClient.from_connection_string(
        components.azurite_connection_string(cloud.azurite_port), table
    ) as client:
        try:
            return list(client.list_entities())
        except Exception:
            return []


def accepted(cloud: Cloud, hub: str) -> int:
    hubs = httpx.get(f"{cloud.signalr_url}/admin/messages").json()["hubs"]
    return int(hubs.get(hub, {}).get("accepted", 0))


async def test_each_signal_is_published_and_stored_exactly_once(
    backend: Backend, cloud: Cloud
) -> None:
    async with subscriber(backend) as received:
        symbols = surge(backend, [3, 20])
        signals = await eventually(lambda: len(listed(backend)) == 2 and listed(backend))
        assert sorted(s.contract.local_symbol for s in signals) == symbols
        ids = sorted(s.id for s in signals)
        await eventually(lambda: len(received) >= 2)
        rows = await eventually(lambda: stored_rows(cloud, backend.table))
        # Quiet snapshots after the surge raise nothing and re-send nothing.
        backend.feed.append_quiet(3)
        await asyncio.sleep(1.0)
    assert sorted(s.id for s in received) == ids
    assert all(s.trace_context.get("traceparent") for s in received)
    assert sorted(row["RowKey"] for row in stored_rows(cloud, backend.table)) == ids
    assert len(rows) == 2
    assert accepted(cloud, backend.hub) == 2 + len(backend.quotes)  # nothing else, no repeats
    assert backend.latencies == []  # no edge samples in Table Storage
    with backend.client() as http:
        anomalies = http.get("/api/anomalies").json()["items"]
    assert sorted(a["id"] for a in anomalies) == ids
    assert backend.quotes
    assert {q["symbol"] for q in backend.quotes} == {"SPY"}
    assert {q["price"] for q in backend.quotes} == {backend.feed.chain.spot}


async def test_the_edges_latency_samples_reach_the_dashboard_once_stored(
    cloud: Cloud, tmp_path: Path
) -> None:
    """The bots' signal-to-order samples, as their sampler takes them and the forwarder stores
    them in Table Storage, come out of the hub as `latency`, once each."""
    backend = start_backend(cloud, tmp_path, "backend", SPY_BACKEND_LATENCY_INTERVAL_S="0.2")
    metrics = BotMetrics()
    for seconds in [0.0184] * 95 + [0.031] * 5:
        metrics.signal_to_order_seconds.observe(seconds)
    store = TableEventStore(components.azurite_connection_string(cloud.azurite_port))
    try:
        async with subscriber(backend):
            await asyncio.sleep(1.0)  # samples taken now are newer than the backend's start
            records = Sampler(metrics.registry, "bot-2").take(datetime.now(UTC))
            await store.upsert_many(records)
            await eventually(lambda: backend.latencies)
            await asyncio.sleep(1.0)  # a few more passes over the same rows
    finally:
        await store.aclose()
        backend.proc.stop()
    [figure] = backend.latencies
    assert figure["replica"] == "bot-2"
    assert figure["count"] == 100
    assert 10 < figure["p50_ms"] < 25 <= figure["p99_ms"] <= 50  # buckets (10, 25] and (25, 50] ms
    assert figure["at"] == records[0].fields["at"]
