"""The fake as a real subprocess on a free loopback port, a stand-in for the backend's own
/api/negotiate, and helpers that speak the REST API with tokens built as a backend builds them."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from fakes.signalr.auth import issue_token
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, running
from tests.integration.signalr.backend import Backend

REPO = Path(__file__).resolve().parents[3]
KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh"
HUB = "chat"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = 15.0) -> T:
    """Poll until the probe returns something truthy; a bound for failing, not a timing check."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Fake:
    proc: RunningProcess
    endpoint: str
    connection_string: str

    def rest(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Call the data-plane API with a token for exactly this URL (query left out, as the
        docs build it)."""
        url = f"{self.endpoint}{path}"
        audience = url.split("?")[0]
        auth = {"Authorization": f"Bearer {token or issue_token(KEY, audience)}"}
        return httpx.request(
            method, url, json=body, content=content, headers={**auth, **(headers or {})}
        )

    def send(self, path: str, target: str, *arguments: Any) -> None:
        response = self.rest("POST", path, {"target": target, "arguments": list(arguments)})
        assert response.status_code == 202, response.text

    def client_token(self, hub: str = HUB, user: str | None = None) -> str:
        return issue_token(KEY, f"{self.endpoint}/client/?hub={hub}", user_id=user)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.endpoint}/admin/{path}", json=body)
        assert response.is_success, response.text
        return response.json()

    def connections(self, user: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.admin("GET", "connections")["connections"]
        return [c for c in found if user is None or c["userId"] == user]

    def connection_of(self, user: str, other_than: str | None = None) -> str:
        """The id of the user's (one) connection, waiting for it to appear."""

        def probe() -> str | None:
            ids = [c["connectionId"] for c in self.connections(user)]
            return next((i for i in ids if i != other_than), None)

        return eventually(probe, f"a connection of {user}")


@contextmanager
def start_fake(log_dir: Path, *options: str) -> Iterator[Fake]:
    port = free_port()
    argv = [sys.executable, "-m", "fakes.signalr", "--port", str(port), "--access-key", KEY]
    spec = ProcessSpec(
        name=f"signalr-{port}",
        argv=[*argv, *options],
        ready=log_line(r"^Endpoint=http://"),
        cwd=REPO,
        start_timeout_s=20,
    )
    with running(spec, log_dir) as proc:
        found = re.search(r"^(Endpoint=(http://[^;]+);.*)$", proc.log_text(), re.MULTILINE)
        assert found, proc.log_tail()
        yield Fake(proc, found.group(2), found.group(1))


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    # Short keep-alive so the keep-alive is seen in tests; clients ping often enough for the
    # client timeout not to bite.
    with start_fake(tmp_path_factory.mktemp("signalr"), "--keepalive", "1") as running_fake:
        yield running_fake


@pytest.fixture(scope="module")
def backend(fake: Fake) -> Iterator[Backend]:
    with Backend.running(fake.endpoint, KEY) as app:
        yield app


RECORD = "\x1e"
TIMEOUT_S = 15


class RawClient:
    """A hand-driven JSON hub-protocol client for what the libraries never send."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    def send(self, *records: str) -> None:
        self.socket.send("".join(r + RECORD for r in records))

    def next_message(self, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
        """The next message other than a ping."""
        while True:
            frame = self.socket.recv(timeout=timeout_s)
            text = frame.decode() if isinstance(frame, bytes) else frame
            for record in text.split(RECORD)[:-1]:
                message: dict[str, Any] = json.loads(record)
                if message["type"] != 6:
                    return message

    def closed_with(self) -> int | None:
        """Read until the service closes the socket; its close code."""
        try:
            while True:
                self.socket.recv(timeout=TIMEOUT_S)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def open_socket(url: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(
        url.replace("http://", "ws://"),
        additional_headers=headers,
        proxy=None,
        compression=None,
        ping_interval=None,
        open_timeout=TIMEOUT_S,
    )


@contextmanager
def raw_client(
    fake: Fake, hub: str, user: str | None = None, query: str = "", handshake: bool = True
) -> Iterator[RawClient]:
    headers = {"Authorization": f"Bearer {fake.client_token(hub, user)}"}
    with open_socket(f"{fake.endpoint}/client/?hub={hub}{query}", headers) as socket:
        client = RawClient(socket)
        if handshake:
            client.send('{"protocol":"json","version":1}')
            assert socket.recv(timeout=TIMEOUT_S) == "{}" + RECORD
        yield client
