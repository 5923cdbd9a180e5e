"""CPU time the hypervisor took from this VM while something ran ("steal" in /proc/stat).

On a VM a vCPU can be descheduled by the host for milliseconds while the guest thinks it runs
or polls: traced with ftrace here, a wake-up sent to a polling CPU took 1-9 ms to be seen 13
times in 30 s (3.8 µs at p50). No tuning inside the guest reaches that, so the latency figures
say how much the host took during the run they measure.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

PROC_STAT = Path("/proc/stat")


def stolen_ms(stat: Path = PROC_STAT) -> float:
    """Steal so far, all CPUs together; 0 where the kernel does not count it."""
    fields = stat.read_text().splitlines()[0].split()  # cpu user nice system idle ... steal
    ticks = int(fields[8]) if len(fields) > 8 else 0
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


class HostSteal:
    """`with HostSteal() as steal: ...`; then `steal.ms`: what the host took meanwhile."""

    def __init__(self, stat: Path = PROC_STAT) -> None:
        self._stat = stat
        self._before = 0.0
        self.ms = 0.0

    def __enter__(self) -> HostSteal:
        self._before = stolen_ms(self._stat)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ms = stolen_ms(self._stat) - self._before
