"""Steps of the dashboard scenario: Debian's Chromium on the edge side of the VPN, the page
served by the backend, the signals raised by the detector from unusual activity at the gateway."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect
from pytest_bdd import given, parsers, then, when

from harness.browser import chromium
from harness.dashboard import DashboardPage, open_dashboard
from harness.topology import Use
from harness.unusual_activity import surge_until_signalled
from scenarios.conftest import RecordFigure
from scenarios.stack import Stack, until
from system.domain.contracts import Right
from system.domain.metric_samples import OrderLatency
from system.domain.signals import Signal

SURGED_CONTRACTS = 2
SURGE = 50.0  # times the usual volume: well past the detector's threshold
BACKEND = Use("backend", "http")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def screenshots(run_dir: Path) -> Path:
    folder = run_dir / "dashboard"  # the report shows what it finds here
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@given("the dashboard is open in a browser on the edge side", target_fixture="dashboard")
def dashboard_open(topology: Stack, browser: Browser) -> DashboardPage:
    host, port = topology.supervisor.address_from("edge", BACKEND)
    key = topology.local.credentials.backend_api_key
    page = open_dashboard(browser, f"http://{host}:{port}/dashboard/", key)
    page.live()
    return page


@when("the detector raises signals on unusual activity", target_fixture="raised")
def detector_raises(topology: Stack) -> list[Signal]:
    """Surges until the detector raises something, asked as an operator would (the backend's
    own API): after a restart it relearns its baselines."""
    host, port = topology.supervisor.address_from("cloud", BACKEND)
    headers = {"Authorization": f"Bearer {topology.local.credentials.backend_api_key}"}
    with httpx.Client(base_url=f"http://{host}:{port}", headers=headers, timeout=10) as backend:
        return surge_until_signalled(topology.gateway_admin, backend.get, SURGED_CONTRACTS, SURGE)


@then(
    parsers.parse(
        "each is on the page within {seconds:d} second of being raised, heating its side's map"
    )
)
def each_on_page(
    dashboard: DashboardPage, raised: list[Signal], seconds: int, record_figure: RecordFigure
) -> None:
    delays_ms = {}
    for signal in raised:
        shown = until(partial(dashboard.row_shown_ms, signal.id), 10, f"{signal.id} shown")
        delays_ms[signal.id] = round(shown - signal.created_at.timestamp() * 1000, 1)
        side = "calls" if signal.contract.right is Right.CALL else "puts"
        assert dashboard.heat_pixels(f"#heat-{side}") > 0, f"the {side} heatmap is blank"
    record_figure("dashboard-signals", {"raised_to_shown_ms": delays_ms})
    late = {sid: ms for sid, ms in delays_ms.items() if not 0 <= ms < seconds * 1000}
    assert not late, f"signals shown later than {seconds} s after being raised (ms): {late}"


@when(
    parsers.parse("{count:d} signals are traded at {rate:d} per second"),
    target_fixture="traded",
)
def signals_traded(topology: Stack, count: int, rate: int) -> tuple[datetime, int]:
    """When the trading began, and how many orders it gave."""
    began = datetime.now(UTC)
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as worker:
        sent = worker.submit(topology.send, count, rate).result()
    result = topology.orders_for(sent, one_way_ms=0)
    assert not result.missing, f"{len(result.missing)} signals without an order"
    return began, len(result.samples_ms)


def _as_shown(ms: float) -> str:
    """A figure as the page writes it (format.js `milliseconds`; JS rounds halves up)."""
    return f"{ms:.1f} ms" if ms < 10 else f"{math.floor(ms + 0.5)} ms"


@then(
    parsers.parse(
        "the latency panel shows the bots' signal-to-order p50 and p99 within {seconds:d} seconds"
    )
)
def latency_shown(
    dashboard: DashboardPage,
    topology: Stack,
    traded: tuple[datetime, int],
    seconds: int,
    screenshots: Path,
    record_figure: RecordFigure,
) -> None:
    """The figures on the page are the newest the bots sampled into Table Storage, and the
    bots' figures since the trading began account for every order it gave."""
    began, orders = traded
    page = dashboard.page

    def shown() -> OrderLatency | None:
        figures = topology.order_latencies(began)
        if sum(f.count for f in figures) < orders:
            return None
        newest = figures[-1]
        on_page = (
            page.locator("#latency-p50").inner_text(),
            page.locator("#latency-p99").inner_text(),
        )
        return newest if on_page == (_as_shown(newest.p50_ms), _as_shown(newest.p99_ms)) else None

    figure = until(
        shown,
        seconds,
        f"figures over the {orders} orders traded in Table Storage, the newest on the page",
    )
    expect(page.locator("#latency-chart")).to_have_attribute(
        "aria-label", re.compile(rf"over {figure.count} orders")
    )
    page.screenshot(path=screenshots / "dashboard-live.png", full_page=True)
    record_figure(
        "dashboard-latency",
        {
            "p50": page.locator("#latency-p50").inner_text(),
            "p99": page.locator("#latency-p99").inner_text(),
            "orders": figure.count,
            "sampled_at": figure.at.isoformat(),
        },
    )


@then(parsers.parse('the page showed "reconnecting", then "live" again within {seconds:d} seconds'))
def reconnected(dashboard: DashboardPage, seconds: int) -> None:
    def back_live() -> list[str] | None:
        states = [state for state, _ in dashboard.link_states()]
        after_first_live = states[states.index("live") + 1 :]
        if "reconnecting" in after_first_live and after_first_live[-1] == "live":
            return after_first_live
        return None

    states = until(back_live, seconds, "the page reconnecting, then live again")
    assert "offline" not in states, f"the page went offline: {states}"


@then("the page has logged no error and reached nothing beyond loopback")
def no_errors(dashboard: DashboardPage) -> None:
    assert dashboard.console_errors == []
    no_exception(dashboard)


@then("the page threw no exception and reached nothing beyond loopback")
def no_exception(dashboard: DashboardPage) -> None:
    """Through an outage the SignalR client logs the lost connection as an error, rightly; the
    page handles it, and never throws."""
    assert dashboard.page_errors == []
    assert {urlsplit(url).hostname for url in dashboard.urls} == {"127.0.0.1"}, dashboard.urls
