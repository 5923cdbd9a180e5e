"""`spyh bench link` on a real Toxiproxy of its own: the link's delay, and nothing left running."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

from harness.link_bench import bench_link
from harness.vpn import VpnProfile


def test_every_frame_is_delayed_by_at_least_the_cloud_to_edge_latency(tmp_path: Path) -> None:
    figures = bench_link(tmp_path, VpnProfile(edge_to_cloud_ms=2, cloud_to_edge_ms=20), 30, 50)
    summary = figures.summary()
    assert summary["frames"] == len(figures.delays_ms) == 30
    assert min(figures.delays_ms) >= 20  # a toxic never delays less than it is set to
    assert 0 <= summary["overshoot_p50_ms"] <= summary["overshoot_p99_ms"]
    assert summary["overshoot_p99_ms"] <= summary["overshoot_max_ms"]


def test_the_command_prints_its_figures_and_stops_its_toxiproxy(tmp_path: Path) -> None:
    before = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "toxiproxy-server"}
    bench = ["bench", "link", "--frames", "20", "--rate", "50", "--latency-ms", "5", "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "harness", *bench],
        env={**os.environ, "SPYH_RUNS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["frames"] == 20
    assert summary["configured_ms"] == 5
    assert summary["p50_ms"] >= 5
    after = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "toxiproxy-server"}
    assert after <= before
