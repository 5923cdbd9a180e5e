"""python -m system.services.bot: one trading bot replica (run three; the lease holder trades).

Prints `bot ready replica=<id> http=http://HOST:PORT` once its probe server listens and its
loops run (SignalR connects on its own; /ready says when it has). Serves /health, /ready,
/metrics and /status. On SIGTERM or Ctrl-C it stops taking signals, records what the broker
already reported, releases the lease (a standby takes over and reconciles what was in flight)
and exits 0 within SPY_BOT_SHUTDOWN_GRACE_S. Exits 2 with one line naming the variable when a
setting is missing or invalid (or the strategy file is), 1 when a secret it needs is missing or
one of its loops fails.

Settings (environment; lists are JSON, e.g. SPY_BOT_TELEGRAM_CHAT_IDS='[1001]'):
  SPY_BOT_REPLICA_ID            required; this replica's name (lease holder, ledger, user id)
  SPY_BOT_STRATEGY_FILE         required; the mounted strategy YAML (hot-reloaded)
  SPY_BOT_BACKEND_URL           required; the backend, which serves POST /api/negotiate
  SPY_BOT_BACKEND_API_KEY_SECRET  secret holding the backend API key (backend-api-key)
  SPY_BOT_SIGNALR_TARGET        hub method the signals arrive on (signal)
  SPY_BOT_HTTP_HOST / _HTTP_PORT  probe server (127.0.0.1 / 9100; 0 picks a free port)
  SPY_BOT_DATA_DIR              edge store folder: ledger.sqlite (data)
  SPY_BOT_LEDGER_SYNCHRONOUS    NORMAL (survives process crashes) or FULL (also power loss)
  SPY_BOT_CHECKPOINT_S          how often the ledger's WAL is copied back into its file, off the
                                event loop (5)
  SPY_BOT_DELIVERY_FILE         the forwarder's progress file (<data_dir>/delivery.sqlite)
  SPY_BOT_OUTBOX_RETENTION_H    keep delivered outbox rows this long (48)
  SPY_BOT_REDIS_URL             lease store (redis://127.0.0.1:6379/0)
  SPY_BOT_LEASE_KEY / _BOARD_PREFIX  (spy:edge:leader / spy:edge)
  SPY_BOT_LEASE_TTL_MS / _RENEW_MS / _ACQUIRE_MS / _SAFETY_MS  (3000 / 1000 / 200 / 300)
  SPY_BOT_IB_HOST / _IB_PORT / _IB_CLIENT_ID / _IB_ACCOUNT / _IB_TIMEOUT_S  IB Gateway
  SPY_BOT_IB_CREDENTIAL_SECRET  secret sent as startApi optionalCapabilities; watched
  SPY_BOT_CREDENTIAL_CHECK_S    how often the credential's version is checked (30)
  SPY_BOT_RECONNECT_FIRST_S / _MAX_S  backoff of SignalR and gateway reconnects (0.2 / 10)
  SPY_BOT_SWEEP_S               expiry sweep and standby mirroring period (1)
  SPY_BOT_EXPIRY_MARGIN_MS      a signal expiring within this is not traded: its order must
                                reach the gateway before it expires (50)
  SPY_BOT_REHEARSE_EVERY_MS     the leader runs its hot path on its last signal this often,
                                keeping and sending nothing: it stays in the CPU's caches;
                                0: never (1)
  SPY_BOT_METRICS_SAMPLE_S      metric samples into the outbox (60)
  SPY_BOT_CONFIRMATION_DIGEST_S the fills of this long are confirmed in one email (60)
  SPY_BOT_TELEGRAM_TOKEN_SECRET / _TELEGRAM_BASE_URL / _TELEGRAM_CHAT_IDS / _TELEGRAM_POLL_S
  SPY_BOT_SENDGRID_API_KEY_SECRET / _SENDGRID_BASE_URL / _EMAIL_FROM / _EMAIL_TO
  SPY_BOT_ALERT_REMIND_S        an open incident is re-sent after this long (3600)
  SPY_BOT_SECRETS               file | keyvault; SPY_BOT_SECRETS_DIR for file,
                                SPY_BOT_KEYVAULT_URL (+ _KEYVAULT_CA_FILE,
                                _KEYVAULT_VERIFY_CHALLENGE_RESOURCE, _MANAGED_IDENTITY_CLIENT_ID)
  SPY_BOT_TELEMETRY             file | azure | none; SPY_BOT_TELEMETRY_DIR,
                                SPY_BOT_APPINSIGHTS_CONNECTION_STRING
  SPY_BOT_LOG_LEVEL / _SHUTDOWN_GRACE_S  (info / 10)
"""

from __future__ import annotations

import asyncio
import logging
import sys

from system.edge import runtime
from system.edge.strategy_config import ConfigError
from system.services.bot.service import Bot, StartupFailed
from system.services.bot.settings import BotSettings
from system.settings_errors import load_settings

log = logging.getLogger("system.services.bot")


async def serve(settings: BotSettings) -> int:
    stop = runtime.stop_requested()
    bot = Bot(settings, runtime.secret_store(settings))
    port = await bot.start()
    print(
        f"bot ready replica={settings.replica_id} http=http://{settings.http_host}:{port}",
        flush=True,
    )
    stopping = asyncio.ensure_future(stop.wait())
    crashed = asyncio.ensure_future(bot.wait_crashed())
    await asyncio.wait({stopping, crashed}, return_when=asyncio.FIRST_COMPLETED)
    failed = bot.crashed()
    for task in (stopping, crashed):
        task.cancel()
    if failed:
        log.error("loop(s) ended unexpectedly: %s; shutting down", ", ".join(failed))
    try:
        await asyncio.wait_for(bot.stop(), settings.shutdown_grace_s)
    except TimeoutError:
        log.error("shutdown exceeded %.1f s", settings.shutdown_grace_s)
        return 1
    return 1 if failed else 0


def main() -> int:
    settings = load_settings(BotSettings, "bot")
    runtime.configure_logging(settings.log_level)
    try:
        return asyncio.run(serve(settings))
    except ConfigError as error:
        print(f"bot: {error}", file=sys.stderr, flush=True)
        return 2
    except StartupFailed as error:
        print(f"bot: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
