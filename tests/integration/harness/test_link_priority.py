"""The link layer's real-time priority on real processes: every thread, where it may be raised,
and a status that says so where it may not."""

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.link_priority import FIFO_PRIORITY, make_realtime

# A process with threads of its own, and one more started after its priority was raised.
THREADED = """
import sys, threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
print("started", flush=True)
sys.stdin.readline()
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
print("one more", flush=True)
time.sleep(60)
"""


def may_raise_priority() -> bool:
    """CAP_SYS_NICE in this process's effective set, or an RLIMIT_RTPRIO that allows it."""
    status = Path("/proc/self/status").read_text()
    effective = int(next(ln for ln in status.splitlines() if ln.startswith("CapEff:"))[7:], 16)
    cap_sys_nice = 23
    rtprio = resource.getrlimit(resource.RLIMIT_RTPRIO)[0]
    return bool(effective >> cap_sys_nice & 1) or rtprio >= FIFO_PRIORITY


@pytest.fixture
def threaded() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", THREADED], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def policies(pid: int) -> dict[int, tuple[int, int]]:
    return {
        int(t): (os.sched_getscheduler(int(t)), os.sched_getparam(int(t)).sched_priority)
        for t in os.listdir(f"/proc/{pid}/task")
    }


def test_every_thread_runs_at_real_time_where_this_process_may_raise_it(
    threaded: subprocess.Popen[str],
) -> None:
    assert threaded.stdin is not None
    assert threaded.stdout is not None
    status = make_realtime(threaded.pid)
    threaded.stdin.write("go\n")
    threaded.stdin.flush()
    assert threaded.stdout.readline() == "one more\n"
    seen = policies(threaded.pid)
    assert len(seen) == 5  # the main thread, three, and the one started since
    if may_raise_priority():
        assert status == f"real-time priority (SCHED_FIFO {FIFO_PRIORITY})"
        assert set(seen.values()) == {(os.SCHED_FIFO, FIFO_PRIORITY)}
    else:
        assert status.startswith("normal priority: real time needs CAP_SYS_NICE")
        assert {policy for policy, _ in seen.values()} == {os.SCHED_OTHER}


def test_without_the_capability_it_says_so_and_changes_nothing(
    threaded: subprocess.Popen[str],
) -> None:
    # A child without CAP_SYS_NICE (root's bounding set without it) and no RLIMIT_RTPRIO.
    drop = ["setpriv", "--bounding-set=-sys_nice"] if os.geteuid() == 0 else []
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0)); "
        "from harness.link_priority import make_realtime; print(make_realtime(int(sys.argv[1])))"
    )
    result = subprocess.run(
        [*drop, sys.executable, "-c", code, str(threaded.pid)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == (
        "normal priority: real time needs CAP_SYS_NICE or an RLIMIT_RTPRIO of 10"
    )
    assert {policy for policy, _ in policies(threaded.pid).values()} == {os.SCHED_OTHER}
