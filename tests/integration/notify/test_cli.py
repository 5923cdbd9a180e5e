"""The notification fakes' command lines: one ready line, clean exit on SIGTERM, clear refusals."""

import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from harness.ports import free_port, is_listening
from harness.process import ProcessSpec, log_line, start
from tests.integration.notify.support import API_KEY, ROOT, TOKEN


@pytest.mark.parametrize(
    ("name", "args", "ready"),
    [
        ("sendgrid", ["--api-key", API_KEY], r"sendgrid ready http://127\.0\.0\.1:(\d+)"),
        ("telegram", ["--token", TOKEN], r"telegram ready http://127\.0\.0\.1:(\d+)/bot"),
    ],
)
def test_one_ready_line_then_a_clean_exit_on_sigterm(
    tmp_path: Path, name: str, args: list[str], ready: str
) -> None:
    port = free_port()
    argv = [sys.executable, "-m", f"fakes.{name}", "--host", "127.0.0.1", "--port", str(port)]
    proc = start(ProcessSpec(name, [*argv, *args], log_line(ready), cwd=ROOT), tmp_path)
    try:
        [line] = proc.log_text().splitlines()
        match = re.fullmatch(ready, line)
        assert match is not None
        assert int(match[1]) == port
    finally:
        assert proc.stop() == 0
    assert not is_listening(port)


def test_sigterm_ends_the_telegram_fake_even_during_a_long_poll(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "fakes.telegram", "--port", str(port), "--token", TOKEN]
    proc = start(ProcessSpec("telegram", argv, log_line("^telegram ready"), cwd=ROOT), tmp_path)
    url = f"http://127.0.0.1:{port}/bot{TOKEN}/getUpdates"
    seen: list[object] = []

    def poll() -> None:
        try:
            seen.append(httpx.get(url, params={"timeout": 50}, timeout=60).status_code)
        except httpx.HTTPError as error:
            seen.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        poller.join(0.5)  # let the poll reach the server; if it had not, the exit is still checked
    finally:
        assert proc.stop() == 0  # not killed after the grace period
    poller.join()
    assert seen  # the poll ended (with an error or an answer) instead of hanging


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["fakes.telegram", "--port", "0", "--token", "no-colon"], "expected <bot id>:<secret>"),
        (["fakes.sendgrid", "--port", "0"], "the following arguments are required: --api-key"),
    ],
)
def test_bad_flags_are_refused_with_one_clear_line(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert says in done.stderr


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "fakes.sendgrid", "--port", str(port), "--api-key", API_KEY]
    proc = start(ProcessSpec("sendgrid", argv, log_line("^sendgrid ready"), cwd=ROOT), tmp_path)
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        proc.stop()
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: cannot bind 127.0.0.1:{port}: Address already in use"
