"""Steps for the VPN link feature: real Azurite behind a real Toxiproxy link."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient, UpdateMode
from pytest_bdd import given, parsers, then, when

from harness import components
from harness.ports import free_port
from harness.process import running
from harness.toxiproxy import Proxy, Toxiproxy
from scenarios.conftest import RecordFigure

ENTITY = {"PartitionKey": "link", "RowKey": "1", "value": "crossed the VPN"}


@dataclass
class Link:
    api: Toxiproxy
    proxy: Proxy
    one_way_ms: int = 0
    read_ms: list[float] = field(default_factory=list)

    def table_service(self) -> TableServiceClient:
        connection = components.azurite_connection_string(self.proxy.listen_port)
        return TableServiceClient.from_connection_string(connection, retry_total=0)


@pytest.fixture
def storage_link(run_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Link]]:
    logs = run_dir / "logs" / request.node.name
    api_port, azurite_port = free_port(), free_port()
    with (
        running(components.toxiproxy(api_port), logs),
        running(components.azurite(azurite_port, logs / "azurite"), logs),
    ):
        api = Toxiproxy(api_port)
        try:
            yield lambda name: Link(api, api.create_proxy(name, f"127.0.0.1:{azurite_port}"))
        finally:
            api.close()


@given(
    parsers.parse('Azurite serves Table Storage in the cloud behind the "{name}" link'),
    target_fixture="link",
)
def azurite_behind_link(storage_link: Callable[[str], Link], name: str) -> Link:
    return storage_link(name)


@when(parsers.parse("the link adds {one_way_ms:d} ms of one-way latency"))
def add_latency(link: Link, one_way_ms: int) -> None:
    link.api.add_toxic(link.proxy.name, "latency", "downstream", {"latency": one_way_ms})
    link.one_way_ms = one_way_ms


@then("an entity written through the link reads back unchanged")
def write_and_read(link: Link) -> None:
    with link.table_service() as service:
        table = service.create_table_if_not_exists("vpnlink")
        table.upsert_entity(ENTITY, mode=UpdateMode.REPLACE)
        for _ in range(10):
            started = time.perf_counter()
            read = table.get_entity("link", "1")
            link.read_ms.append((time.perf_counter() - started) * 1000)
            assert read["value"] == ENTITY["value"]


@then(parsers.parse("no read through the link returns sooner than {one_way_ms:d} ms"))
def reads_carry_the_latency(link: Link, one_way_ms: int, record_figure: RecordFigure) -> None:
    record_figure("link-latency", {"injected_one_way_ms": one_way_ms, "samples_ms": link.read_ms})
    assert min(link.read_ms) >= one_way_ms, f"fastest read took {min(link.read_ms):.2f} ms"
