"""The running local topology as the scenarios drive and observe it.

Signals enter as the backend sends them (its own SignalR REST adapter); orders are observed where
they land (the IB Gateway simulator's admin API, by orderRef); the bots are asked over their
/status endpoints and their ledgers are read read-only, as an operator would.
"""

from __future__ import annotations

import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from azure.data.tables import TableServiceClient

from harness.components import azurite_connection_string
from harness.hops import PathPorts
from harness.latency import (
    Beside,
    LatencyResult,
    listed_contracts,
    signal_bus,
    storm,
    storm_beside_probe,
    wait_for_orders,
)
from harness.local_topology import LocalTopology
from harness.supervisor import Supervisor
from harness.vpn import VpnProfile
from system.domain.contracts import OptionContract
from system.domain.metric_samples import METRICS_TABLE, OrderLatency, order_latencies, partition_key
from system.domain.signals import Signal

T = TypeVar("T")


Record = tuple[str, str, str]  # (table, partition key, row key)


def until(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` when time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.1)


class Stack:
    def __init__(self, supervisor: Supervisor, local: LocalTopology) -> None:
        self.supervisor = supervisor
        self.local = local
        self.run_dir = supervisor.run_dir

    # -- the gateway ---------------------------------------------------------------------------
    @property
    def gateway_admin(self) -> str:
        return f"http://127.0.0.1:{self.supervisor.instance('tws').ports['admin']}"

    def gateway(self, path: str) -> Any:
        return httpx.get(f"{self.gateway_admin}{path}", timeout=10).json()

    def gateway_fault(self, name: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self.gateway_admin}/faults/{name}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def orders_by_ref(self) -> dict[str, list[dict[str, Any]]]:
        by_ref: dict[str, list[dict[str, Any]]] = {}
        for order in self.gateway("/orders"):
            by_ref.setdefault(order["orderRef"], []).append(order)
        return by_ref

    def contracts(self, count: int = 3) -> list[OptionContract]:
        return listed_contracts(self.gateway_admin, count)

    # -- signals ---------------------------------------------------------------------------------
    def send(self, count: int, rate_per_s: float, ttl_s: float = 30.0) -> list[Signal]:
        """`count` fresh signals at `rate_per_s`, as the backend publishes them."""
        return self._publish(rate_per_s, ttl_s, lambda sent: sent >= count)

    def send_beside_probe(self, count: int, rate_per_s: float) -> tuple[list[Signal], Beside]:
        """As `send`, with the link's own one-way delay measured beside each signal, and each
        signal's hops captured (harness.latency.Beside)."""
        port = self.supervisor.instance("signalr").ports["http"]
        bus = signal_bus(port, self.local.credentials.signalr_access_key)
        path = PathPorts.of(self.supervisor.state())
        return storm_beside_probe(
            bus,
            self.contracts(),
            rate_per_s,
            count,
            self.supervisor.api,
            self.supervisor.profile,
            path,
            self.supervisor.cpus.path,
        )

    def stream_while(
        self, rate_per_s: float, action: Callable[[], T], ttl_s: float = 30.0
    ) -> tuple[T, list[Signal]]:
        """Stream signals for as long as `action` takes (a kill, a rollout, an outage)."""
        stop = threading.Event()
        sent: list[Signal] = []
        sender = threading.Thread(
            target=lambda: sent.extend(self._publish(rate_per_s, ttl_s, lambda _: stop.is_set()))
        )
        sender.start()
        try:
            result = action()
        finally:
            stop.set()
            sender.join()
        return result, sent

    def _publish(
        self, rate_per_s: float, ttl_s: float, done: Callable[[int], bool]
    ) -> list[Signal]:
        """Publish as the backend does (its SignalR adapter), cycling over listed contracts."""
        port = self.supervisor.instance("signalr").ports["http"]
        bus = signal_bus(port, self.local.credentials.signalr_access_key)
        return storm(bus, self.contracts(), rate_per_s, done, ttl_s)

    def orders_for(
        self,
        sent: list[Signal],
        one_way_ms: float,
        timeout_s: float = 30,
        beside: Beside | None = None,
    ) -> LatencyResult:
        return wait_for_orders(self.gateway_admin, sent, one_way_ms, timeout_s, beside)

    # -- the bots --------------------------------------------------------------------------------
    def bots(self) -> list[str]:
        return [i.name for i in self.supervisor.instances_of("bot")]

    def bot_status(self, name: str) -> dict[str, Any]:
        port = self.supervisor.instance(name).ports["http"]
        try:
            return dict(httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).json())
        except httpx.HTTPError:
            return {}

    def metric(self, name: str, metric: str) -> float:
        """The sum of a Prometheus metric's samples on one bot (0 when absent)."""
        port = self.supervisor.instance(name).ports["http"]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(metric) and line[len(metric) : len(metric) + 1] in (" ", "{")
        )

    def leader(self, timeout_s: float = 30) -> str:
        def single_trader() -> str | None:
            trading = [name for name in self.bots() if self.bot_status(name).get("trading")]
            return trading[0] if len(trading) == 1 else None

        return until(single_trader, timeout_s, "exactly one trading bot")

    def all_subscribed(self, timeout_s: float = 60) -> None:
        until(
            lambda: all(self.bot_status(name).get("signalr_connected") for name in self.bots()),
            timeout_s,
            "every bot's SignalR session",
        )

    def ledger_outcomes(self) -> dict[str, list[tuple[str, str]]]:
        """signal id -> [(outcome, the replica that decided it)], one per bot ledger holding it."""
        outcomes: dict[str, list[tuple[str, str]]] = {}
        for ledger in sorted(Path(self.run_dir).glob("bot-*/data/ledger.sqlite")):
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
                rows = db.execute(
                    "SELECT id, outcome, COALESCE(decided_by, '') FROM signals "
                    "WHERE outcome IS NOT NULL"
                ).fetchall()
            for signal_id, outcome, decided_by in rows:
                outcomes.setdefault(signal_id, []).append((outcome, decided_by))
        return outcomes

    def ledger_intents(self, signal_id: str) -> list[tuple[str, int]]:
        """[(replica, fencing token)] of every bot ledger holding an order for the signal."""
        intents: list[tuple[str, int]] = []
        for ledger in sorted(Path(self.run_dir).glob("bot-*/data/ledger.sqlite")):
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
                row = db.execute(
                    "SELECT fencing_token FROM orders WHERE signal_id = ?", (signal_id,)
                ).fetchone()
            if row is not None:
                intents.append((ledger.parts[-3], int(row[0])))
        return intents

    # -- what the operators were told, what reached the cloud -----------------------------------
    def emails(self) -> list[str]:
        """Subject and body of every email the SendGrid fake accepted."""
        port = self.supervisor.instance("sendgrid").ports["http"]
        body = httpx.get(f"http://127.0.0.1:{port}/__admin/messages", timeout=5).json()
        return [
            m["payload"].get("subject", "") + "\n" + str(m["payload"].get("content", ""))
            for m in body["messages"]
        ]

    def telegram_messages(self) -> list[str]:
        """The text of every message the Telegram fake was asked to send."""
        port = self.supervisor.instance("telegram").ports["http"]
        body = httpx.get(f"http://127.0.0.1:{port}/__admin/messages", timeout=5).json()
        return [str(m.get("text", "")) for m in body["messages"]]

    def vault_admin(self, path: str, body: dict[str, Any]) -> Any:
        port = self.supervisor.instance("keyvault").ports["https"]
        trusted = ssl.create_default_context(cafile=self.run_dir / "keyvault" / "ca.pem")
        response = httpx.post(
            f"https://127.0.0.1:{port}/__admin{path}", json=body, verify=trusted, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def outbox_records(self) -> set[Record]:
        """(table, partition, row) of every record the bots' outboxes hold."""
        records: set[Record] = set()
        for ledger in Path(self.run_dir).glob("bot-*/data/ledger.sqlite"):
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
                records |= set(db.execute("SELECT tbl, pk, rk FROM outbox").fetchall())
        return records

    def table_records(self, tables: set[str]) -> list[Record]:
        """(table, partition, row) of every entity in those Table Storage tables, as listed."""
        port = self.supervisor.instance("azurite").ports["table"]
        service = TableServiceClient.from_connection_string(azurite_connection_string(port))
        found: list[Record] = []
        with service:
            existing = {t.name for t in service.list_tables()}
            for table in sorted(tables & existing):
                client = service.get_table_client(table)
                found += [(table, e["PartitionKey"], e["RowKey"]) for e in client.list_entities()]
        return found

    def order_latencies(self, since: datetime) -> list[OrderLatency]:
        """The bots' signal-to-order figures in Table Storage, of intervals ending at or after
        `since`, oldest first (what the backend relays to the dashboard)."""
        port = self.supervisor.instance("azurite").ports["table"]
        service = TableServiceClient.from_connection_string(azurite_connection_string(port))
        with service:
            if METRICS_TABLE not in {t.name for t in service.list_tables()}:
                return []
            day = partition_key(since)
            rows = service.get_table_client(METRICS_TABLE).query_entities(
                "PartitionKey eq @day", parameters={"day": day}
            )
            return [f for f in order_latencies(rows) if f.at >= since]

    # -- the link --------------------------------------------------------------------------------
    def set_rtt(self, rtt_ms: int) -> VpnProfile:
        profile = VpnProfile.from_rtt(rtt_ms)
        self.supervisor.set_profile(profile)
        return profile

    def restore_profile(self) -> None:
        self.supervisor.set_profile(self.local.profile)

    def not_ready(self) -> list[str]:
        """What is not running or not ready; empty when the whole topology is fine."""
        return [i.name for i in self.supervisor.instances.values() if not i.is_ready()]
