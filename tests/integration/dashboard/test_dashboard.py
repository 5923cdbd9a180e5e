"""The dashboard in Debian's Chromium, served by the real backend, fed by its detector through
the SignalR service fake, whose clients come through a Toxiproxy link."""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Route, expect

from harness.vpn import end_outage, start_outage
from system.domain.contracts import Right
from tests.integration.dashboard.conftest import SIGNALR_LINK, OpenPage, Topology
from tests.integration.dashboard.hub import HubRest, detector_signals

# The SLO: a signal is on the page within 1 s of the detector raising it.
SIGNAL_SLO_MS = 1000
# The SignalR client notices a silent (black-holed) link after its 30 s server timeout.
OUTAGE_NOTICED_MS = 45_000


def row(page: Page, signal_id: str) -> Locator:
    return page.locator(f'#feed li[data-signal-id="{signal_id}"]')


def newest_row(page: Page) -> Locator:
    return page.locator("#feed li").first


def market_history(hub: HubRest, minutes: int = 15) -> None:
    """SPY quotes and latency figures over the last minutes, and a few earlier signals, as the
    backend would have sent them (here there are no bots to give latency figures of their own:
    scenarios/features/dashboard.feature watches the whole topology's)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    price = 600.0
    for step in range(minutes * 12):
        at = now - timedelta(seconds=5 * (minutes * 12 - step))
        price += rng.gauss(0, 0.08)
        hub.quote(price, at)
        if step % 6 == 0:
            p50 = 18 + 3 * math.sin(step / 20) + rng.random()
            hub.latency(round(p50, 1), round(p50 * 2.4 + rng.random() * 5, 1), 40 + step, at)
    earlier = [
        (minutes * 3 // 4, [(0, 2, Right.CALL, 1500)]),
        (minutes // 2, [(1, -4, Right.PUT, 1200), (0, -1, Right.PUT, 700)]),
        (minutes // 5, [(2, 5, Right.CALL, 900)]),
    ]
    for minutes_ago, surges in earlier:
        for signal in detector_signals(surges, now - timedelta(minutes=minutes_ago)):
            hub.signal(signal)


def test_the_page_loads_live_with_no_console_errors_and_nothing_beyond_loopback(
    topology: Topology, open_page: OpenPage
) -> None:
    watched = open_page()
    watched.live()
    expect(watched.page.locator("#diag-problem")).to_have_text("No problems so far.")
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert {urlsplit(url).hostname for url in watched.urls} == {"127.0.0.1"}, watched.urls
    # The SignalR client came from the backend, not from a CDN.
    assert f"{topology.backend_url}/dashboard/vendor/signalr.min.js" in watched.urls


def test_a_detector_signal_appears_within_one_second_and_heats_the_map(
    topology: Topology, open_page: OpenPage, output_dir: Path
) -> None:
    watched = open_page()
    page = watched.page
    watched.live()
    assert watched.heat_pixels("#heat-calls") == watched.heat_pixels("#heat-puts") == 0
    market_history(topology.hub)
    expect(page.locator("#feed li")).to_have_count(4)

    topology.feed.surge((0, 1, Right.CALL, 1000))
    expect(page.locator("#feed li")).to_have_count(5)
    raised = newest_row(page).locator("time").get_attribute("datetime")
    assert raised is not None
    signal_id = newest_row(page).get_attribute("data-signal-id")
    assert signal_id is not None
    shown = watched.row_shown_ms(signal_id)
    assert shown is not None
    delay_ms = shown - datetime.fromisoformat(raised).timestamp() * 1000
    # From the detector's created_at to the row on the page: about 30 ms here (scoring, REST
    # send, service, Toxiproxy, WebSocket, one animation frame), some 30 times under the SLO.
    assert 0 <= delay_ms < SIGNAL_SLO_MS, f"{delay_ms:.0f} ms"

    expect(newest_row(page)).to_contain_text("volume surge")
    expect(newest_row(page)).to_contain_text(re.compile(r"BUY|SELL"))
    assert watched.heat_pixels("#heat-calls") > 0
    assert watched.heat_pixels("#heat-puts") > 0
    expect(page.locator("#price-last")).to_contain_text(" at ")
    expect(page.locator("#latency-p99")).to_contain_text("ms")
    expect(page.locator("#price-chart")).to_have_attribute(
        "aria-label", re.compile(r"^SPY price \d")
    )
    page.screenshot(path=output_dir / "dashboard-desktop.png", full_page=True)
    assert watched.console_errors == []
    assert watched.page_errors == []


def test_malformed_and_duplicate_messages_are_counted_and_ignored(
    topology: Topology, open_page: OpenPage
) -> None:
    watched = open_page()
    page = watched.page
    watched.live()
    good = detector_signals([(0, 3, Right.PUT, 900)], datetime.now(UTC))[0]
    body = good.model_dump(mode="json")
    now = datetime.now(UTC).isoformat()
    hub = topology.hub
    hub.send("signal", "not an object")
    hub.send("signal", {**body, "score": "very high"})
    hub.send("signal", {**body, "contract": {**body["contract"], "right": "X"}})
    hub.send("signal", body, body)
    hub.send("quote", {"symbol": "SPY", "price": -1, "at": now})
    hub.send("latency", {"p50_ms": 5})
    hub.signal(good)
    hub.signal(good)  # re-published: the same id is the same signal

    expect(row(page, good.id)).to_have_count(1)
    expect(page.locator("#diag-malformed")).to_have_text("6")
    expect(page.locator("#diag-duplicates")).to_have_text("1")
    expect(page.locator("#diag-received")).to_have_text("8")
    expect(page.locator("#diag-problem")).to_contain_text("malformed 'latency' message ignored")
    expect(page.locator("#price-last")).to_have_text("—")
    expect(page.locator("#link-state")).to_have_text("live")
    assert watched.page_errors == []
    assert watched.console_errors == []


def test_an_expired_token_makes_the_page_negotiate_again(
    topology: Topology, open_page: OpenPage
) -> None:
    def expired_answer(route: Route) -> None:
        route.fulfill(json=topology.expired_negotiation())

    def first_token_expired(page: Page) -> None:
        page.route("**/api/negotiate*", expired_answer, times=1)  # then the backend answers

    # The service refuses the expired token (401): the page negotiates a fresh one.
    watched = open_page(before=first_token_expired)
    page = watched.page
    watched.live()
    assert watched.negotiations() == 2
    expect(page.locator("#diag-problem")).to_contain_text("401")

    # The service ends a connection whose token expired: the page negotiates again.
    topology.drop_clients("The access token expired.")
    expect(page.locator("#diag-reconnects")).to_have_text("1")
    watched.live()
    assert watched.negotiations() == 3
    topology.feed.surge((1, -2, Right.PUT, 800))
    expect(page.locator("#feed li")).to_have_count(1)
    assert watched.page_errors == []


def test_after_a_vpn_outage_the_page_shows_reconnecting_then_live_again(
    topology: Topology, open_page: OpenPage, output_dir: Path
) -> None:
    watched = open_page()
    page = watched.page
    watched.live()

    start_outage(topology.toxiproxy, [SIGNALR_LINK])
    try:
        expect(page.locator("#link-state")).to_have_text("reconnecting", timeout=OUTAGE_NOTICED_MS)
        page.screenshot(path=output_dir / "dashboard-reconnecting.png")
    finally:
        end_outage(topology.toxiproxy, [SIGNALR_LINK])
    watched.live(timeout_ms=30_000)

    # Resubscribed: what the detector raises now reaches the page.
    topology.feed.surge((2, 1, Right.CALL, 700))
    expect(page.locator("#feed li")).to_have_count(1)
    expect(page.locator("#diag-reconnects")).to_have_text("1")
    assert watched.page_errors == []


# WCAG contrast of every rendered text, faded by its opacity, against the first opaque
# background behind it.
LOW_CONTRAST_TEXT = """() => {
    const rgb = (colour) => colour.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
        const linear = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const background = (element) => {
        for (let e = element; e; e = e.parentElement) {
            const colour = rgb(getComputedStyle(e).backgroundColor);
            if (colour.length === 3 || colour[3] === 1) return colour;
        }
        return [255, 255, 255];
    };
    const low = [];
    for (const element of document.querySelectorAll("body *")) {
        const hasText = [...element.childNodes]
            .some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
        if (!hasText || !element.getClientRects().length) continue;
        let opacity = 1;
        for (let e = element; e; e = e.parentElement) opacity *= getComputedStyle(e).opacity;
        const behind = background(element);
        const text = rgb(getComputedStyle(element).color)
            .slice(0, 3)
            .map((c, i) => opacity * c + (1 - opacity) * behind[i]);
        const [a, b] = [luminance(text), luminance(behind)];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const name = `${element.tagName}#${element.id}.${element.className}`;
        if (ratio < 4.5) low.push(`${name}: ${ratio.toFixed(2)}`);
    }
    return low;
}"""


def test_controls_are_labelled_and_text_is_readable(
    topology: Topology, open_page: OpenPage
) -> None:
    # No API key yet: the backend refuses the negotiate, and the page asks for the key.
    watched = open_page(with_key=False)
    page = watched.page
    key = page.get_by_label("The backend asks for an API key")
    expect(key).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("offline")
    assert page.evaluate(LOW_CONTRAST_TEXT) == []
    key.fill(topology.api_key)
    page.get_by_role("button", name="Use this key").click()
    watched.live()
    expect(key).to_be_hidden()

    page.get_by_role("combobox", name="Chart window").select_option(label="1 hour")
    for name in ("SPY price", "Call anomaly scores", "Put anomaly scores", "latency"):
        expect(page.get_by_role("img", name=re.compile(name))).to_be_visible()
    expired = detector_signals([(1, 2, Right.CALL, 900)], datetime.now(UTC) - timedelta(minutes=5))
    topology.hub.signal(expired[0])
    topology.feed.surge((0, -2, Right.PUT, 900))
    # Said in words, not by colour alone (in CSS, so what assistive technology reads).
    expect(page.locator("#feed li.expired")).to_match_aria_snapshot(
        "- listitem:\n  - time: /expired/"
    )
    expect(page.locator("#feed li:not(.expired)")).to_have_count(1)
    assert page.evaluate(LOW_CONTRAST_TEXT) == []

    # Offline for another reason, the page offers to reconnect at once.
    topology.drop_clients("The access token expired.")
    expect(page.get_by_role("button", name="Reconnect now")).to_be_visible()
    page.get_by_role("button", name="Reconnect now").click()
    watched.live()


def test_on_a_phone_the_page_fits_the_screen_and_draws_sharply(
    topology: Topology, open_page: OpenPage, output_dir: Path
) -> None:
    watched = open_page(width=390, height=844, scale=3)
    page = watched.page
    watched.live()
    market_history(topology.hub, minutes=5)
    topology.feed.surge((0, 2, Right.CALL, 900), (1, -3, Right.PUT, 1200))
    expect(page.locator("#feed li")).to_have_count(6)

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sizes = page.evaluate(
        """() => [...document.querySelectorAll("canvas")].map((c) => {
            const box = c.getBoundingClientRect();
            return [c.id, box.width, c.width, box.right];
        })"""
    )
    for name, css_width, pixel_width, right in sizes:
        assert 0 < right <= 390, name
        assert pixel_width == round(css_width * 3), f"{name}: not drawn at devicePixelRatio 3"
    assert watched.heat_pixels("#heat-calls") > 0
    page.screenshot(path=output_dir / "dashboard-phone.png", full_page=True)
    assert watched.console_errors == []
