"""The hop capture on the real loopback interface: real sockets, the kernel's own stamps."""

import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from decimal import Decimal

from harness.hops import HopCapture, PathPorts
from harness.latency import make_signal
from harness.ports import LOOPBACK
from system.domain.contracts import OptionContract, Right

CALL = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal(600), right=Right.CALL
)
PAUSE_S = 0.005


@contextmanager
def connected_pair(stack: ExitStack) -> Iterator[tuple[socket.socket, socket.socket, int]]:
    """(the client's end, the server's end, the server's port) of one loopback connection."""
    server = stack.enter_context(socket.create_server((LOOPBACK, 0)))
    port = server.getsockname()[1]
    client = stack.enter_context(socket.create_connection((LOOPBACK, port)))
    accepted = stack.enter_context(server.accept()[0])
    for end in (client, accepted):
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    yield client, accepted, port


def test_each_hop_of_a_signal_is_seen_on_its_own_ports_and_nothing_else_is() -> None:
    signal = make_signal(CALL, 0, ttl_s=30)
    named = signal.id.encode()
    with ExitStack() as stack:
        # This process plays every part: the sender and the service, the proxy and the bot.
        sender, service, signalr = stack.enter_context(connected_pair(stack))
        bot_signals, proxy, link = stack.enter_context(connected_pair(stack))
        bot_orders, _, gateway = stack.enter_context(connected_pair(stack))
        elsewhere, _, _ = stack.enter_context(connected_pair(stack))
        path = PathPorts(signalr=signalr, link=link, gateway=gateway, pids=(os.getpid(),))
        with HopCapture(path) as capture:
            if os.geteuid() != 0 and capture.unavailable:
                # Without CAP_NET_RAW there is no breakdown, and the figures say why.
                assert "packet socket" in capture.unavailable
                return
            assert not capture.unavailable
            for end, payload in (
                (elsewhere, b"not on the path: " + named),
                (sender, b'POST /api/hubs/signals/:send {"id":"%s"}' % named),
                (service, b'{"type":1,"arguments":[{"id":"%s"}]}\x1e' % named),
                (proxy, b'{"type":1,"arguments":[{"id":"%s"}]}\x1e' % named),
                (bot_orders, b"3\x00...\x00%s\x00" % named),
            ):
                time.sleep(PAUSE_S)
                end.sendall(payload)
            time.sleep(0.2)  # the capture has read the last segment
        on_path = {
            (sender.getsockname()[1], signalr),
            (signalr, sender.getsockname()[1]),
            (link, bot_signals.getsockname()[1]),
            (bot_orders.getsockname()[1], gateway),
        }

    assert {(source, destination) for _, source, destination, _ in capture.sightings} == on_path
    hops = capture.hops_ms([signal])
    # Each hop took at least the pause before its segment was sent (the kernel's stamps).
    assert all(len(times) == 1 and times[0] >= PAUSE_S * 1e3 for times in hops.values()), hops
