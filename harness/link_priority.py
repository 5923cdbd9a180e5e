"""The VPN link layer at real-time priority: Toxiproxy stands in for the network between the
cloud and the edge, and a network does not wait for the hosts' CPUs.

At normal priority a toxic's timer fired only once the scheduler got round to Toxiproxy, behind
whatever else ran on the CPU: on this 2-core VM, with the topology up (10 ms one way, no
jitter, 600-signal benches), the link's own p99 was 3.1-3.8 ms above the configured 10 ms, and
1.4-1.7 ms at SCHED_FIFO (4 interleaved pairs). What remains is Go's netpoller, which sleeps in
whole milliseconds (harness.link_bench). Toxiproxy's work per frame is microseconds, so it
never holds a CPU for long; the kernel's real-time throttling would stop a runaway one anyway.

It runs off the signal path's CPUs (harness.cpu_placement): at this priority it preempts whatever
runs where it wakes, and it wakes for every packet on every link, the latency probe's frame
beside each signal too. Left on every CPU, the stack's own p99 in a full `tox -e scenarios` rose
to 5.8-6.6 ms (every hop's p50 up by 0.1-0.2 ms) and the latency scenarios failed; kept off the
path's, 3.6-4.4 ms, as at normal priority.

Only a process allowed to (CAP_SYS_NICE, as root has, or an RLIMIT_RTPRIO of 10 or more) may
raise it; without, the link runs at normal priority and the status says so.
"""

from __future__ import annotations

import os

from harness.process import each_thread

FIFO_PRIORITY = 10  # above every normal task, below the kernel's threaded interrupts (50)


def make_realtime(pid: int) -> str:
    """Every thread of the running process at SCHED_FIFO; what came of it, for the status."""
    param = os.sched_param(FIFO_PRIORITY)

    def raise_priority(thread: int) -> bool:
        try:
            if os.sched_getscheduler(thread) == os.SCHED_FIFO:
                return False
            os.sched_setscheduler(thread, os.SCHED_FIFO, param)
        except ProcessLookupError:  # the thread has ended
            return False
        return True

    try:
        each_thread(pid, raise_priority)
    except PermissionError:
        return "normal priority: real time needs CAP_SYS_NICE or an RLIMIT_RTPRIO of 10"
    return f"real-time priority (SCHED_FIFO {FIFO_PRIORITY})"
