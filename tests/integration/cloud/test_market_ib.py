"""The ib_async market-data adapter against the IB Gateway simulator, and the detector on what
it streams: unusual activity injected at the gateway is found at the injected contract."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ib_async import IB

from harness import components
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, log_line, running
from harness.toxiproxy import Toxiproxy
from system.adapters import ib_connect
from system.adapters.market_ib import IbMarketData, IbSettings
from system.detector.config import DetectorConfig
from system.detector.detector import Detector
from system.domain.market import ChainSnapshot
from system.domain.signals import Signal

pytestmark = pytest.mark.integration
READY = r"fakes.tws ready api=127\.0\.0\.1:(\d+) admin=(\S+)"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[int, str]]:
    spec = ProcessSpec(
        name="tws",
        argv=[
            sys.executable,
            "-m",
            "fakes.tws",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--seed",
            "5",
            "--state-file",
            str(tmp_path / "state.json"),
            "--tick-interval",
            "0.1",
        ],
        ready=log_line(READY),
    )
    with running(spec, tmp_path) as proc:
        yield _ports(proc)


@pytest.fixture
def toxiproxy(tmp_path: Path) -> Iterator[Toxiproxy]:
    api_port = free_port()
    with running(components.toxiproxy(api_port), tmp_path):
        api = Toxiproxy(api_port)
        yield api
        api.close()


def _ports(proc: RunningProcess) -> tuple[int, str]:
    found = re.search(READY, proc.log_text())
    assert found
    return int(found[1]), found[2]


async def test_a_window_around_spot_within_the_line_limit_and_surges_found(
    gateway: tuple[int, str],
) -> None:
    port, admin = gateway
    settings = IbSettings(
        host="127.0.0.1",
        port=port,
        client_id=31,
        expiries=2,
        strikes_each_side=10,
        max_lines=41,  # the underlying's line, then 2 expiries x 2 rights x 10 strikes
        recentre_strikes=50,
        snapshot_interval_s=0.2,
    )
    market = IbMarketData(settings)
    detector = Detector(DetectorConfig())
    snapshots: list[ChainSnapshot] = []
    signals: list[Signal] = []
    injected: list[str] = []
    async for item in market.snapshots():
        if not isinstance(item, ChainSnapshot):
            continue
        if all(item.bid > 0) and all(item.volume >= 0):  # every line has quoted
            snapshots.append(item)
            signals += detector.observe(item, item.taken_at)
        if len(snapshots) == DetectorConfig().baseline_window + 3 and not injected:
            target = min(item.contracts, key=lambda c: abs(float(c.strike) - item.spot))
            async with httpx.AsyncClient(base_url=admin) as http:
                answer = await http.post(
                    "/market/unusual-activity",
                    json={
                        "strikes": [float(target.strike)],
                        "expiry": f"{target.expiry:%Y%m%d}",
                        "right": target.right.value,
                        "volume_multiplier": 50,
                    },
                )
            injected = [c["localSymbol"] for c in answer.raise_for_status().json()["contracts"]]
        if injected and len(snapshots) >= DetectorConfig().baseline_window + 8:
            break
    first = snapshots[0]
    assert len(first.contracts) == 40
    strikes = sorted({float(c.strike) for c in first.contracts})
    assert strikes[0] < first.spot < strikes[-1]
    assert len({c.expiry for c in first.contracts}) == 2
    surges = {s.contract.local_symbol for s in signals if s.reason.startswith("volume surge")}
    assert injected
    assert set(injected) <= surges


async def test_a_connect_through_a_proxy_whose_gateway_is_down_fails_at_once(
    toxiproxy: Toxiproxy,
) -> None:
    """The proxy accepts, then closes: ib_async alone would sit out its whole timeout."""
    down = toxiproxy.create_proxy("tws-api", f"127.0.0.1:{free_port()}")  # nothing listens
    ib = IB()
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="the gateway side closed the connection"):
        await ib_connect.connect(ib, "127.0.0.1", down.listen_port, 41, timeout_s=30)
    assert time.monotonic() - started < 10  # far below the 30 s timeout
    assert not ib.isConnected()


async def test_a_connect_through_a_proxy_to_a_gateway_is_ready(
    gateway: tuple[int, str], toxiproxy: Toxiproxy
) -> None:
    link = toxiproxy.create_proxy("tws-api", f"127.0.0.1:{gateway[0]}")
    ib = IB()
    await ib_connect.connect(ib, "127.0.0.1", link.listen_port, 42, timeout_s=10, readonly=True)
    try:
        assert ib.isConnected()
        assert ib.client.serverVersion() > 0
    finally:
        ib.disconnect()
