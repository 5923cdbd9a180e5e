"""When bytes reached a TCP socket: the kernel's receive timestamp, not the reader's wake-up.

A latency figure that ends "at the gateway" ends when the order's bytes are in the gateway's
socket, as a capture on its host would show. The simulator reading them later, once the
scheduler gets round to it among fifteen processes on two CPUs, is not the path under test:
on this VM that wake-up added up to 2-3 ms at p99. With SO_TIMESTAMPNS the kernel stamps each
segment as it arrives and `recvmsg` hands the stamp of the newest segment read back with the
data, so a chunk holding older bytes too is stamped late, never early. Where the kernel gives
no stamp (not Linux), the read's own time stands in.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python 3.11 lacks it
_TIMESPEC = struct.Struct("@qq")  # struct timespec on 64-bit Linux
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)


def stamp_arrivals(sock: socket.socket) -> None:
    """Ask the kernel to stamp every segment this socket receives."""
    with contextlib.suppress(OSError):  # no kernel stamps: reads are stamped when they happen
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def recv_stamped(sock: socket.socket, size: int) -> tuple[bytes, int]:
    """Read up to `size` bytes: the data and when it arrived (ns since the epoch)."""
    data, ancillary, _flags, _address = sock.recvmsg(size, _ANCILLARY)
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack(value[: _TIMESPEC.size])
            return data, seconds * 1_000_000_000 + nanoseconds
    return data, time.time_ns()


_last = threading.local()


def last_arrival() -> int:
    """When the bytes of this thread's latest `StampedSocket.recv` arrived. asyncio's socket
    transports hand what they read to `data_received` at once, in the same callback, so there
    it is the arrival of the data being handed over."""
    stamp: int = getattr(_last, "ns", 0)
    return stamp or time.time_ns()


class StampedSocket(socket.socket):
    """A TCP connection whose `recv` notes when what it returned arrived (asyncio's socket
    transports read with `recv`)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if flags:
            return super().recv(bufsize, flags)
        data, _last.ns = recv_stamped(self, bufsize)
        return data


class StampingListener(socket.socket):
    """A listening socket whose accepted connections are `StampedSocket`s, stamping arrivals.
    Pass it to `loop.create_server(sock=...)`."""

    def accept(self) -> tuple[socket.socket, object]:
        fd, address = self._accept()  # type: ignore[attr-defined]
        connection = StampedSocket(self.family, self.type, self.proto, fileno=fd)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            connection.setblocking(True)  # as socket.accept does
        stamp_arrivals(connection)
        return connection, address
