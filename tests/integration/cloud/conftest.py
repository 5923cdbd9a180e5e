"""The cloud side's real neighbours as processes: Azurite, the SignalR and Key Vault fakes, and
the backend itself (python -m system.services.backend), all on 127.0.0.1."""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from harness import components
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, running, start
from system.adapters.market_replay import encode
from system.detector.config import DetectorConfig
from system.detector.synthetic import QuietChain
from system.domain.market import ChainSnapshot

API_KEY = "integration-key-" + secrets.token_hex(8)
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
WARM_UP = DetectorConfig().baseline_window + 1


@dataclass
class Cloud:
    log_dir: Path
    azurite: RunningProcess
    azurite_port: int
    signalr_connection: str
    signalr_url: str
    vault_url: str
    ca_file: str
    identity_env: dict[str, str]

    def restart_azurite(self) -> None:
        self.azurite = start(
            components.azurite(self.azurite_port, self.log_dir / "azurite"), self.log_dir
        )


def _ready(proc: RunningProcess, pattern: str) -> re.Match[str]:
    found = re.search(pattern, proc.log_text())
    assert found, proc.log_tail()
    return found


def _python(name: str, *args: str, ready: str, env: dict[str, str] | None = None) -> ProcessSpec:
    return ProcessSpec(
        name=name, argv=[sys.executable, "-m", *args], ready=log_line(ready), env=env or {}
    )


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    logs = tmp_path_factory.mktemp("cloud")
    azurite_port = free_port()
    access_key = secrets.token_urlsafe(24)
    with (
        running(components.azurite(azurite_port, logs / "azurite"), logs) as azurite,
        running(
            _python(
                "signalr",
                "fakes.signalr",
                "--port",
                "0",
                "--access-key",
                access_key,
                ready=r"^Endpoint=",
            ),
            logs,
        ) as signalr,
        running(
            _python(
                "keyvault",
                "fakes.keyvault",
                "--port",
                "0",
                "--cert-dir",
                str(logs / "certs"),
                ready=r"^keyvault ready",
            ),
            logs,
        ) as keyvault,
    ):
        connection = _ready(signalr, r"^(Endpoint=.*)$")[1].strip()
        vault = _ready(
            keyvault,
            r"keyvault ready (\S+) ca_file=(\S+) identity_endpoint=(\S+) identity_header=(\S+)",
        )
        identity = {"IDENTITY_ENDPOINT": vault[3], "IDENTITY_HEADER": vault[4]}
        cloud = Cloud(
            log_dir=logs,
            azurite=azurite,
            azurite_port=azurite_port,
            signalr_connection=connection,
            signalr_url=re.search(r"Endpoint=([^;]+)", connection)[1],  # type: ignore[index]
            vault_url=vault[1],
            ca_file=vault[2],
            identity_env=identity,
        )
        _seed_vault(cloud)
        yield cloud
        cloud.azurite.stop()


def _seed_vault(cloud: Cloud) -> None:
    saved = {k: os.environ.get(k) for k in cloud.identity_env}
    os.environ.update(cloud.identity_env)
    try:
        client = SecretClient(
            cloud.vault_url,
            ManagedIdentityCredential(),
            connection_verify=cloud.ca_file,
            verify_challenge_resource=False,
        )
        client.set_secret("backend-api-keys", f"old-key-{secrets.token_hex(4)}, {API_KEY}")
        client.set_secret("signalr-connection-string", cloud.signalr_connection)
        client.set_secret(
            "tables-connection-string", components.azurite_connection_string(cloud.azurite_port)
        )
        client.close()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class ChainFeed:
    """The replay file a backend follows: tests append snapshots when they choose."""

    def __init__(self, path: Path, seed: int = 1) -> None:
        self.path = path
        self.chain = QuietChain(expiries=2, strikes=20, seed=seed)
        self._count = 0
        path.write_text("")

    def next(self) -> ChainSnapshot:
        snapshot = self.chain.next(START + timedelta(seconds=self._count))
        self._count += 1
        return snapshot

    def append(self, *snapshots: ChainSnapshot) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            for snapshot in snapshots:
                file.write(encode(snapshot) + "\n")

    def append_quiet(self, count: int) -> None:
        self.append(*(self.next() for _ in range(count)))

    def append_raw(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


@dataclass
class Backend:
    proc: RunningProcess
    url: str
    feed: ChainFeed
    table: str
    hub: str
    quotes: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[dict[str, Any]] = field(default_factory=list)

    def client(self, key: str | None = API_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


def service_env(
    cloud: Cloud, feed: ChainFeed, table: str, hub: str, prefix: str = "SPY_BACKEND_"
) -> dict[str, str]:
    """The settings a cloud service (the backend, or the detector under SPY_DETECTOR_) runs
    with here: the fakes, Azurite, and `feed` as its market data."""
    settings = {
        "PORT": "0",
        "KEYVAULT_URL": cloud.vault_url,
        "KEYVAULT_CA_FILE": cloud.ca_file,
        "KEYVAULT_VERIFY_CHALLENGE_RESOURCE": "false",
        "MARKET_SOURCE": "replay",
        "REPLAY_FILE": str(feed.path),
        "REPLAY_INTERVAL_S": "0",
        "REPLAY_FOLLOW": "true",
        "ANOMALIES_TABLE": table,
        "SIGNALR_HUB": hub,
        "TELEMETRY": "file",
        "TELEMETRY_DIR": str(feed.path.parent / "telemetry"),
        "RETRY_MAX_S": "0.5",
        "READY_TIMEOUT_S": "1",
        "SHUTDOWN_GRACE_S": "4",
    }
    return {**cloud.identity_env, **{prefix + name: value for name, value in settings.items()}}


def start_backend(cloud: Cloud, folder: Path, name: str, **env: str) -> Backend:
    feed = ChainFeed(folder / f"{name}.chain.jsonl")
    table, hub = f"anomalies{secrets.token_hex(4)}", f"hub{secrets.token_hex(4)}"
    spec = _python(
        name,
        "system.services.backend",
        ready=r"backend ready on http://127\.0\.0\.1:\d+",
        env={**service_env(cloud, feed, table, hub), **env},
    )
    proc = start(spec, folder)
    url = _ready(proc, r"backend ready on (http://127\.0\.0\.1:\d+)")[1]
    return Backend(proc, url, feed, table, hub)


def start_detector(cloud: Cloud, folder: Path, beside: Backend) -> tuple[RunningProcess, str]:
    """The detector service on `beside`'s market data, table and hub; its process and URL."""
    spec = _python(
        "detector",
        "system.services.detector",
        ready=r"detector ready on http://127\.0\.0\.1:\d+",
        env=service_env(cloud, beside.feed, beside.table, beside.hub, "SPY_DETECTOR_"),
    )
    proc = start(spec, folder)
    return proc, _ready(proc, r"detector ready on (http://127\.0\.0\.1:\d+)")[1]


@pytest.fixture
def backend(cloud: Cloud, tmp_path: Path) -> Iterator[Backend]:
    started = start_backend(cloud, tmp_path, "backend")
    yield started
    started.proc.stop()
