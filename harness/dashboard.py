"""The dashboard in a real browser (harness/browser.py), and what a test or scenario reads off
the page (system/dashboard/site)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

API_KEY_STORAGE = "spyh.dashboard.apiKey"  # where site/api-key.js keeps the operator's key

# What the page did and when, on its own clock (epoch ms): each feed row's first appearance by
# signal id, and each connection state it showed, however briefly.
_RECORDER = """
window.rowsShown = {};
window.linkStates = [];
new MutationObserver(() => {
    for (const row of document.querySelectorAll("#feed li")) {
        window.rowsShown[row.dataset.signalId] ??= Date.now();
    }
    const state = document.querySelector("#link-state")?.textContent;
    if (state && state !== window.linkStates.at(-1)?.[0]) {
        window.linkStates.push([state, Date.now()]);
    }
}).observe(document, { childList: true, subtree: true, characterData: true });
"""

# How many pixels of a canvas are coloured like heat: plasma is saturated at every level, while
# the empty grid, labels and background are greys.
_HEAT_PIXELS = """(selector) => {
    const canvas = document.querySelector(selector);
    const { width, height } = canvas;
    const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    let hot = 0;
    for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 80) hot += 1;
    }
    return hot;
}"""


@dataclass
class DashboardPage:
    """The page, and everything it did that a test may want to hold against it."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # every request and WebSocket

    def negotiations(self) -> int:
        return sum("/api/negotiate" in url for url in self.urls)

    def live(self, timeout_ms: float = 10_000) -> None:
        expect(self.page.locator("#link-state")).to_have_text("live", timeout=timeout_ms)

    def row_shown_ms(self, signal_id: str) -> float | None:
        """When the feed row of this signal first appeared (epoch ms), if it did."""
        shown = self.page.evaluate("(id) => window.rowsShown[id]", signal_id)
        return None if shown is None else float(shown)

    def link_states(self) -> list[tuple[str, float]]:
        """Every connection state the page showed, in order, with when (epoch ms)."""
        return [(str(state), float(at)) for state, at in self.page.evaluate("window.linkStates")]

    def heat_pixels(self, canvas: str) -> int:
        return int(self.page.evaluate(_HEAT_PIXELS, canvas))


def open_dashboard(
    browser: Browser,
    url: str,
    api_key: str | None,
    width: int = 1440,
    height: int = 900,
    scale: float = 1,
    before: Callable[[Page], Any] = lambda page: None,
) -> DashboardPage:
    """The dashboard at `url` in a fresh browser context (closed with the browser, or by the
    caller through `page.context`). With a key, the operator entered the backend's API key
    earlier in this tab; `before(page)` runs before the page loads (to route requests, say)."""
    phone = width < 700
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=scale,
        is_mobile=phone,
        has_touch=phone,
    )
    if api_key is not None:
        context.add_init_script(f"sessionStorage.setItem({API_KEY_STORAGE!r}, {api_key!r})")
    context.add_init_script(_RECORDER)
    dashboard = DashboardPage(context.new_page())
    page = dashboard.page

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            dashboard.console_errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: dashboard.page_errors.append(str(error)))
    page.on("request", lambda request: dashboard.urls.append(request.url))
    page.on("websocket", lambda socket: dashboard.urls.append(socket.url))
    before(page)
    page.goto(url)
    return dashboard
