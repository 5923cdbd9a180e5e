"""Start a server process, wait until it is ready, stop it again: by process group, not by name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import ComponentFailed
from harness.ports import LOOPBACK, is_listening

Probe = Callable[["RunningProcess"], bool]


def inherited_settings() -> list[str]:
    """The services' settings (SPY_*) in this process's environment: every process started here
    inherits them, beside what its spec sets (the spec wins). Handy for an experiment, and a
    surprise if forgotten in a shell: whoever starts a topology says which."""
    return sorted(name for name in os.environ if name.startswith("SPY_"))


def log_line(pattern: str) -> Probe:
    """Ready once the process's log contains a line matching the regex."""
    compiled = re.compile(pattern, re.MULTILINE)
    return lambda proc: bool(compiled.search(proc.log_text()))


def tcp(port: int, host: str = LOOPBACK) -> Probe:
    return lambda _proc: is_listening(port, host)


def http(url: str, status: int = 200) -> Probe:
    def probe(_proc: RunningProcess) -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == status
        except httpx.HTTPError:
            return False

    return probe


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    ready: Probe
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    start_timeout_s: float = 30.0
    stop_grace_s: float = 10.0
    # What the program treats as "shut down cleanly" (Docker's STOPSIGNAL): most take SIGTERM.
    stop_signal: signal.Signals = signal.SIGTERM


class RunningProcess:
    def __init__(self, spec: ProcessSpec, popen: subprocess.Popen[bytes], log_path: Path) -> None:
        self.spec = spec
        self.popen = popen
        self.log_path = log_path
        self.ready_deadline = time.monotonic() + spec.start_timeout_s

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def is_ready(self) -> bool:
        """Alive and passing its readiness probe now; never raises."""
        return self.alive() and self.spec.ready(self)

    def check_ready(self) -> bool:
        """One look: ready now or not yet; ComponentFailed once it died or ran out of time."""
        if not self.alive():
            self._fail(f"exited with code {self.popen.returncode} before it was ready")
        if self.spec.ready(self):
            return True
        if time.monotonic() > self.ready_deadline:
            self._fail(f"was not ready within {self.spec.start_timeout_s:g} s")
        return False

    def wait_ready(self) -> None:
        while not self.check_ready():
            time.sleep(0.02)

    def _fail(self, why: str) -> None:
        tail = self.log_tail()
        self.stop()
        raise ComponentFailed(
            f"component {self.spec.name} {why}; last lines of {self.log_path}:\n{tail}"
        )

    def signal(self, signum: int) -> None:
        """Signal the whole process group, so wrappers (npx, shells) take their children along."""
        if self.alive():
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def stop(self) -> int:
        """The spec's stop signal, then SIGKILL after the grace period. Returns the exit code."""
        self.signal(self.spec.stop_signal)
        try:
            return self.popen.wait(timeout=self.spec.stop_grace_s)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.popen.wait()


def start(spec: ProcessSpec, log_dir: Path) -> RunningProcess:
    """Launch the process and wait until it is ready."""
    proc = launch(spec, log_dir)
    proc.wait_ready()
    return proc


def launch(spec: ProcessSpec, log_dir: Path) -> RunningProcess:
    """Start the process with its output in `log_dir/<name>.log`; readiness is the caller's."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("ab") as log:
        try:
            popen = subprocess.Popen(
                list(spec.argv),
                cwd=spec.cwd,
                env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise ComponentFailed(f"component {spec.name} could not start: {error}") from None
    return RunningProcess(spec, popen, log_path)


@contextmanager
def running(spec: ProcessSpec, log_dir: Path) -> Iterator[RunningProcess]:
    proc = start(spec, log_dir)
    try:
        yield proc
    finally:
        proc.stop()
