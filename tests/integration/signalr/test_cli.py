"""python -m fakes.signalr as the harness runs it: one ready line on stdout (the connection
string), logs on stderr, a clean exit on SIGTERM even with clients connected."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

from fakes.signalr.auth import issue_token
from tests.integration.signalr.conftest import KEY, REPO, RawClient, open_socket


def test_ready_line_then_a_clean_exit_on_sigterm() -> None:
    argv = [sys.executable, "-m", "fakes.signalr", "--port", "0", "--access-key", KEY]
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().rstrip("\n")
        found = re.fullmatch(
            rf"Endpoint=(http://127\.0\.0\.1:\d+);AccessKey={KEY};Version=1\.0;", ready
        )
        assert found, ready
        endpoint = found.group(1)
        token = issue_token(KEY, f"{endpoint}/client/?hub=chat")
        with open_socket(
            f"{endpoint}/client/?hub=chat", {"Authorization": f"Bearer {token}"}
        ) as ws:
            client = RawClient(ws)
            client.send('{"protocol":"json","version":1}')
            ws.recv(timeout=10)
            proc.send_signal(signal.SIGTERM)
            assert client.closed_with() == 1012  # service restart: clients reconnect
        stdout, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert stdout == ""


def test_bad_arguments_are_one_clear_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fakes.signalr", "--keepalive", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "--keepalive: must be positive" in done.stderr
