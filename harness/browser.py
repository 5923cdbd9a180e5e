"""Debian's Chromium under Playwright (never a downloaded browser), kept on loopback: for the
dashboard's tests and scenario and for checking the rendered report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

from harness.toolchain import CHROMIUM, tool_path

# Chromium stays on loopback: no background services, no QUIC, no first-run or component traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (never a downloaded one), in a fresh temporary profile, closed after."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(tool_path(CHROMIUM)), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
