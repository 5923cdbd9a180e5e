"""The watchdog's rounds: the VPN heartbeat in both directions, every component's health,
restarts of what stays down, alerts as de-duplicated incidents, and the daily health report.

The heartbeat is bidirectional: edge to cloud, a GET of the backend's /health across the link
(its round trip is measured); cloud to edge, the age of the last frame on the watchdog's own
SignalR connection (the service pings every 15 s when there is nothing else to send), which is
the very path signals take. The link is up only if both directions are.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

import httpx

from system.edge.alerting import AlertGate
from system.ports import Alert, Severity
from system.services.watchdog.checks import Check, Component, run_check
from system.services.watchdog.metrics import WatchdogMetrics

log = logging.getLogger(__name__)

Spawn = Callable[[Component], Awaitable[int]]


@dataclass
class Watched:
    component: Component
    check: Check
    up: bool | None = None
    failures: int = 0  # consecutive
    detail: str = ""
    last_restart: float = -math.inf
    checks: int = 0  # since the last report
    healthy: int = 0
    restarts: int = 0


@dataclass
class Link:
    """The heartbeat's own record since the last report."""

    beats: int = 0
    up_beats: int = 0
    rtts: list[float] = field(default_factory=list)


class Heartbeat:
    def __init__(
        self,
        backend_health_url: str,
        http: httpx.AsyncClient,
        last_frame_ns: Callable[[], int],
        timeout_s: float,
    ) -> None:
        self._url = backend_health_url
        self._http = http
        self._last_frame_ns = last_frame_ns
        self._timeout_s = timeout_s
        self._started_ns = time.monotonic_ns()

    async def beat(self) -> tuple[bool, str, float | None]:
        """(link up, what failed, edge-to-cloud round trip in seconds if it answered)."""
        problems: list[str] = []
        rtt: float | None = None
        started = time.perf_counter()
        try:
            response = await self._http.get(self._url, timeout=self._timeout_s)
            rtt = time.perf_counter() - started
            if not response.is_success:
                problems.append(f"edge->cloud: backend /health answered {response.status_code}")
        except httpx.HTTPError as error:
            problems.append(f"edge->cloud: {type(error).__name__}")
        last = self._last_frame_ns() or self._started_ns
        silent_s = (time.monotonic_ns() - last) / 1e9
        if silent_s > self._timeout_s:
            problems.append(f"cloud->edge: nothing received over SignalR for {silent_s:.0f} s")
        return not problems, "; ".join(problems), rtt


class Watchdog:
    def __init__(
        self,
        watched: list[Watched],
        heartbeat: Heartbeat,
        alerts: AlertGate,
        metrics: WatchdogMetrics,
        spawn: Spawn,
        *,
        check_timeout_s: float,
        failures_before_restart: int,
        restart_cooldown_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.watched = watched
        self._heartbeat = heartbeat
        self._alerts = alerts
        self._metrics = metrics
        self._spawn = spawn
        self._check_timeout_s = check_timeout_s
        self._failures_before_restart = failures_before_restart
        self._restart_cooldown_s = restart_cooldown_s
        self._monotonic = monotonic
        self.link = Link()
        self.link_up: bool | None = None

    async def round(self) -> None:
        heartbeat, checks = await asyncio.gather(
            self._heartbeat.beat(),
            asyncio.gather(*(run_check(w.check, self._check_timeout_s) for w in self.watched)),
        )
        await self._link(*heartbeat)
        for watched, (healthy, why) in zip(self.watched, checks, strict=True):
            await self._component(watched, healthy, why)

    async def _link(self, up: bool, detail: str, rtt: float | None) -> None:
        self.link.beats += 1
        self.link.up_beats += up
        if rtt is not None:
            self.link.rtts.append(rtt)
            self._metrics.rtt.observe(rtt)
        self._metrics.link_up.set(1 if up else 0)
        if up:
            await self._alerts.resolve("vpn", "VPN heartbeat is back", "Both directions answer.")
        elif await self._alerts.raise_(
            Alert("vpn", Severity.CRITICAL, "VPN heartbeat lost", detail)
        ):
            self._metrics.alerts.labels(Severity.CRITICAL.value).inc()
        if up != self.link_up:
            log.log(
                logging.INFO if up else logging.WARNING,
                "VPN link %s %s",
                "up" if up else "down",
                detail,
            )
        self.link_up = up

    async def _component(self, watched: Watched, healthy: bool, why: str) -> None:
        name = watched.component.name
        watched.checks += 1
        watched.healthy += healthy
        watched.detail = why
        self._metrics.component_up.labels(name).set(1 if healthy else 0)
        key = f"component:{name}"
        if healthy:
            if watched.up is False:
                log.info("%s is healthy again (%s)", name, why)
            watched.up, watched.failures = True, 0
            await self._alerts.resolve(key, f"{name} is healthy again", why)
            return
        watched.up = False
        watched.failures += 1
        log.warning("%s failed its health check (%d in a row): %s", name, watched.failures, why)
        title = f"{name} is down"
        if await self._alerts.raise_(Alert(key, Severity.CRITICAL, title, why)):
            self._metrics.alerts.labels(Severity.CRITICAL.value).inc()
        now = self._monotonic()
        if (
            watched.component.restart
            and watched.failures >= self._failures_before_restart
            and now - watched.last_restart >= self._restart_cooldown_s
        ):
            watched.last_restart = now
            try:
                pid = await self._spawn(watched.component)
            except OSError as error:
                log.error("could not restart %s: %s", name, error)
                return
            watched.restarts += 1
            self._metrics.restarts.labels(name).inc()
            log.warning("restarted %s (pid %d)", name, pid)

    def report(self, day: date) -> Alert:
        """The day's health as an email, then the counters start over."""
        lines = [f"Edge health report for {day.isoformat()}", ""]
        link = self.link
        share = link.up_beats / link.beats if link.beats else 0.0
        lines.append(f"VPN link: up in {link.up_beats}/{link.beats} heartbeats ({share:.1%})")
        if link.rtts:
            ordered = sorted(link.rtts)
            p50 = ordered[len(ordered) // 2] * 1000
            lines.append(f"  round trip p50 {p50:.1f} ms, max {ordered[-1] * 1000:.1f} ms")
        lines.append("")
        for w in self.watched:
            availability = w.healthy / w.checks if w.checks else 0.0
            state = "up" if w.up else "DOWN"
            lines.append(
                f"{w.component.name}: {state}, healthy in {w.healthy}/{w.checks} checks "
                f"({availability:.1%}), {w.restarts} restarts"
            )
        raised = [a for a in self._alerts.sent if a.severity is not Severity.INFO]
        resolved = [a for a in self._alerts.sent if a.title.startswith("Resolved:")]
        lines += ["", f"Alerts: {len(raised)} raised, {len(resolved)} resolved"]
        lines += [f"  {a.severity.value}: {a.title}" for a in raised[-20:]]
        open_now = sorted(self._alerts.open)
        lines.append(f"Open now: {', '.join(open_now) if open_now else 'none'}")
        self.link = Link()
        for w in self.watched:
            w.checks = w.healthy = w.restarts = 0
        self._alerts.sent.clear()
        return Alert(
            "daily-report", Severity.INFO, f"Edge health report {day.isoformat()}", "\n".join(lines)
        )
