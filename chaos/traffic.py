"""Signals streaming through the topology while the drills run: the invariants (no duplicate
order, no trade on an expired signal, no lost telemetry record) are then checked over orders
placed around every fault, not over a system that happened to be idle when it struck."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from types import TracebackType

from harness.latency import listed_contracts, signal_bus, storm
from harness.local_topology import LocalCredentials
from harness.state import TopologyState

log = logging.getLogger(__name__)

NEEDS = ("signalr", "tws")  # where signals are published, and the gateway whose lists they cite


class SignalTraffic:
    """Signals published as the backend publishes them, at `rate_per_s`, from entering the
    context until leaving it; `sent` counts them. Off (`rate_per_s` 0, or a topology without a
    SignalR service, a gateway or bots) it sends nothing."""

    def __init__(self, state: TopologyState, rate_per_s: float) -> None:
        self.sent = 0
        self.failure = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        has_bots = any(name.startswith("bot") for name in state.instances)
        if rate_per_s > 0 and has_bots and all(n in state.instances for n in NEEDS):
            self._thread = threading.Thread(
                target=self._publish, args=(state, rate_per_s), name="traffic", daemon=True
            )

    @property
    def on(self) -> bool:
        return self._thread is not None

    def _publish(self, state: TopologyState, rate_per_s: float) -> None:
        try:
            key = LocalCredentials.load(Path(state.run_dir)).signalr_access_key
            admin = f"http://127.0.0.1:{state.instances['tws'].ports['admin']}"
            bus = signal_bus(state.instances["signalr"].ports["http"], key)
            self.sent = len(
                storm(bus, listed_contracts(admin), rate_per_s, lambda _: self._stop.is_set())
            )
        except Exception as error:  # said in the results; the drills go on without traffic
            self.failure = f"{type(error).__name__}: {error}"
            log.warning("signal traffic stopped: %s", self.failure)

    def __enter__(self) -> SignalTraffic:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
