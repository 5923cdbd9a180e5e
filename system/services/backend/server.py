"""uvicorn's server, announcing on stdout the moment it accepts connections."""

from __future__ import annotations

import socket

import uvicorn


class AnnouncingServer(uvicorn.Server):
    """Prints `{prefix} http://HOST:PORT` once listening (the port may have been 0)."""

    def __init__(self, config: uvicorn.Config, prefix: str) -> None:
        super().__init__(config)
        self._prefix = prefix

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"{self._prefix} http://{host}:{port}", flush=True)
