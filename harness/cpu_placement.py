"""Which CPUs the topology's processes run on: the signal path on CPUs kept for it, the rest on
the others, as a latency-sensitive edge node gives its trading pod exclusive cores (the kubelet's
static CPU manager policy) and leaves the shared pool to everything else.

On this 2-core VM the tail of signal-to-order latency is other processes' work on the same CPU:
a standby's, a forwarder's, Azurite's, the gateway simulator's market-data steps. With the
leader bot, the SignalR service and the sender on CPU 0 and everything else on CPU 1
(Toxiproxy, the network, on both), the p99 from signal to order received was lower in 4 of 4
interleaved pairs of fresh topologies (21.2 against 22.7 ms on average, 15 ms one way; `spyh up
--cpus split|shared`), the bot's own p99 hop 1.4-2.0 against 3.8-4.9 ms and SignalR's 1.1-1.5
against 1.8-3.9 ms. The gateway is off the path: its quotes, every 250 ms, held up the signals
arriving as they went out (66 of 1,200 signals slowed by 2-6 ms, 4 with a 1 s step); beside the
background, its acknowledgements come about as fast as unplaced. The three bots together on
CPU 0 gained less than half as much as the leader alone: the standbys' work was then beside the
leader's. Lowering the background's priority (SCHED_IDLE) changed nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

_PASSES = 5  # a pass that moves nothing ends it; threads are not started that fast for long


class CpuMode(StrEnum):
    SPLIT = "split"  # the signal path on CPUs of its own (where there are two or more)
    SHARED = "shared"  # every process may run on every CPU


@dataclass(frozen=True)
class CpuPlacement:
    path: frozenset[int] = frozenset()  # empty: nothing placed
    background: frozenset[int] = frozenset()

    @classmethod
    def choose(cls, mode: CpuMode, available: Set[int] | None = None) -> CpuPlacement:
        """Split this process's CPUs, the lower half to the path; one CPU cannot be split."""
        cpus = sorted(os.sched_getaffinity(0) if available is None else available)
        if mode is CpuMode.SHARED or len(cpus) < 2:
            return cls()
        half = len(cpus) // 2
        return cls(frozenset(cpus[:half]), frozenset(cpus[half:]))

    @property
    def status(self) -> str:
        if not self.path:
            return "shared: every process may run on every CPU"
        return (
            f"split: the signal path (the leader bot, SignalR, the sender) on CPU "
            f"{_cpu_list(self.path)}, everything else on CPU {_cpu_list(self.background)}"
        )

    def cpus_for(self, on_path: bool) -> frozenset[int] | None:
        """What a process starts on; None: wherever the kernel likes."""
        if not self.path:
            return None
        return self.path if on_path else self.background

    def move(self, pid: int, on_path: bool) -> None:
        """Every thread of a running process. A thread started meanwhile by one not moved yet
        would stay behind, so it goes round until a pass finds every thread there."""
        cpus = self.cpus_for(on_path)
        if cpus is None:
            return
        for _ in range(_PASSES):
            try:
                threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
            except FileNotFoundError:  # the process has ended
                return
            if not [t for t in threads if _set_affinity(t, cpus)]:
                return


@contextmanager
def running_on(cpus: Set[int]) -> Iterator[None]:
    """The calling thread on `cpus` for the block (none given: where it was), as a sender joins
    the path while it sends."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _set_affinity(thread: int, cpus: frozenset[int]) -> bool:
    """Whether the thread had to be moved (not if it was there already, has ended, or may not
    be moved: placement is an optimisation, never a reason to stop supervising)."""
    try:
        if os.sched_getaffinity(thread) == cpus:
            return False
        os.sched_setaffinity(thread, cpus)
    except OSError:
        return False
    return True


def _cpu_list(cpus: frozenset[int]) -> str:
    return ",".join(map(str, sorted(cpus)))
