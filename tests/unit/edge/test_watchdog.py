"""The watchdog's rounds with scripted checks: incidents, restarts, recovery, the report."""

import asyncio
from datetime import date
from unittest.mock import AsyncMock

import httpx
import pytest

from system.edge.alerting import AlertGate
from system.ports import Secret
from system.services.watchdog.__main__ import LastKnownSecret
from system.services.watchdog.checks import Component, run_check
from system.services.watchdog.metrics import WatchdogMetrics
from system.services.watchdog.watchdog import Heartbeat, Watchdog, Watched


class Script:
    """A check that answers from a list: True healthy, False down."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)

    async def __call__(self) -> tuple[bool, str]:
        healthy = self.answers.pop(0)
        return healthy, "ok" if healthy else "connection refused"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def rig(
    *answers: bool, link: list[bool] | None = None
) -> tuple[Watchdog, AsyncMock, AsyncMock, Clock]:
    notifier, spawn, clock = AsyncMock(), AsyncMock(return_value=4242), Clock()
    component = Component(name="tws", check="tcp", target="127.0.0.1:1", restart=["tws", "--go"])
    beats = list(link or [True] * len(answers))
    heartbeat = AsyncMock()
    heartbeat.beat.side_effect = lambda: (
        (True, "", 0.02) if beats.pop(0) else (False, "edge->cloud: ConnectError", None)
    )
    watchdog = Watchdog(
        [Watched(component, Script(*answers))],
        heartbeat,
        AlertGate(notifier, remind_after_s=3600, monotonic=clock),
        WatchdogMetrics(),
        spawn,
        check_timeout_s=1,
        failures_before_restart=2,
        restart_cooldown_s=60,
        monotonic=clock,
    )
    return watchdog, notifier, spawn, clock


def titles(notifier: AsyncMock) -> list[str]:
    return [c.args[0].title for c in notifier.notify.await_args_list]


async def test_a_failing_component_alerts_once_restarts_and_recovers() -> None:
    watchdog, notifier, spawn, clock = rig(False, False, False, False, True, True)
    for _ in range(4):
        await watchdog.round()
        clock.t += 20
    spawn.assert_awaited_once()  # after two failures; the cooldown holds the next one back
    await watchdog.round()
    await watchdog.round()
    assert titles(notifier) == ["tws is down", "Resolved: tws is healthy again"]
    assert watchdog.watched[0].restarts == 1


async def test_the_restart_is_retried_after_the_cooldown() -> None:
    watchdog, _, spawn, clock = rig(*[False] * 6)
    for _ in range(6):
        await watchdog.round()
        clock.t += 30
    assert spawn.await_count == 3  # rounds 2, 4 and 6: 60 s apart


async def test_the_vpn_heartbeat_alerts_and_recovers() -> None:
    watchdog, notifier, _, _ = rig(True, True, True, True, link=[True, False, False, True])
    for _ in range(4):
        await watchdog.round()
    assert titles(notifier) == ["VPN heartbeat lost", "Resolved: VPN heartbeat is back"]
    assert "ConnectError" in notifier.notify.await_args_list[0].args[0].body


async def test_the_daily_report_then_counters_start_over() -> None:
    watchdog, _, _, _ = rig(True, False, link=[True, False])
    await watchdog.round()
    await watchdog.round()
    report = watchdog.report(date(2026, 11, 24))
    assert report.title == "Edge health report 2026-11-24"
    assert "VPN link: up in 1/2 heartbeats (50.0%)" in report.body
    assert "tws: DOWN, healthy in 1/2 checks (50.0%), 0 restarts" in report.body
    assert "Alerts: 2 raised" in report.body
    assert "Open now: component:tws, vpn" in report.body
    assert "0/0" in watchdog.report(date(2026, 11, 25)).body


async def test_the_heartbeat_needs_both_directions() -> None:
    answers = iter([200, 503])

    def backend(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    async with httpx.AsyncClient(transport=httpx.MockTransport(backend)) as http:
        fresh = Heartbeat("http://backend/health", http, lambda: 0, timeout_s=30)
        assert (await fresh.beat())[:2] == (True, "")  # nothing received yet, but just started
        silent = Heartbeat("http://backend/health", http, lambda: 1, timeout_s=30)
        up, detail, _ = await silent.beat()
    assert not up
    assert "backend /health answered 503" in detail
    assert "cloud->edge: nothing received over SignalR" in detail


async def test_a_hanging_check_is_a_failure_naming_why() -> None:
    async def hangs() -> tuple[bool, str]:
        await asyncio.sleep(10)
        return True, ""

    assert await run_check(hangs, 0.01) == (False, "no answer within 0.01 s")


class Vault:
    """A SecretStore whose reachability the test switches."""

    def __init__(self) -> None:
        self.value: str | None = "v1"

    async def get(self, name: str) -> Secret:
        if self.value is None:
            raise ConnectionError("the vault is across a link that is down")
        return Secret(name=name, value=self.value, version=self.value)


async def test_the_last_known_credential_stands_in_while_the_vault_is_unreachable() -> None:
    vault = Vault()
    credential = await LastKnownSecret.read(vault, "ibkr-credential")
    vault.value = "v2"  # rotated: the next use starts a refresh, the one after sees it
    assert await credential() == "v1"
    await asyncio.sleep(0)
    assert await credential() == "v2"
    vault.value = None  # VPN down: reads fail, the last value stands
    for _ in range(3):
        await asyncio.sleep(0)
        assert await credential() == "v2"


async def test_a_credential_that_cannot_be_read_at_startup_is_an_error() -> None:
    vault = Vault()
    vault.value = None
    with pytest.raises(ConnectionError):
        await LastKnownSecret.read(vault, "ibkr-credential")
