"""python -m system.services.forwarder.bench: outbox throughput while draining a backlog.

A backlog of --records audit records (default 100,000, over --partitions partition keys) is
queued in an edge store the way the bot queues them, then the forwarder (the real
SqliteOutbox, TableEventStore and batch loop) drains it into Azurite (`azurite-table`, in
memory, started as a process unless --tables names a connection string). Prints records per
second, then checks every row landed exactly once.
Timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from azure.data.tables.aio import TableServiceClient
from prometheus_client import Counter

from harness import components
from harness.ports import free_port
from harness.process import ProcessSpec, log_line, start
from harness.toolchain import AZURITE, tool_path
from system.adapters import telemetry_otel
from system.adapters.clock import SystemClock
from system.adapters.tables import TableEventStore
from system.edge.backoff import Backoff
from system.edge.ledger import Ledger
from system.edge.outbox_sqlite import SqliteOutbox
from system.ports import StoredRecord
from system.services.forwarder.forwarder import Forwarder
from system.services.forwarder.metrics import ForwarderMetrics

TABLE = "benchaudit"


def _fill(store: Path, records: int, day: str, partitions: int) -> None:
    ledger = Ledger.open(store, "bench")
    now = datetime.now(UTC)
    for start_at in range(0, records, 10_000):
        ledger.queue(
            [
                StoredRecord(
                    TABLE,
                    f"{day}-{n * partitions // records:04d}",  # in time order, as queued
                    f"sig-{n:08d}.filled",
                    {"signal_id": f"sig-{n:08d}", "event": "filled", "replica": "bench", "n": n},
                )
                for n in range(start_at, min(records, start_at + 10_000))
            ],
            now,
        )
    ledger.close()


def _total(counter: Counter) -> int:
    return int(
        sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))
    )


async def _drain(store: Path, tables: str, batch: int) -> tuple[float, int]:
    outbox = SqliteOutbox(store, store.parent / "delivery.sqlite")
    events = TableEventStore(tables)
    telemetry = telemetry_otel.disabled("forwarder-bench")
    forwarder_metrics = ForwarderMetrics()
    forwarder = Forwarder(
        outbox,
        events,
        telemetry,
        forwarder_metrics,
        SystemClock(),
        batch_size=batch,
        poll_s=0.1,
        backoff=Backoff(0.1, 1.0),
    )
    started = time.perf_counter()
    stop = asyncio.Event()
    draining = asyncio.get_running_loop().create_task(forwarder.run(stop))
    pending = await outbox.backlog()
    while pending > 0:  # the service's own loop drains, retries included
        await asyncio.sleep(0.2)
        pending = await outbox.backlog()
    stop.set()
    await draining
    took = time.perf_counter() - started
    await outbox.close()
    await events.aclose()
    telemetry.shutdown()
    return took, _total(forwarder_metrics.failures)


async def _count(tables: str) -> int:
    async with TableServiceClient.from_connection_string(tables) as service:
        client = service.get_table_client(TABLE)
        return len([e async for e in client.list_entities(select=["RowKey"])])


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m system.services.forwarder.bench", description=__doc__
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="records per outbox batch")
    parser.add_argument(
        "--partitions",
        type=int,
        default=100,
        help="partition keys the records spread over (Azurite scans a partition per write, so "
        "one partition of 100,000 rows slows it to ~100 writes/s; Table Storage targets "
        "2,000 entities/s per partition)",
    )
    parser.add_argument("--tables", help="a Table Storage connection string (default: Azurite)")
    args = parser.parse_args()
    day = datetime.now(UTC).date().isoformat()
    with tempfile.TemporaryDirectory(prefix="forwarder-bench-") as folder:
        tmp = Path(folder)
        azurite = None
        tables = args.tables
        where = "the given Table Storage"
        if tables is None:
            # In memory: the figure is the forwarder's, not the emulator's disk persistence
            # (Azurite rewrites its whole database file as it grows).
            port = free_port()
            argv = [str(tool_path(AZURITE)), "--inMemoryPersistence", "--tableHost"]
            argv += ["127.0.0.1", "--tablePort", str(port), "--disableTelemetry"]
            ready = log_line(r"Azurite Table service (is )?successfully (started|listening)")
            azurite = start(ProcessSpec("azurite", argv, ready), tmp)
            tables = components.azurite_connection_string(port)
            where = "Azurite, in memory"
        try:
            store = tmp / "edge" / "ledger.sqlite"
            _fill(store, args.records, day, args.partitions)
            took, failures = asyncio.run(_drain(store, tables, args.batch))
            print(
                f"outbox drain into Table Storage ({where}): {args.records:,} records in "
                f"{took:.1f} s = {args.records / took:,.0f} records/s (batches of "
                f"{args.batch} over {args.partitions} partitions, entity-group transactions of "
                f"100; {failures} failed attempts retried)",
                flush=True,
            )
            rows = asyncio.run(_count(tables))
            verdict = "every record exactly once" if rows == args.records else "MISMATCH"
            print(f"rows in the table: {rows:,} of {args.records:,} ({verdict})", flush=True)
        finally:
            if azurite is not None:
                azurite.stop()


if __name__ == "__main__":
    main()
