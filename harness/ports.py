"""Loopback ports: every server binds a free port chosen at start."""

from __future__ import annotations

import itertools
import random
import socket

from harness.errors import PortInUse

LOOPBACK = "127.0.0.1"


# Below Linux's ephemeral range (32768-60999): a port the kernel may hand out as the source port
# of an outgoing connection can be taken between our choice and the server's bind (Toxiproxy's
# docs warn of exactly these intermittent failures).
_LISTEN_RANGE = range(20000, 32768)
# Handed out in turn from a random start: a port chosen for a server that has not bound it yet
# still looks free, so random picks repeated one now and then (about one `spyh up` in forty).
# In turn, a process gets no port twice before it has asked for the whole range.
_candidates = itertools.islice(
    itertools.cycle(_LISTEN_RANGE), random.randrange(len(_LISTEN_RANGE)), None
)


def free_port() -> int:
    """A loopback port free now, outside the ephemeral range, not handed out before."""
    for port in itertools.islice(_candidates, 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
            return port
    raise PortInUse(
        f"no free port on {LOOPBACK} among 200 tried in "
        f"{_LISTEN_RANGE.start}-{_LISTEN_RANGE.stop - 1}"
    )


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
