"""Starting a notification fake as a real subprocess and talking to its admin surface."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.ports import free_port
from harness.process import ProcessSpec, log_line, running

ROOT = Path(__file__).resolve().parents[3]
API_KEY = "SG.fake-api-key"
TOKEN = "123456:fake-bot-secret"


@dataclass(frozen=True)
class Fake:
    url: str

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, f"{self.url}/__admin{path}", **kwargs)
        response.raise_for_status()
        return response

    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.admin("GET", "/messages").json()["messages"]
        return messages

    def reset(self) -> "Fake":
        self.admin("DELETE", "/faults")
        self.admin("DELETE", "/messages")
        return self


@contextmanager
def fake_process(name: str, log_dir: Path, *args: str) -> Iterator[Fake]:
    port = free_port()
    argv = [sys.executable, "-m", f"fakes.{name}", "--port", str(port), *args]
    spec = ProcessSpec(name, argv, log_line(rf"^{name} ready "), cwd=ROOT)
    with running(spec, log_dir):
        yield Fake(f"http://127.0.0.1:{port}")
