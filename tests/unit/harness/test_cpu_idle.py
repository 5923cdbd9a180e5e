"""The PM QoS request: what is written, how long it is held, and what is said when it cannot be."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from harness.cpu_idle import ShallowIdle


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_writes_a_zero_exit_latency_and_holds_it_until_the_block_ends(tmp_path: Path) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    before = _open_fds()
    with ShallowIdle(device) as idle:
        assert idle.held
        assert "deep idle off" in idle.status
        assert device.read_bytes() == struct.pack("=i", 0)
        assert len(_open_fds() - before) == 1  # the request lives as long as this descriptor
    assert not idle.held
    assert _open_fds() == before


def test_holding_twice_keeps_one_request(tmp_path: Path) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    idle = ShallowIdle(device)
    before = _open_fds()
    idle.hold()
    idle.hold()
    assert len(_open_fds() - before) == 1
    idle.release()
    idle.release()
    assert _open_fds() == before


def test_a_device_it_cannot_open_is_named_with_the_reason(tmp_path: Path) -> None:
    device = tmp_path / "absent"
    with ShallowIdle(device) as idle:
        assert not idle.held
        assert idle.status.startswith(f"deep idle allowed ({device}: No such file or directory)")
        assert "figures include wake-ups" in idle.status
