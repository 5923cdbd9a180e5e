"""The emulated VPN link's own one-way delay, measured beside a benchmark.

Toxiproxy delays a frame by the configured latency plus its own timer overshoot (on a 2-core VM,
+0.6 ms at p50 and +2.6 ms at p99 for a 15 ms latency toxic). So what the link injected is
measured, not assumed: a sibling proxy with the signal link's toxics carries one frame the size
of a signal each time one is published, cloud side to edge side, and a receiver in a process of
its own stamps each arrival with the kernel's receive time, as the gateway stamps each order
(fakes.common.rx_stamp): neither end counts a reader's wake-up as latency.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from types import TracebackType

from fakes.common.rx_stamp import recv_stamped, stamp_arrivals
from harness.errors import HarnessError
from harness.ports import LOOPBACK
from harness.topology import Link, Use
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile, apply_profile

PROXY = "link-probe"
_INDEX_DIGITS = 12


class LinkProbe:
    """`with LinkProbe(api, profile, size) as probe: ... probe.mark() ...; probe.delays_ms`."""

    def __init__(self, api: Toxiproxy, profile: VpnProfile, frame_bytes: int) -> None:
        self._api = api
        self._drain_s = 1.0 + (profile.cloud_to_edge_ms + profile.jitter_ms) / 1000
        self._padding = b"x" * max(0, frame_bytes - _INDEX_DIGITS - 1)
        self._sent_ns: list[int] = []
        self.delays_ms: list[float] = []
        self._receiver = subprocess.Popen(
            [sys.executable, "-m", "harness.link_probe"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._receiver.stdout is not None
        port = int(self._receiver.stdout.readline())
        proxy = api.create_proxy(PROXY, f"{LOOPBACK}:{port}")
        # The receiver serves, on the edge: upstream is cloud to edge, as signals travel.
        apply_profile(api, [Link(PROXY, Use(PROXY, "frames"), "edge")], profile)
        self._socket = socket.create_connection((LOOPBACK, proxy.listen_port))
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def mark(self) -> None:
        """One frame across the link, now."""
        index = len(self._sent_ns)
        self._sent_ns.append(time.time_ns())
        self._socket.sendall(b"%0*d%s\n" % (_INDEX_DIGITS, index, self._padding))

    def __enter__(self) -> LinkProbe:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        time.sleep(self._drain_s)  # the last frames are still on the link
        self._socket.shutdown(socket.SHUT_WR)
        try:
            output, _ = self._receiver.communicate(timeout=30)
        finally:
            self._socket.close()
            self._api.delete_proxy(PROXY)
        arrived: dict[str, int] = json.loads(output)
        if kind is None and len(arrived) != len(self._sent_ns):
            raise HarnessError(f"link probe: {len(arrived)} of {len(self._sent_ns)} frames arrived")
        self.delays_ms = [
            (arrived[str(index)] - sent) / 1e6 for index, sent in enumerate(self._sent_ns)
        ]


def _receive() -> None:
    """Print the port, take one connection, stamp each frame's arrival; at EOF print them."""
    with socket.create_server((LOOPBACK, 0)) as server:
        print(server.getsockname()[1], flush=True)
        connection, _ = server.accept()
    stamp_arrivals(connection)
    arrived: dict[int, int] = {}
    pending = b""
    with connection:
        while True:
            chunk, now = recv_stamped(connection, 65536)
            if not chunk:
                break
            pending += chunk
            *frames, pending = pending.split(b"\n")
            for frame in frames:
                arrived[int(frame[:_INDEX_DIGITS])] = now
    print(json.dumps(arrived), flush=True)


if __name__ == "__main__":
    _receive()
