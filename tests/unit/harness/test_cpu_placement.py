"""Which CPUs the signal path gets: the lower half of what this process may use."""

import pytest

from harness.cpu_placement import CpuMode, CpuPlacement


@pytest.mark.parametrize(
    ("available", "path", "background"),
    [
        ({0, 1}, {0}, {1}),
        ({0, 1, 2, 3}, {0, 1}, {2, 3}),
        ({2, 5, 7}, {2}, {5, 7}),  # a cgroup's cpuset need not start at 0
    ],
)
def test_split_gives_the_path_the_lower_half(
    available: set[int], path: set[int], background: set[int]
) -> None:
    placement = CpuPlacement.choose(CpuMode.SPLIT, available)
    assert (placement.path, placement.background) == (path, background)
    assert placement.cpus_for(on_path=True) == path
    assert placement.cpus_for(on_path=False) == background
    assert placement.status.startswith("split: ")


@pytest.mark.parametrize(("mode", "available"), [(CpuMode.SHARED, {0, 1}), (CpuMode.SPLIT, {0})])
def test_shared_or_a_single_cpu_places_nothing(mode: CpuMode, available: set[int]) -> None:
    placement = CpuPlacement.choose(mode, available)
    assert placement.cpus_for(on_path=True) is None
    assert placement.cpus_for(on_path=False) is None
    assert placement.status.startswith("shared: ")
