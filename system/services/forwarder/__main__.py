"""python -m system.services.forwarder: the telemetry forwarder, one beside each bot replica
(a sidecar sharing the pod's edge-store volume).

Reads the bot's outbox (never writing the bot's file), writes each batch to Table Storage and
its figures to Application Insights (the Telemetry port), retries with backoff while the link is
down, and upserts the daily metrics aggregate every SPY_FWD_AGGREGATE_S. Prints
`forwarder ready http=http://HOST:PORT` once serving /health, /ready, /metrics and /status.
On SIGTERM it finishes (and marks) the batch in hand, upserts the aggregate once more and exits
0 within SPY_FWD_SHUTDOWN_GRACE_S. Exits 2 with one line naming a missing or invalid setting,
1 when the Table Storage secret is missing.

Settings (environment):
  SPY_FWD_STORE_FILE            required; the bot's edge store (…/ledger.sqlite)
  SPY_FWD_DELIVERY_FILE         this forwarder's progress (<store folder>/delivery.sqlite)
  SPY_FWD_TABLES_SECRET         secret holding the Table Storage connection string
                                (tables-connection-string)
  SPY_FWD_BATCH_SIZE            records per batch (500)
  SPY_FWD_POLL_S                idle poll period (0.5)
  SPY_FWD_RETRY_FIRST_S / _RETRY_MAX_S  backoff while the link is down (0.5 / 30)
  SPY_FWD_AGGREGATE_S           daily aggregate period (300)
  SPY_FWD_HTTP_HOST / _HTTP_PORT  probe server (127.0.0.1 / 9101; 0 picks a free port)
  SPY_FWD_SECRETS / _SECRETS_DIR / _KEYVAULT_URL / _KEYVAULT_CA_FILE /
  _KEYVAULT_VERIFY_CHALLENGE_RESOURCE / _MANAGED_IDENTITY_CLIENT_ID   as for the bot
  SPY_FWD_TELEMETRY / _TELEMETRY_DIR / _APPINSIGHTS_CONNECTION_STRING  as for the bot
  SPY_FWD_LOG_LEVEL / _SHUTDOWN_GRACE_S  (info / 10)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from system.adapters.clock import SystemClock
from system.adapters.tables import TableEventStore
from system.edge import runtime
from system.edge.backoff import Backoff
from system.edge.outbox_sqlite import SqliteOutbox
from system.edge.probe_server import ProbeServer
from system.services.forwarder.forwarder import Forwarder
from system.services.forwarder.metrics import ForwarderMetrics
from system.services.forwarder.settings import ForwarderSettings
from system.settings_errors import load_settings

log = logging.getLogger("system.services.forwarder")


async def serve(settings: ForwarderSettings) -> int:
    stop = runtime.stop_requested()
    secrets = runtime.secret_store(settings)
    try:
        connection = (await secrets.get(settings.tables_secret)).value
    except Exception as error:
        print(f"forwarder: secret {settings.tables_secret!r} unavailable: {error}", file=sys.stderr)
        return 1
    finally:
        await secrets.aclose()  # read once, at start
    store = TableEventStore(connection)
    outbox = SqliteOutbox(settings.store_file, settings.delivery_path)
    telemetry = runtime.telemetry(settings, "forwarder")
    metrics = ForwarderMetrics()
    forwarder = Forwarder(
        outbox,
        store,
        telemetry,
        metrics,
        SystemClock(),
        batch_size=settings.batch_size,
        poll_s=settings.poll_s,
        backoff=Backoff(settings.retry_first_s, settings.retry_max_s),
    )
    await forwarder.refresh_gauges()  # /metrics tells the backlog from the first scrape
    loop = asyncio.get_running_loop()
    draining = loop.create_task(forwarder.run(stop))
    aggregating = loop.create_task(
        runtime.every(settings.aggregate_s, forwarder.aggregate_days, "daily aggregate")
    )
    probe = ProbeServer(
        settings.http_host,
        settings.http_port,
        metrics.registry,
        lambda: {"forwarding": not draining.done()},
        lambda: {
            "pending": metrics.pending._value.get(),
            "link_up": bool(metrics.link_up._value.get()),
        },
    )
    port = await probe.start()
    print(f"forwarder ready http=http://{settings.http_host}:{port}", flush=True)
    await asyncio.wait({draining, loop.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
    crashed = draining.done() and not stop.is_set()
    stop.set()

    async def shut_down() -> None:
        await asyncio.gather(draining, return_exceptions=True)
        aggregating.cancel()
        with contextlib.suppress(Exception):
            await forwarder.aggregate_days()
        await probe.stop()
        await outbox.close()
        await store.aclose()
        telemetry.shutdown()

    try:
        await asyncio.wait_for(shut_down(), settings.shutdown_grace_s)
    except TimeoutError:
        log.error("shutdown exceeded %.1f s", settings.shutdown_grace_s)
        return 1
    if crashed:
        log.error("the forwarding loop ended unexpectedly: %r", draining.exception())
        return 1
    return 0


def main() -> int:
    settings = load_settings(ForwarderSettings, "forwarder")
    runtime.configure_logging(settings.log_level)
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
