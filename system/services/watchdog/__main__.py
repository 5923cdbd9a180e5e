"""python -m system.services.watchdog: the edge watchdog (one per edge site).

Every SPY_WD_CHECK_INTERVAL_S (30 s in prod) it beats the VPN heartbeat in both directions
(edge to cloud: GET the backend's /health across the link; cloud to edge: its own SignalR
connection must have received something, the service's keepalive at least, within
SPY_WD_HEARTBEAT_TIMEOUT_S) and checks every component. A component that fails
SPY_WD_FAILURES_BEFORE_RESTART checks in a row is restarted with its `restart` command (at most
once per SPY_WD_RESTART_COOLDOWN_S). Alerts go to Telegram and email as incidents: once when
they open, a reminder after SPY_WD_ALERT_REMIND_S, one recovery notice when they close. A
health report goes by email daily at SPY_WD_REPORT_AT (UTC). Prints
`watchdog ready http=http://HOST:PORT` once serving /health, /ready, /metrics and /status;
exits 0 on SIGTERM within SPY_WD_SHUTDOWN_GRACE_S, 2 with one line naming a bad setting, 1 when
a secret it needs is missing.

Settings (environment; lists are JSON):
  SPY_WD_BACKEND_URL            required; the backend across the VPN (its /health, /api/negotiate)
  SPY_WD_BACKEND_API_KEY_SECRET / _SIGNALR_TARGET   as for the bot
  SPY_WD_COMPONENTS             [{"name": "bot-1", "check": "http|tcp|redis|ib",
                                  "target": "<url or host:port>", "restart": ["argv", ...]}]
  SPY_WD_CHECK_INTERVAL_S / _CHECK_TIMEOUT_S / _HEARTBEAT_TIMEOUT_S   (30 / 5 / 45)
  SPY_WD_FAILURES_BEFORE_RESTART / _RESTART_COOLDOWN_S / _RESTART_LOG_DIR  (2 / 60 / .)
  SPY_WD_IB_CREDENTIAL_SECRET   for "ib" checks against a gateway that requires one
  SPY_WD_TELEGRAM_TOKEN_SECRET / _TELEGRAM_BASE_URL / _TELEGRAM_CHAT_IDS
  SPY_WD_SENDGRID_API_KEY_SECRET / _SENDGRID_BASE_URL / _EMAIL_FROM / _EMAIL_TO
  SPY_WD_ALERT_REMIND_S (3600), SPY_WD_REPORT_AT (21:30), SPY_WD_REPORT_INTERVAL_S (unset:
                                daily; set: every N seconds, for dev and tests)
  SPY_WD_HTTP_HOST / _HTTP_PORT (127.0.0.1 / 9102), SPY_WD_SECRETS..., SPY_WD_TELEMETRY...,
  SPY_WD_LOG_LEVEL / _SHUTDOWN_GRACE_S   as for the bot
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx

from system.adapters.signalr_client import SignalRSubscription
from system.edge import runtime
from system.edge.alerting import AlertGate
from system.edge.backoff import Backoff
from system.edge.probe_server import ProbeServer
from system.ports import Alert, ReceivedSignal, SecretStore
from system.services.watchdog.checks import Component, make_check
from system.services.watchdog.metrics import WatchdogMetrics
from system.services.watchdog.settings import WatchdogSettings
from system.services.watchdog.watchdog import Heartbeat, Watchdog, Watched
from system.settings_errors import load_settings

log = logging.getLogger("system.services.watchdog")


class Restarter:
    """Starts a component again, detached (its own session), logging to a file; reaps it."""

    def __init__(self, settings: WatchdogSettings) -> None:
        self._log_dir = settings.restart_log_dir
        self._children: set[asyncio.Task[int]] = set()

    async def __call__(self, component: Component) -> int:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        with (self._log_dir / f"{component.name}.restart.log").open("ab") as out:
            child = await asyncio.create_subprocess_exec(
                *component.restart,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        task = asyncio.get_running_loop().create_task(child.wait())
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        return child.pid


async def _next_report(settings: WatchdogSettings) -> float:
    if settings.report_interval_s is not None:
        return settings.report_interval_s
    now = datetime.now(UTC)
    at = now.replace(
        hour=settings.report_at.hour, minute=settings.report_at.minute, second=0, microsecond=0
    )
    if at <= now:
        at += timedelta(days=1)
    return (at - now).total_seconds()


async def _report_forever(
    settings: WatchdogSettings, watchdog: Watchdog, send: Callable[[Alert], Awaitable[None]]
) -> None:
    while True:
        await asyncio.sleep(await _next_report(settings))
        try:
            await send(watchdog.report(datetime.now(UTC).date()))
        except Exception as error:  # the next report still comes
            log.warning("health report not sent: %s", type(error).__name__)


class LastKnownSecret:
    """A secret read at startup, then refreshed in the background at each use while the last
    value read is returned. Key Vault is across the VPN link, and in an outage a read hangs: a
    gateway that is up must not be reported down because the link to the vault is."""

    def __init__(self, secrets: SecretStore, name: str, value: str) -> None:
        self._secrets = secrets
        self._name = name
        self._value = value
        self._refresh: asyncio.Task[None] | None = None

    @classmethod
    async def read(cls, secrets: SecretStore, name: str) -> LastKnownSecret:
        return cls(secrets, name, (await secrets.get(name)).value)

    async def __call__(self) -> str:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._read())
        return self._value

    async def _read(self) -> None:
        try:
            self._value = (await self._secrets.get(self._name)).value
        except Exception as error:  # the last value stands until a read succeeds
            log.debug("secret %s unreadable (%s); using the last value", self._name, error)


async def _listen_only(_received: ReceivedSignal) -> None:
    """The watchdog subscribes for the link's sake (its heartbeat), not to trade."""


