"""Where a signal's time goes, hop by hop, from the kernel's own timestamps of the loopback
segments that carry it: one clock for every process, and no process stamps its own wake-up.

A packet socket on `lo` (the capture needs CAP_NET_RAW) sees each segment as it is sent; a
classic BPF filter keeps, in the kernel, only the ones on the signal's path, so the capture costs
the path nothing but a few wake-ups per signal. The signal id travels in plain text in each:
the REST broadcast to the SignalR service, the frames the service sends (unmasked, as servers
send), the same frames out of the link's proxy, and the placeOrder (orderRef) to the gateway.

    sender   signal created            -> broadcast POST on the wire   (the backend's adapter)
    signalr  POST on the wire          -> the service's first frame out
    link     the service's frame out   -> the trading bot's copy out of the proxy (the VPN)
    bot      the bot's copy delivered  -> its placeOrder on the wire

The capture runs in a process of its own (`python -m harness.hops`), so its reading never
holds the sender's interpreter.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import re
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

import psutil

from fakes.common.rx_stamp import recv_stamped, stamp_arrivals
from harness.errors import HarnessError
from harness.state import TopologyState
from system.domain.signals import Signal

HOPS = ("sender", "signalr", "link", "bot")
_SIGNAL_ID = re.compile(rb"sig-[0-9a-f]{24}")
_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4  # each loopback segment is seen twice, going out and coming in: once here
_SO_ATTACH_FILTER = 26


@dataclass(frozen=True)
class PathPorts:
    """The loopback ports a signal's segments use, and the processes that may trade it."""

    signalr: int  # the service's HTTP port: the POST goes to it, the frames leave it
    link: int  # the signal link's port on the proxy: the frames leave it for the clients
    gateway: int  # the gateway's API port: the placeOrder goes to it
    pids: tuple[int, ...]  # the topology's processes; the bots among them are found by port

    @classmethod
    def of(cls, state: TopologyState) -> PathPorts:
        link = next(
            (r.listen_port for r in state.links if (r.component, r.port) == ("signalr", "http")),
            None,
        )
        if link is None:
            raise HarnessError("the topology has no signalr-http link")
        return cls(
            signalr=state.instances["signalr"].ports["http"],
            link=link,
            gateway=state.instances["tws"].ports["api"],
            pids=tuple(record.pid for record in state.instances.values()),
        )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PathPorts:
        """As to_json wrote it; ValueError naming what is wrong otherwise."""
        try:
            raw = json.loads(text)
            return cls(
                int(raw["signalr"]),
                int(raw["link"]),
                int(raw["gateway"]),
                tuple(int(pid) for pid in raw["pids"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(
                f"not a signal path (JSON with signalr, link, gateway and pids): {error!r}"
            ) from None

    def signal_socket_of(self) -> dict[int, int]:
        """For each process with a socket to the gateway and one to the signal link: its
        gateway socket's local port -> its signal socket's local port."""
        pairs: dict[int, int] = {}
        for pid in self.pids:
            try:
                connections = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.Error:  # gone since the state was read
                continue
            to: dict[int, list[int]] = {}
            for connection in connections:
                if connection.raddr:
                    to.setdefault(connection.raddr.port, []).append(connection.laddr.port)
            for order_port in to.get(self.gateway, []):
                for signal_port in to.get(self.link, [])[:1]:
                    pairs[order_port] = signal_port
        return pairs


# -- the capture (in its own process) ----------------------------------------------------------

Sighting = tuple[int, int, int, str]  # sent at (ns), source port, destination port, signal id


def _filter(sources: Iterable[int], destinations: Iterable[int]) -> bytes:
    """Classic BPF: outgoing IPv4 TCP with a source or destination port of interest."""
    ld_w_abs, ld_h_abs, ld_b_abs, ld_h_ind, ldx_msh = 0x20, 0x28, 0x30, 0x48, 0xB1
    jeq, ret = 0x15, 0x06
    pkttype = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE
    checks = [(ld_w_abs, pkttype, _PACKET_OUTGOING), (ld_h_abs, 12, 0x0800), (ld_b_abs, 23, 6)]
    program: list[tuple[int, str | None, str | None, int]] = []
    for load, offset, value in checks:
        program += [(load, None, None, offset), (jeq, None, "drop", value)]
    program.append((ldx_msh, None, None, 14))  # X = the IP header's length
    for offset, ports in ((14, sources), (16, destinations)):
        program.append((ld_h_ind, None, None, offset))  # the TCP source / destination port
        program += [(jeq, "accept", None, port) for port in ports]
    program += [(ret, None, None, 0), (ret, None, None, 0x40000)]
    labels = {"drop": len(program) - 2, "accept": len(program) - 1}

    def jump(at: int, label: str | None) -> int:
        return 0 if label is None else labels[label] - at - 1

    return b"".join(
        struct.pack("HBBI", code, jump(at, yes), jump(at, no), k)
        for at, (code, yes, no, k) in enumerate(program)
    )


def _capture(sources: list[int], destinations: list[int]) -> None:
    """Print `ready` (or `unavailable: why`), capture until stdin closes, then print the id
    sightings as JSON: [[sent_ns, source port, destination port, signal id], ...]."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
        code = _filter(sources, destinations)
        program = ctypes.create_string_buffer(code, len(code))
        fprog = struct.pack("HL", len(code) // 8, ctypes.addressof(program))  # sock_fprog
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
        stamp_arrivals(sock)
        sock.bind(("lo", 0))
    except OSError as error:
        print(f"unavailable: a packet socket on lo: {error.strerror or error}", flush=True)
        return
    print("ready", flush=True)
    sightings: list[Sighting] = []
    stop = threading.Event()

    def until_stdin_closes() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=until_stdin_closes, daemon=True).start()
    sock.settimeout(0.2)
    wanted_from, wanted_to = set(sources), set(destinations)
    while not stop.is_set():
        try:
            frame, at = recv_stamped(sock, 65536)
        except TimeoutError:
            continue
        ip = frame[14:]
        tcp = ip[(ip[0] & 0x0F) * 4 :]
        source, destination = struct.unpack("!HH", tcp[:4])
        if source not in wanted_from and destination not in wanted_to:
            continue  # before the filter was attached
        payload = tcp[(tcp[12] >> 4) * 4 :]
        for found in set(_SIGNAL_ID.findall(payload)):
            sightings.append((at, source, destination, found.decode()))
    print(json.dumps(sightings), flush=True)


class HopCapture:
    """`with HopCapture(path) as capture: ...send...`; then `capture.hops_ms(signals)`, or
    `capture.unavailable`: why there is no breakdown (no CAP_NET_RAW, say)."""

    def __init__(self, path: PathPorts) -> None:
        self._path = path
        self.sightings: list[Sighting] = []
        self._signal_sockets: dict[int, int] = {}
        self.unavailable = ""
        sources = [path.signalr, path.link]
        destinations = [path.signalr, path.gateway]
        self._capture = subprocess.Popen(
            [sys.executable, "-m", "harness.hops", json.dumps([sources, destinations])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._capture.stdout is not None
        first = self._capture.stdout.readline().strip()
        if first != "ready":
            self.unavailable = first.removeprefix("unavailable: ") or "the capture did not start"
            self._capture.wait()

    def __enter__(self) -> HopCapture:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.unavailable:
            return
        self._signal_sockets = self._path.signal_socket_of()  # before anyone reconnects
        output, _ = self._capture.communicate("", timeout=60)
        self.sightings = [(int(a), int(s), int(d), str(i)) for a, s, d, i in json.loads(output)]

    def hops_ms(self, signals: list[Signal]) -> dict[str, list[float]]:
        if self.unavailable:
            return {}
        return hop_times(signals, self.sightings, self._path, self._signal_sockets)


def hop_times(
    signals: list[Signal],
    sightings: list[Sighting],
    path: PathPorts,
    signal_socket_of: dict[int, int],
) -> dict[str, list[float]]:
    """Each hop's time (ms) for every signal seen all the way to its order; the link and bot
    hops follow the copy delivered to the process that placed the order."""
    post: dict[str, int] = {}
    out: dict[str, int] = {}
    order: dict[str, tuple[int, int]] = {}  # when, and from which local port
    delivered: dict[tuple[int, str], int] = {}  # (client's local port, signal id) -> when
    for at, source, destination, signal_id in sorted(sightings):
        if source == path.signalr:
            out.setdefault(signal_id, at)
        elif destination == path.signalr:
            post.setdefault(signal_id, at)
        elif destination == path.gateway:
            order.setdefault(signal_id, (at, source))
        elif source == path.link:
            delivered.setdefault((destination, signal_id), at)
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for signal in signals:
        if signal.id not in post or signal.id not in out or signal.id not in order:
            continue
        ordered_at, order_port = order[signal.id]
        client = signal_socket_of.get(order_port)
        reached = delivered.get((client, signal.id)) if client is not None else None
        if reached is None:
            continue
        created = int(signal.created_at.timestamp() * 1e9)
        times = (created, post[signal.id], out[signal.id], reached, ordered_at)
        for hop, start, end in zip(HOPS, times, times[1:], strict=False):
            hops[hop].append((end - start) / 1e6)
    return hops


if __name__ == "__main__":
    _capture(*json.loads(sys.argv[1]))
