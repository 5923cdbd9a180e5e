"""The dashboard's local topology, started as real processes: Toxiproxy, the SignalR service fake
behind a Toxiproxy link (the browser's route to the service), and the backend stand-in serving
the page and the negotiate; plus Debian's Chromium, driven by Playwright, kept on loopback."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from harness import components
from harness.ports import free_port
from harness.process import ProcessSpec, http, log_line, running
from harness.toolchain import CHROMIUM, ROOT, tool_path
from harness.topology import Link, Use
from harness.toxiproxy import Toxiproxy
from tests.integration.dashboard.hub import HubRest

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
SIGNALR_LINK = Link("signalr-http", Use("signalr", "http"), server_side="cloud")


@dataclass
class Topology:
    signalr_url: str  # the service's endpoint, as the backend reaches it
    toxiproxy: Toxiproxy
    hub: HubRest
    backend_url: str  # the stand-in serving the page and handing out good tokens
    start_backend: Callable[..., str]  # another stand-in: (expired_tokens=0) -> its base URL

    def drop_clients(self, error: str) -> None:
        """The service ends every client connection for good, as it does when a token expires."""
        body = {"mode": "close", "error": error, "allowReconnect": False}
        httpx.post(f"{self.signalr_url}/admin/faults/drop", json=body).raise_for_status()


def _standin(
    port: int, endpoint: str, client_endpoint: str, access_key: str, expired_tokens: int
) -> ProcessSpec:
    return ProcessSpec(
        name=f"backend-standin-{port}",
        argv=[
            sys.executable,
            "-m",
            "tests.integration.dashboard.standin_backend",
            f"--port={port}",
            f"--endpoint={endpoint}",
            f"--client-endpoint={client_endpoint}",
            f"--access-key={access_key}",
            f"--expired-tokens={expired_tokens}",
        ],
        cwd=ROOT,
        ready=http(f"http://127.0.0.1:{port}/dashboard/"),
    )


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots and logs: into the run folder when `spyh` gives one, else pytest's tmp."""
    run_dir = os.environ.get("SPYH_RUN_DIR")
    folder = Path(run_dir) / "dashboard" if run_dir else tmp_path_factory.mktemp("dashboard")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def topology(output_dir: Path) -> Iterator[Topology]:
    log_dir = output_dir / "logs"
    access_key = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        api_port, signalr_port = free_port(), free_port()
        stack.enter_context(running(components.toxiproxy(api_port), log_dir))
        signalr = ProcessSpec(
            name="signalr",
            argv=[
                sys.executable,
                "-m",
                "fakes.signalr",
                f"--port={signalr_port}",
                f"--access-key={access_key}",  # one argument: a key may begin with "-"
            ],
            cwd=ROOT,
            ready=log_line(r"^Endpoint=http://127\.0\.0\.1:\d+;"),
        )
        stack.enter_context(running(signalr, log_dir))
        toxiproxy = Toxiproxy(api_port)
        stack.callback(toxiproxy.close)
        proxy = toxiproxy.create_proxy(SIGNALR_LINK.name, f"127.0.0.1:{signalr_port}")
        endpoint = f"http://127.0.0.1:{signalr_port}"
        client_endpoint = f"http://127.0.0.1:{proxy.listen_port}"
        hub = HubRest(endpoint, access_key)
        stack.callback(hub.close)

        def start_backend(expired_tokens: int = 0) -> str:
            port = free_port()
            spec = _standin(port, endpoint, client_endpoint, access_key, expired_tokens)
            stack.enter_context(running(spec, log_dir))
            return f"http://127.0.0.1:{port}"

        yield Topology(endpoint, toxiproxy, hub, start_backend(), start_backend)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (never a downloaded one), in a fresh temporary profile."""
    chromium = playwright.chromium.launch(
        executable_path=str(tool_path(CHROMIUM)), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@dataclass
class Watched:
    """A page and everything it did that a test may want to hold against it."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # every request and WebSocket

    def open(self, base_url: str) -> None:
        self.page.goto(f"{base_url}/dashboard/")

    def negotiations(self) -> int:
        return sum("/api/negotiate" in url for url in self.urls)


def watch(page: Page) -> Watched:
    watched = Watched(page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    page.on("request", lambda request: watched.urls.append(request.url))
    page.on("websocket", lambda socket: watched.urls.append(socket.url))
    return watched


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Watched]]:
    """A fresh browser context per page: (viewport width, height, devicePixelRatio) -> page."""
    contexts = []

    def open_page(width: int = 1440, height: int = 900, scale: float = 1) -> Watched:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=scale,
            is_mobile=width < 700,
            has_touch=width < 700,
        )
        contexts.append(context)
        return watch(context.new_page())

    yield open_page
    for context in contexts:
        context.close()
