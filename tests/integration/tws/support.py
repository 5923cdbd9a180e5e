"""The simulator as a real subprocess (started through its CLI), plus a raw-socket client for
the inputs no real client library would ever send."""

from __future__ import annotations

import itertools
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from fakes.tws.wire import FrameDecoder, encode_message, frame, split_fields
from harness.ports import LOOPBACK, free_port
from harness.process import ProcessSpec, RunningProcess, log_line, running

REPO = Path(__file__).resolve().parents[3]
SEED = 7
T = TypeVar("T")
_client_ids = itertools.count(100)


def next_client_id() -> int:
    """Every test connection gets its own client id (a reused one would earn error 326)."""
    return next(_client_ids)


@dataclass
class Sim:
    proc: RunningProcess
    port: int
    admin: str
    state_file: Path

    def get(self, path: str) -> Any:
        response = httpx.get(self.admin + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.post(self.admin + path, json=body or {}, timeout=30)


@contextmanager
def simulator(log_dir: Path, state_file: Path, *extra: str, name: str = "tws") -> Iterator[Sim]:
    port, admin_port = free_port(), free_port()
    argv = [
        sys.executable, "-m", "fakes.tws", "--host", LOOPBACK, "--port", str(port),
        "--admin-port", str(admin_port), "--seed", str(SEED), "--state-file", str(state_file),
        "--tick-interval", "0.05", *extra,
    ]  # fmt: skip
    spec = ProcessSpec(name=name, argv=argv, ready=log_line(r"^fakes\.tws ready"), cwd=REPO)
    with running(spec, log_dir) as proc:
        yield Sim(proc, port, f"http://{LOOPBACK}:{admin_port}", state_file)


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = 10.0) -> T:
    """Poll until the probe returns something truthy; a bound for failing, not a timing check."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class RawClient:
    """A hand-driven API socket: handshake, startApi, then arbitrary bytes and messages."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((LOOPBACK, port), timeout=5)
        self._frames = FrameDecoder()
        self._pending: list[list[str]] = []

    def handshake(self, versions: bytes = b"v100..157") -> list[str]:
        self.sock.sendall(b"API\0" + frame(versions))
        return self.next_message()

    def start(self, client_id: int, capabilities: str = "") -> None:
        self.handshake()
        self.send([71, 2, client_id, capabilities])

    def send(self, fields: list[Any]) -> None:
        self.sock.sendall(encode_message(fields))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_message(self) -> list[str]:
        while not self._pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the simulator")
            self._pending += [split_fields(p) for p in self._frames.feed(data)]
        return self._pending.pop(0)

    def wait_for(self, match: Callable[[list[str]], bool]) -> list[str]:
        while True:
            fields = self.next_message()
            if match(fields):
                return fields

    def closed_by_peer(self) -> bool:
        """True once the simulator closed the socket (messages still in flight are drained);
        False if it stays open and silent for the socket timeout."""
        try:
            while True:
                self.next_message()
        except TimeoutError:
            return False
        except OSError:  # ConnectionError included: closed or reset by the simulator
            return True

    def close(self) -> None:
        self.sock.close()


def error_with(code: int) -> Callable[[list[str]], bool]:
    return lambda fields: fields[0] == "4" and fields[3] == str(code)


def length_prefix(size: int) -> bytes:
    return struct.pack(">I", size)