async def serve(settings: WatchdogSettings) -> int:
    stop = runtime.stop_requested()
    secrets = runtime.secret_store(settings)
    try:
        api_key = (await secrets.get(settings.backend_api_key_secret)).value
        channels = await runtime.channels(settings, secrets)
        name = settings.ib_credential_secret
        ib_credential = await LastKnownSecret.read(secrets, name) if name else None
    except Exception as error:
        print(f"watchdog: a secret is unavailable: {error}", file=sys.stderr, flush=True)
        await secrets.aclose()
        return 1
    metrics = WatchdogMetrics()
    http = httpx.AsyncClient()
    backend = str(settings.backend_url).rstrip("/")
    subscription = SignalRSubscription(
        f"{backend}/api?userId=watchdog",
        consumer=_listen_only,
        target=settings.signalr_target,
        headers={"X-API-Key": api_key},
        on_drop=lambda _reason: None,
        on_state=lambda _up: None,
        reconnect=Backoff(0.5, 10.0),
    )
    watched = [
        Watched(
            c,
            make_check(c, http, settings.check_timeout_s, ib_credential=ib_credential),
        )
        for c in settings.components
    ]
    alerts = AlertGate(channels.alerts(), settings.alert_remind_s)
    watchdog = Watchdog(
        watched,
        Heartbeat(
            f"{backend}/health",
            http,
            lambda: subscription.last_frame_ns,
            settings.heartbeat_timeout_s,
        ),
        alerts,
        metrics,
        Restarter(settings),
        check_timeout_s=settings.check_timeout_s,
        failures_before_restart=settings.failures_before_restart,
        restart_cooldown_s=settings.restart_cooldown_s,
    )

    async def send_report(report: Alert) -> None:
        if channels.email is not None:
            await channels.email.notify(report)
            metrics.reports.inc()

    loop = asyncio.get_running_loop()
    tasks = [
        loop.create_task(subscription.run()),
        loop.create_task(runtime.every(settings.check_interval_s, watchdog.round, "check round")),
        loop.create_task(_report_forever(settings, watchdog, send_report)),
    ]
    probe = ProbeServer(
        settings.http_host,
        settings.http_port,
        metrics.registry,
        lambda: {"rounds": not any(t.done() for t in tasks)},
        lambda: {
            "vpn_link_up": watchdog.link_up,
            "components": {w.component.name: w.up for w in watched},
            "open_incidents": sorted(alerts.open),
        },
    )
    port = await probe.start()
    print(f"watchdog ready http=http://{settings.http_host}:{port}", flush=True)
    await stop.wait()

    async def shut_down() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await probe.stop()
        await http.aclose()
        with contextlib.suppress(Exception):
            await channels.aclose()
        await secrets.aclose()

    try:
        await asyncio.wait_for(shut_down(), settings.shutdown_grace_s)
    except TimeoutError:
        log.error("shutdown exceeded %.1f s", settings.shutdown_grace_s)
        return 1
    return 0


def main() -> int:
    settings = load_settings(WatchdogSettings, "watchdog")
    runtime.configure_logging(settings.log_level)
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
