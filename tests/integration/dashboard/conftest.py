"""The dashboard's part of the local topology, as real processes on 127.0.0.1: the backend
(python -m system.services.backend, serving the page at /dashboard and the negotiate) with its
Azurite, Key Vault and SignalR fakes, the browser's route to the SignalR service through a
Toxiproxy link (the connection string's ClientEndpoint), and Debian's Chromium under Playwright,
kept on loopback."""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from playwright.sync_api import Browser

from harness import components
from harness.browser import chromium
from harness.dashboard import DashboardPage, open_dashboard
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, running
from harness.toolchain import ROOT
from harness.topology import Link, Use
from harness.toxiproxy import Toxiproxy
from tests.integration.dashboard.hub import HubRest, MarketFeed

SIGNALR_LINK = Link("signalr-http", Use("signalr", "http"), server_side="cloud")
HUB = "signals"  # the backend's SPY_BACKEND_SIGNALR_HUB default


@dataclass
class Topology:
    backend_url: str
    api_key: str
    feed: MarketFeed  # the market the backend's detector reads
    hub: HubRest  # sends to the backend's hub, as the backend does
    toxiproxy: Toxiproxy
    signalr_url: str  # the service's endpoint, as the backend reaches it
    client_url: str  # the hub's client URL, as browsers reach it: through the link
    access_key: str = field(repr=False)

    def drop_clients(self, error: str) -> None:
        """The service ends every client connection for good, as it does when a token expires."""
        body = {"mode": "close", "error": error, "allowReconnect": False}
        httpx.post(f"{self.signalr_url}/admin/faults/drop", json=body).raise_for_status()

    def expired_negotiation(self) -> dict[str, str]:
        """A negotiate answer whose token expired a minute ago."""
        now = int(time.time())
        claims = {"aud": f"{self.signalr_url}/client/?hub={HUB}", "iat": now - 120, "exp": now - 60}
        return {"url": self.client_url, "accessToken": jwt.encode(claims, self.access_key.encode())}


def _python(name: str, *argv: str, ready: str, env: dict[str, str] | None = None) -> ProcessSpec:
    return ProcessSpec(
        name, [sys.executable, "-m", *argv], log_line(ready), env=env or {}, cwd=ROOT
    )


def _printed(proc: RunningProcess, pattern: str) -> re.Match[str]:
    found = re.search(pattern, proc.log_text(), re.MULTILINE)
    assert found, proc.log_tail()
    return found


def _seed_vault(url: str, ca_file: str, identity: dict[str, str], values: dict[str, str]) -> None:
    """The secrets as a deployment pipeline puts them in Key Vault, with the managed identity."""
    saved = {name: os.environ.get(name) for name in identity}
    os.environ.update(identity)
    try:
        with SecretClient(
            url,
            ManagedIdentityCredential(),
            connection_verify=ca_file,
            verify_challenge_resource=False,
        ) as client:
            for name, secret in values.items():
                client.set_secret(name, secret)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots and logs: into the run folder when `spyh` gives one, else pytest's tmp."""
    run_dir = os.environ.get("SPYH_RUN_DIR")
    folder = Path(run_dir) / "dashboard" if run_dir else tmp_path_factory.mktemp("dashboard")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def topology(output_dir: Path) -> Iterator[Topology]:
    logs = output_dir / "logs"
    access_key, api_key = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with ExitStack() as stack:
        toxiproxy_port, azurite_port, signalr_port = free_port(), free_port(), free_port()
        stack.enter_context(running(components.toxiproxy(toxiproxy_port), logs))
        stack.enter_context(running(components.azurite(azurite_port, logs / "azurite"), logs))
        stack.enter_context(
            running(
                _python(
                    "signalr",
                    "fakes.signalr",
                    f"--port={signalr_port}",
                    f"--access-key={access_key}",  # one argument: a key may begin with "-"
                    ready=r"^Endpoint=",
                ),
                logs,
            )
        )
        keyvault = stack.enter_context(
            running(
                _python(
                    "keyvault",
                    "fakes.keyvault",
                    "--port=0",
                    f"--cert-dir={logs / 'keyvault'}",
                    ready=r"^keyvault ready",
                ),
                logs,
            )
        )
        vault = _printed(
            keyvault,
            r"keyvault ready (\S+) ca_file=(\S+) identity_endpoint=(\S+) identity_header=(\S+)",
        )
        identity = {"IDENTITY_ENDPOINT": vault[3], "IDENTITY_HEADER": vault[4]}

        toxiproxy = Toxiproxy(toxiproxy_port)
        stack.callback(toxiproxy.close)
        proxy = toxiproxy.create_proxy(SIGNALR_LINK.name, f"127.0.0.1:{signalr_port}")
        signalr_url = f"http://127.0.0.1:{signalr_port}"
        client_endpoint = f"http://127.0.0.1:{proxy.listen_port}"
        _seed_vault(
            vault[1],
            vault[2],
            identity,
            {
                "backend-api-keys": api_key,
                "signalr-connection-string": f"Endpoint={signalr_url};"
                f"ClientEndpoint={client_endpoint};AccessKey={access_key};Version=1.0;",
                "tables-connection-string": components.azurite_connection_string(azurite_port),
            },
        )

        feed = MarketFeed(logs / "chain.jsonl")
        env = {
            **identity,
            "SPY_BACKEND_PORT": "0",
            "SPY_BACKEND_LOG_LEVEL": "warning",
            "SPY_BACKEND_KEYVAULT_URL": vault[1],
            "SPY_BACKEND_KEYVAULT_CA_FILE": vault[2],
            "SPY_BACKEND_KEYVAULT_VERIFY_CHALLENGE_RESOURCE": "false",
            "SPY_BACKEND_MARKET_SOURCE": "replay",
            "SPY_BACKEND_REPLAY_FILE": str(feed.path),
            "SPY_BACKEND_REPLAY_INTERVAL_S": "0",
            "SPY_BACKEND_REPLAY_FOLLOW": "true",
            "SPY_BACKEND_TELEMETRY": "none",
        }
        backend = stack.enter_context(
            running(
                _python("backend", "system.services.backend", ready=r"^backend ready on ", env=env),
                logs,
            )
        )
        hub = HubRest(signalr_url, access_key, HUB)
        stack.callback(hub.close)
        yield Topology(
            backend_url=_printed(backend, r"^backend ready on (http://\S+)")[1],
            api_key=api_key,
            feed=feed,
            hub=hub,
            toxiproxy=toxiproxy,
            signalr_url=signalr_url,
            client_url=f"{client_endpoint}/client/?hub={HUB}",
            access_key=access_key,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


OpenPage = Callable[..., DashboardPage]


@pytest.fixture
def open_page(browser: Browser, topology: Topology) -> Iterator[OpenPage]:
    """The dashboard in a fresh browser context: (width, height, scale, with_key, before) ->
    page, as `harness.dashboard.open_dashboard` opens it, with the backend's key or without."""
    pages: list[DashboardPage] = []

    def open_page(with_key: bool = True, **options: Any) -> DashboardPage:
        key = topology.api_key if with_key else None
        pages.append(open_dashboard(browser, f"{topology.backend_url}/dashboard/", key, **options))
        return pages[-1]

    yield open_page
    for page in pages:
        page.page.context.close()
