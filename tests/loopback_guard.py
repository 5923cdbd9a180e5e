"""Fails any attempt by test code (or an SDK it calls) to reach beyond loopback.

Several SDKs probe the network on their own (Azure credential chains ask the instance-metadata
address, Azure Monitor has background senders). The guard refuses non-loopback resolves, connects
and datagrams with an OSError, so nothing leaves the machine, and records each attempt, so the test
that caused it fails even when the SDK swallows the error and retries quietly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NonLoopbackTraffic(OSError):
    """Raised instead of letting a packet leave 127.0.0.1."""


def is_loopback(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port) means the local wildcard
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class LoopbackGuard:
    def __init__(self) -> None:
        self.violations: list[str] = []
        self._originals: dict[str, Any] = {}

    def _refuse(self, what: str, target: object) -> NonLoopbackTraffic:
        message = f"non-loopback {what} refused: {target!r}"
        self.violations.append(message)
        return NonLoopbackTraffic(message)

    def install(self) -> None:
        original_getaddrinfo = socket.getaddrinfo
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_sendto = socket.socket.sendto
        self._originals = {
            "getaddrinfo": original_getaddrinfo,
            "connect": original_connect,
            "connect_ex": original_connect_ex,
            "sendto": original_sendto,
        }
        guard = self

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_loopback(host):
                raise guard._refuse("resolve", host)
            return original_getaddrinfo(host, *args, **kwargs)

        def checked(sock: socket.socket, address: Any, what: str) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
                raise guard._refuse(what, address)

        def connect(sock: socket.socket, address: Any) -> None:
            checked(sock, address, "connect")
            original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            checked(sock, address, "connect")
            return original_connect_ex(sock, address)

        def sendto(sock: socket.socket, data: Any, *rest: Any) -> int:
            checked(sock, rest[-1], "datagram")
            return original_sendto(sock, data, *rest)

        socket.getaddrinfo = getaddrinfo
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if not self._originals:
            return
        socket.getaddrinfo = self._originals["getaddrinfo"]
        socket.socket.connect = self._originals["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._originals["connect_ex"]  # type: ignore[method-assign]
        socket.socket.sendto = self._originals["sendto"]  # type: ignore[method-assign]
        self._originals = {}

    def take_violations(self) -> list[str]:
        taken, self.violations = self.violations, []
        return taken

    @contextmanager
    def expecting_violation(self) -> Iterator[list[str]]:
        """For the guard's own tests: collect what was refused instead of failing the test."""
        seen: list[str] = []
        yield seen
        seen.extend(self.take_violations())


GUARD = LoopbackGuard()
