"""The link probe against a real Toxiproxy: it measures what the link's toxics inject."""

import time
from pathlib import Path

import pytest

from harness import components
from harness.errors import HarnessError
from harness.link_probe import PROXY, LinkProbe
from harness.ports import free_port
from harness.process import running
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile


def probe(api: Toxiproxy, profile: VpnProfile, frames: int) -> list[float]:
    with LinkProbe(api, profile, frame_bytes=700) as link:
        for _ in range(frames):
            link.mark()
            time.sleep(0.02)
    return link.delays_ms


def test_the_delay_is_the_cloud_to_edge_latency_and_the_proxy_is_removed(tmp_path: Path) -> None:
    with running(components.toxiproxy(port := free_port()), tmp_path):
        api = Toxiproxy(port)
        slow_down = probe(api, VpnProfile(edge_to_cloud_ms=2, cloud_to_edge_ms=40), 20)
        fast_down = probe(api, VpnProfile(edge_to_cloud_ms=40, cloud_to_edge_ms=2), 20)
        assert len(slow_down) == len(fast_down) == 20
        assert min(slow_down) >= 40  # the toxic never delays less than it is set to
        assert min(fast_down) >= 2
        assert max(fast_down) < 40  # the other direction's latency is not on this path
        with pytest.raises(HarnessError, match="404"):
            api.toxics(PROXY)
        api.close()
