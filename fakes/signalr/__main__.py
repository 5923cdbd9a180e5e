"""python -m fakes.signalr: run the fake Azure SignalR Service (serverless) on loopback.

Prints one line on stdout once it accepts connections: the connection string, e.g.
`Endpoint=http://127.0.0.1:8888;AccessKey=...;Version=1.0;`. Logs go to stderr. SIGTERM or
Ctrl-C stops it: clients are disconnected (they see close code 1012) and it exits 0.
"""

from __future__ import annotations

import argparse
import gc
import logging
import secrets
import signal
import socket
from collections.abc import Sequence

import uvicorn

from fakes.signalr.app import MAX_CLIENT_MESSAGE_BYTES, Settings, create_app


def connection_string(endpoint: str, access_key: str) -> str:
    return f"Endpoint={endpoint};AccessKey={access_key};Version=1.0;"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready_line: str) -> None:
        super().__init__(config)
        self._ready_line = ready_line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            # What start-up built lives as long as the process: out of every collection from now
            # on. A full collection of it stalled every broadcast for ~27 ms (as the bot does).
            gc.freeze()
            print(self._ready_line, flush=True)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fakes.signalr", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--access-key", default=None, help="the AccessKey tokens are signed with (default: random)"
    )
    parser.add_argument(
        "--keepalive",
        type=_positive,
        default=15.0,
        metavar="SECONDS",
        help="ping a client idle this long (default 15)",
    )
    parser.add_argument(
        "--client-timeout",
        type=_positive,
        default=30.0,
        metavar="SECONDS",
        help="close a client silent this long (default 30)",
    )
    parser.add_argument(
        "--handshake-timeout",
        type=_positive,
        default=15.0,
        metavar="SECONDS",
        help="close a socket without a handshake after this long (default 15)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    access_key = args.access_key or secrets.token_urlsafe(32)
    sock = socket.create_server((args.host, args.port))
    host = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 literal
    endpoint = f"http://{host}:{sock.getsockname()[1]}"
    settings = Settings(
        endpoint, access_key, args.keepalive, args.client_timeout, args.handshake_timeout
    )
    config = uvicorn.Config(
        create_app(settings),
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        ws_max_size=MAX_CLIENT_MESSAGE_BYTES,
        # SignalR keeps connections alive with its own pings; WebSocket pings would confuse
        # signalrcore, which reads control frames as data. The service does not compress.
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
    )
    # uvicorn re-raises the signal it shut down for once it is done; by then the shutdown was
    # the graceful one that was asked for, so let that end in exit code 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    _Server(config, connection_string(endpoint, access_key)).run(sockets=[sock])


if __name__ == "__main__":
    main()
