"""The Key Vault fake as a real subprocess, and what a client needs to reach it."""

import ssl
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
IDENTITY_HEADER = "fake-identity-header"


@dataclass(frozen=True)
class VaultFake:
    url: str
    ca_file: Path
    identity_endpoint: str

    def trust(self) -> ssl.SSLContext:
        """What an HTTP client needs to trust the vault's certificate."""
        return ssl.create_default_context(cafile=self.ca_file)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, f"{self.url}/__admin{path}", verify=self.trust(), **kwargs)
        response.raise_for_status()
        return response

    def token(self, **wanted: Any) -> str:
        """A token as the identity endpoint signs it; expires_in / resource override defaults."""
        token: str = self.admin("POST", "/tokens", json=wanted).json()["access_token"]
        return token


@contextmanager
def vault_process(run_dir: Path) -> Iterator[VaultFake]:
    port, identity_port = free_port(), free_port()
    argv = [
        sys.executable, "-m", "fakes.keyvault", "--port", str(port),
        "--cert-dir", str(run_dir / "certs"),
        "--identity-port", str(identity_port), "--identity-header", IDENTITY_HEADER,
    ]  # fmt: skip
    spec = ProcessSpec("keyvault", argv, log_line(r"^keyvault ready "), cwd=ROOT)
    with running(spec, run_dir):
        yield VaultFake(
            f"https://127.0.0.1:{port}",
            run_dir / "certs" / "ca.pem",
            f"http://127.0.0.1:{identity_port}/msi/token",
        )
