"""Keep the CPUs out of deep idle while latency is measured: the PM QoS request a trading host's
tuned `latency-performance` profile makes, and `cyclictest` makes while it measures.

On this kind of VM an idle vCPU halts, and the first work after it wakes runs up to twice as
slow: the same pure-Python function took 194 µs back to back, 353 µs after a 1 ms sleep and
434 µs after 20 ms; with the request held, 210 and 280 µs. At 20 signals/s every process on the
signal path starts each signal from idle.

The kernel keeps the request only while the file stays open, so a crash cannot leave the machine
polling. Only root may make it; without it the figures include the wake-ups, and `status` says so.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from types import TracebackType

PM_QOS_DEVICE = Path("/dev/cpu_dma_latency")


class ShallowIdle:
    """`with ShallowIdle() as idle: ...` keeps every CPU polling when idle (an exit latency of
    0 µs allows no other idle state) until the block ends; `idle.status` tells whether it could."""

    def __init__(self, device: Path = PM_QOS_DEVICE) -> None:
        self._device = device
        self._fd: int | None = None
        self.status = "deep idle allowed: not requested"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def hold(self) -> str:
        if self._fd is None:
            try:
                self._fd = _open_request(self._device)
            except OSError as error:
                self.status = (
                    f"deep idle allowed ({self._device}: {error.strerror}): "
                    "latency figures include wake-ups from idle"
                )
                return self.status
            self.status = "deep idle off: every CPU polls when idle (PM QoS request of 0 µs held)"
        return self.status

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ShallowIdle:
        self.hold()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _open_request(device: Path) -> int:
    fd = os.open(device, os.O_WRONLY)
    try:
        os.write(fd, struct.pack("=i", 0))  # the exit latency allowed, a native s32
    except OSError:
        os.close(fd)
        raise
    return fd
