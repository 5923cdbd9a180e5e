"""Arrival stamps are the kernel's: bytes read long after they arrived keep their arrival time."""

from __future__ import annotations

import socket
import time

from fakes.common.rx_stamp import StampingListener, last_arrival, recv_stamped, stamp_arrivals
from fakes.common.serve import bind

LATE_S = 0.2


def test_a_late_read_is_stamped_with_the_arrival() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        sender = socket.create_connection(server.getsockname())
        receiver, _ = server.accept()
    with sender, receiver:
        stamp_arrivals(receiver)
        sent = time.time_ns()
        sender.sendall(b"placeOrder")
        time.sleep(LATE_S)
        data, arrived = recv_stamped(receiver, 100)
        read = time.time_ns()
    assert data == b"placeOrder"
    assert sent <= arrived < sent + LATE_S * 1e9 / 2 < read


def test_accepted_connections_stamp_what_they_read() -> None:
    with bind("127.0.0.1", 0, StampingListener) as listener:
        sender = socket.create_connection(listener.getsockname())
        connection, _ = listener.accept()
    with sender, connection:
        assert connection.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY only then
        sent = time.time_ns()
        sender.sendall(b"order")
        time.sleep(LATE_S)
        assert connection.recv(100) == b"order"
        assert sent <= last_arrival() < sent + LATE_S * 1e9 / 2
