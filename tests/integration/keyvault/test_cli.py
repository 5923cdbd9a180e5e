"""The Key Vault fake's command line: the ready line names everything a client needs; SIGTERM."""

import re
import sys
from pathlib import Path

import httpx

from harness.ports import free_port, is_listening
from harness.process import ProcessSpec, log_line, start
from tests.integration.keyvault.support import ROOT

READY = (
    r"keyvault ready (?P<vault>https://127\.0\.0\.1:\d+) ca_file=(?P<ca>\S+) "
    r"identity_endpoint=(?P<identity>http://127\.0\.0\.1:\d+/msi/token) identity_header=(?P<h>\S+)"
)


def test_the_ready_line_names_vault_ca_and_identity_then_sigterm_exits_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "fakes.keyvault", "--port", str(port), "--cert-dir", "certs"]
    proc = start(ProcessSpec("keyvault", argv, log_line(READY), cwd=tmp_path), tmp_path)
    try:
        [line] = proc.log_text().splitlines()
        ready = re.fullmatch(READY, line)
        assert ready is not None
        assert ready["vault"] == f"https://127.0.0.1:{port}"
        assert Path(ready["ca"]) == tmp_path / "certs" / "ca.pem"
        token = httpx.get(
            ready["identity"],
            params={"api-version": "2019-08-01", "resource": "https://vault.azure.net"},
            headers={"X-IDENTITY-HEADER": ready["h"]},
        )
        assert token.json()["token_type"] == "Bearer"
    finally:
        assert proc.stop() == 0
    assert not is_listening(port)


def test_the_identity_endpoint_wants_its_header(tmp_path: Path) -> None:
    port, identity_port = free_port(), free_port()
    argv = [
        sys.executable, "-m", "fakes.keyvault", "--port", str(port), "--cert-dir", str(tmp_path),
        "--identity-port", str(identity_port), "--identity-header", "right",
    ]  # fmt: skip
    proc = start(ProcessSpec("keyvault", argv, log_line("^keyvault ready"), cwd=ROOT), tmp_path)
    try:
        refused = httpx.get(
            f"http://127.0.0.1:{identity_port}/msi/token",
            params={"api-version": "2019-08-01", "resource": "https://vault.azure.net"},
            headers={"X-IDENTITY-HEADER": "wrong"},
        )
    finally:
        proc.stop()
    assert refused.status_code == 401
    assert refused.json()["statusCode"] == 401
