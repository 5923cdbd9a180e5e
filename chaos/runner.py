"""What both runners (chaos.run and loadtests.run) share: the topology they work on, the
durations on their command lines, the environment of the tools they start."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from harness.errors import HarnessError
from harness.state import TopologyState
from harness.toolchain import ROOT

# For the tools the runners start (chaos, locust): whatever tries to leave loopback over HTTP
# meets a closed local port instead.
NO_EGRESS = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def timespan(text: str) -> int:
    """Seconds, at least one, from `90`, `90s`, `10m`, `1h30m` (an argparse type)."""
    found = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or found is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 10m, 1h30m)")
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 s: {text!r}")
    return total


@contextmanager
def running(given: Path | None) -> Iterator[TopologyState]:
    """The topology to work on: the running one whose run folder is given, or one brought up
    now (`spyh up --detach`) and taken down after (the load runner uses this too)."""
    if given is not None:
        yield TopologyState.running(given)
        return
    current = None
    with suppress(HarnessError):  # none is up
        current = TopologyState.running()
    if current is not None:
        raise HarnessError(
            f"a topology is already up ({current.run_dir}): use it with --topology, "
            "or stop it with `spyh down` first"
        )
    harness = [sys.executable, "-m", "harness"]
    up = subprocess.run([*harness, "up", "--detach"], cwd=ROOT, capture_output=True, text=True)
    if up.returncode != 0:
        raise HarnessError(f"spyh up failed: {(up.stderr or up.stdout).strip()}")
    try:
        yield TopologyState.load()
    finally:
        subprocess.run([*harness, "down"], cwd=ROOT, capture_output=True, check=False)
