"""The link bench's figures: each frame's delay against the configured one-way latency."""

import pytest

from harness.link_bench import LinkFigures
from harness.vpn import VpnProfile


def test_the_overshoot_is_above_the_cloud_to_edge_latency() -> None:
    delays = [10.2 + i / 100 for i in range(100)]  # 10.20 .. 11.19 ms
    summary = LinkFigures(VpnProfile(3, 10), 20.0, delays).summary()
    assert summary["frames"] == 100
    assert summary["configured_ms"] == 10
    assert summary["p50_ms"] == pytest.approx(10.695)
    assert summary["overshoot_p50_ms"] == pytest.approx(0.695)
    assert summary["overshoot_p99_ms"] == pytest.approx(1.18, abs=0.001)
    assert summary["overshoot_max_ms"] == pytest.approx(1.19)
    assert "cloud→edge 10 ms" in summary["vpn"]
