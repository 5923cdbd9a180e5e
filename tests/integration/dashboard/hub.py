"""What feeds the page in the tests: the market the backend's detector reads (a replay file it
follows), and sends to the backend's hub through the SignalR service's REST API for what the
backend does not publish yet (SPY quotes, latency figures) or never would (malformed messages)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt

from system.adapters.market_replay import encode
from system.detector.config import DetectorConfig
from system.detector.detector import Detector
from system.detector.synthetic import QuietChain
from system.domain.contracts import Right
from system.domain.market import ChainSnapshot
from system.domain.signals import Signal

API_VERSION = "2022-06-01"
WARM_UP = DetectorConfig().baseline_window + 1  # quiet snapshots before the detector can fire

Surge = tuple[int, int, Right, float]  # expiry number, strike offset from spot, right, volume


def _inject(chain: QuietChain, snapshot: ChainSnapshot, surges: Sequence[Surge]) -> None:
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


class MarketFeed:
    """The chain file the backend follows (SPY_BACKEND_REPLAY_FOLLOW): a quiet synthetic chain,
    with volume surges where a test wants the detector to fire."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._chain = QuietChain(expiries=3, strikes=20, seed=11)
        self._taken_at = datetime.now(UTC)
        path.write_text("")
        self.quiet(WARM_UP)

    def _next(self) -> ChainSnapshot:
        self._taken_at += timedelta(seconds=1)
        return self._chain.next(self._taken_at)

    def _append(self, snapshots: Sequence[ChainSnapshot]) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.writelines(encode(snapshot) + "\n" for snapshot in snapshots)

    def quiet(self, count: int) -> None:
        self._append([self._next() for _ in range(count)])

    def surge(self, *surges: Surge) -> None:
        snapshot = self._next()
        _inject(self._chain, snapshot, surges)
        self._append([snapshot])


class HubRest:
    """Broadcasts to every client of a hub, as the backend's SignalBus does."""

    def __init__(self, endpoint: str, access_key: str, hub: str) -> None:
        self._url = f"{endpoint}/api/hubs/{hub}/:send"
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


def detector_signals(surges: Sequence[Surge], now: datetime) -> list[Signal]:
    """What the real detector raised at `now` on a quiet chain with these surges: the earlier
    signals a page opened later would have missed, for a realistic picture."""
    chain, detector = QuietChain(expiries=3, strikes=20, seed=3), Detector(DetectorConfig())
    for i in range(WARM_UP):
        taken_at = now - timedelta(seconds=WARM_UP - i)
        assert detector.observe(chain.next(taken_at), taken_at) == []
    snapshot = chain.next(now)
    _inject(chain, snapshot, surges)
    signals = detector.observe(snapshot, now)
    assert len(signals) == len(surges), signals
    return signals
