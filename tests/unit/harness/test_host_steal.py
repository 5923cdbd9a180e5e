"""What the host took from the VM: the steal column of /proc/stat, in ms, over a block."""

import os
from pathlib import Path

import pytest

from harness.host_steal import HostSteal, stolen_ms

HZ = os.sysconf("SC_CLK_TCK")


def stat(steal_ticks: int) -> str:
    return f"cpu  2396617 33300 377428 6291483 24121 0 26255 {steal_ticks} 0 0\ncpu0 1 2 3 4\n"


def test_steal_is_read_from_the_all_cpus_line(tmp_path: Path) -> None:
    (path := tmp_path / "stat").write_text(stat(3 * HZ))
    assert stolen_ms(path) == pytest.approx(3000)


def test_a_kernel_that_does_not_count_steal_counts_none(tmp_path: Path) -> None:
    (path := tmp_path / "stat").write_text("cpu  1 2 3 4 5\n")
    assert stolen_ms(path) == 0


def test_the_block_gets_what_was_taken_during_it(tmp_path: Path) -> None:
    (path := tmp_path / "stat").write_text(stat(HZ))
    with HostSteal(path) as steal:
        path.write_text(stat(HZ + HZ // 10))
    assert steal.ms == pytest.approx(1000 * (HZ // 10) / HZ)
