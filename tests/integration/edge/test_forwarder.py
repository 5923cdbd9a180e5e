"""The telemetry forwarder against real Azurite behind a Toxiproxy link: an outage, a crash
mid-drain, and the daily aggregate; nothing lost, nothing doubled."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from harness import components
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, start
from harness.toxiproxy import Toxiproxy
from system.edge.ledger import Ledger
from system.ports import StoredRecord
from tests.integration.edge import rig

pytestmark = pytest.mark.integration


def audit(n: int, day: str) -> StoredRecord:
    return StoredRecord("audit", day, f"sig-{n:06d}.filled", {"signal_id": f"sig-{n}", "n": n})


def sample(n: int, day: str) -> StoredRecord:
    return StoredRecord(
        "metrics",
        day,
        f"bot-1.{n:06d}.spy_bot_orders_placed_total",
        {"name": "spy_bot_orders_placed_total", "value": 2.0, "replica": "bot-1", "at": day},
    )


def forwarder_spec(tmp: Path, store: Path, tables: str) -> tuple[ProcessSpec, int]:
    secrets = tmp / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "tables-connection-string").write_text(tables)
    port = free_port()
    env = {
        "SPY_FWD_STORE_FILE": str(store),
        "SPY_FWD_SECRETS": "file",
        "SPY_FWD_SECRETS_DIR": str(secrets),
        "SPY_FWD_HTTP_PORT": str(port),
        "SPY_FWD_BATCH_SIZE": "200",
        "SPY_FWD_POLL_S": "0.1",
        "SPY_FWD_RETRY_FIRST_S": "0.1",
        "SPY_FWD_RETRY_MAX_S": "0.5",
        "SPY_FWD_AGGREGATE_S": "0.5",
        "SPY_FWD_TELEMETRY": "file",
        "SPY_FWD_TELEMETRY_DIR": str(tmp / "telemetry"),
    }
    argv = [rig.PYTHON, "-m", "system.services.forwarder"]
    return ProcessSpec("forwarder", argv, log_line(r"^forwarder ready "), env=env), port


def count(service: TableServiceClient, table: str) -> dict[str, int]:
    rows: dict[str, int] = {}
    for entity in service.get_table_client(table).list_entities():
        rows[entity["RowKey"]] = rows.get(entity["RowKey"], 0) + 1
    return rows


def test_outbox_drained_after_an_outage_and_a_crash_with_zero_loss(tmp_path: Path) -> None:
    day = datetime.now(UTC).date().isoformat()
    procs: list[RunningProcess] = []
    try:
        azurite_port = free_port()
        procs.append(start(components.azurite(azurite_port, tmp_path / "azurite"), tmp_path))
        toxi_port = free_port()
        procs.append(start(components.toxiproxy(toxi_port), tmp_path))
        toxiproxy = Toxiproxy(toxi_port)
        link = toxiproxy.create_proxy("tables", f"127.0.0.1:{azurite_port}")
        through_link = components.azurite_connection_string(link.listen_port)

        store = tmp_path / "bot-1" / "ledger.sqlite"
        ledger = Ledger.open(store, "bot-1")  # the bot's side of the edge store
        now = datetime.now(UTC)
        ledger.queue([audit(n, day) for n in range(2000)], now)
        toxiproxy.set_enabled("tables", False)  # the VPN is down before the forwarder starts

        spec, port = forwarder_spec(tmp_path, store, through_link)
        proc = start(spec, tmp_path / "logs")
        procs.append(proc)
        fwd = rig.Service(proc, f"http://127.0.0.1:{port}")
        rig.until(
            lambda: fwd.metric('spy_forwarder_failures_total{kind="link"}') >= 2, 20, "retries"
        )
        assert fwd.metric("spy_forwarder_link_up") == 0
        assert fwd.metric("spy_outbox_pending") == 2000
        ledger.queue([audit(n, day) for n in range(2000, 3000)], now)  # more while down
        ledger.queue([sample(n, day) for n in range(30)], now)

        toxiproxy.set_enabled("tables", True)  # the link is back: drain, then crash mid-way
        rig.until(lambda: fwd.metric("spy_forwarder_delivered_total") >= 400, 60, "draining")
        proc.signal(signal.SIGKILL)
        proc.popen.wait()
        proc = start(spec, tmp_path / "logs-after-crash")  # a fresh log: a fresh ready line
        procs.append(proc)
        fwd = rig.Service(proc, f"http://127.0.0.1:{port}")
        assert 0 < fwd.metric("spy_outbox_pending") < 3030  # it resumes where the first stopped
        rig.until(lambda: fwd.metric("spy_outbox_pending") == 0, 90, "the outbox drained")

        tables = TableServiceClient.from_connection_string(
            components.azurite_connection_string(azurite_port)
        )
        rows = count(tables, "audit")
        assert sorted(rows) == sorted(f"sig-{n:06d}.filled" for n in range(3000))
        assert set(rows.values()) == {1}
        assert len(count(tables, "metrics")) == 30
        daily = rig.until(
            lambda: list(tables.get_table_client("metricsdaily").list_entities()),
            10,
            "the daily aggregate",
        )
        [aggregate] = daily
        assert (aggregate["PartitionKey"], aggregate["RowKey"]) == (
            day,
            "bot-1.spy_bot_orders_placed_total",
        )
        assert (aggregate["count"], aggregate["sum"]) == (30, 60.0)
        assert proc.stop() == 0
        exported = (tmp_path / "telemetry" / "forwarder.metrics.jsonl").read_text()
        assert "edge.audit" in exported
        tables.close()
        toxiproxy.close()
        ledger.close()
    finally:
        for p in reversed(procs):
            p.stop()
