"""Runs a fake's ASGI apps on uvicorn: bound sockets, one ready line, a clean exit on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"
# Long polls still open at shutdown are cut after this, so SIGTERM ends the process promptly.
SHUTDOWN_GRACE_S = 1


@dataclass(frozen=True)
class Listener:
    """One app on one bound socket, served over TLS when a certificate is given."""

    app: ASGIApp
    sock: socket.socket
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.certfile else 'http'}://{host}:{port}"


def add_listen_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=LOOPBACK, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, required=True, help="port to bind; 0 picks a free one")


def bind(host: str, port: int, kind: type[socket.socket] = socket.socket) -> socket.socket:
    """A listening socket (of class `kind`), bound before the server starts so the ready line
    can name its port. A port in use ends the process with one line naming it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on such sockets, and without it Nagle's
    # algorithm and delayed ACKs hold every small response for ~40 ms.
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        sys.exit(f"error: cannot bind {host}:{port}: {error.strerror}")
    sock.listen(128)
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # serve() owns SIGTERM/SIGINT for all servers; uvicorn's own handler would re-raise the
        # signal after shutdown and the process would end "killed" instead of exiting 0.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def _config(listener: Listener) -> uvicorn.Config:
    return uvicorn.Config(
        listener.app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        ssl_certfile=listener.certfile,
        ssl_keyfile=listener.keyfile,
    )


async def _serve(listeners: Sequence[Listener], ready_line: str) -> None:
    servers = [_Server(_config(listener)) for listener in listeners]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)

    async def run_all() -> None:
        pairs = zip(servers, listeners, strict=True)
        await asyncio.gather(*(server.serve(sockets=[lis.sock]) for server, lis in pairs))

    async def all_ready() -> None:
        await asyncio.gather(*(server.ready.wait() for server in servers))

    serving, started = asyncio.create_task(run_all()), asyncio.create_task(all_ready())
    await asyncio.wait([serving, started], return_when=asyncio.FIRST_COMPLETED)
    if started.done():
        print(ready_line, flush=True)
    else:
        started.cancel()
    await serving


def serve(listeners: Sequence[Listener], ready_line: str) -> None:
    """Serve until SIGTERM or SIGINT, printing `ready_line` on stdout once every listener
    accepts connections. Returns normally (exit code 0) after a graceful shutdown."""
    asyncio.run(_serve(listeners, ready_line))
