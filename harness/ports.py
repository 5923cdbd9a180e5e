"""Loopback ports: every server binds a free port chosen at start."""

from __future__ import annotations

import socket

from harness.errors import PortInUse

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port the kernel says is free now. Ephemeral ports are assigned outside the range
    other processes are handed, so a later bind rarely races; a race shows as PortInUse."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int, wanted_by: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            raise PortInUse(
                f"port {LOOPBACK}:{port} is already in use (wanted by {wanted_by})"
            ) from None


def is_listening(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
