"""What the backend will do for the dashboard, done by the tests: detector signals, and sends to
the dashboard hub through the SignalR service's REST API (serverless mode)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from system.detector.config import DetectorConfig
from system.detector.detector import Detector
from system.detector.synthetic import QuietChain
from system.domain.contracts import Right
from system.domain.signals import Signal

HUB = "dashboard"
API_VERSION = "2022-06-01"


class HubRest:
    """Broadcasts to every client of the dashboard hub, as the backend's SignalBus does."""

    def __init__(self, endpoint: str, access_key: str) -> None:
        self._url = f"{endpoint}/api/hubs/{HUB}/:send"
        self._key = access_key.encode()
        self._http = httpx.Client(timeout=5.0)

    def send(self, target: str, *arguments: Any) -> None:
        now = int(time.time())
        token = jwt.encode({"aud": self._url, "iat": now, "exp": now + 300}, self._key, "HS256")
        response = self._http.post(
            self._url,
            params={"api-version": API_VERSION},
            json={"target": target, "arguments": list(arguments)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 202, response.text

    def signal(self, signal: Signal) -> None:
        self.send("signal", signal.model_dump(mode="json"))

    def quote(self, price: float, at: datetime) -> None:
        self.send("quote", {"symbol": "SPY", "price": round(price, 2), "at": at.isoformat()})

    def latency(self, p50_ms: float, p99_ms: float, count: int, at: datetime) -> None:
        figures = {"p50_ms": p50_ms, "p99_ms": p99_ms, "count": count, "at": at.isoformat()}
        self.send("latency", figures)

    def close(self) -> None:
        self._http.close()


Surge = tuple[int, int, Right, float]  # expiry number, strike offset from spot, right, volume


def detector_signals(surges: Sequence[Surge], now: datetime | None = None) -> list[Signal]:
    """Signals the real detector raises on a quiet synthetic chain into which these volume
    surges were injected, created at `now` (default: now)."""
    now = now or datetime.now(UTC)
    chain, detector = QuietChain(expiries=4, strikes=30, seed=3), Detector(DetectorConfig())
    warm = detector.config.baseline_window + 1
    for i in range(warm):
        taken_at = now - timedelta(seconds=warm - i)
        assert detector.observe(chain.next(taken_at), taken_at) == []
    snapshot = chain.next(now)
    expiries = sorted({c.expiry for c in chain.contracts})
    for expiry, offset, right, volume in surges:
        index = next(
            i
            for i, c in enumerate(chain.contracts)
            if c.expiry == expiries[expiry]
            and float(c.strike) == chain.spot + offset
            and c.right is right
        )
        snapshot.volume[index] += volume
    signals = detector.observe(snapshot, now)
    assert len(signals) == len(surges), signals
    return signals
