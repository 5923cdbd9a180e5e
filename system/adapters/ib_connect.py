"""Connecting ib_async to IB Gateway, failing as soon as the gateway side closes the socket.

ib_async waits out its whole timeout for the API handshake even after the socket has closed
(ib_insync#118): whatever accepts connections in front of a gateway that is down (the socat of
the usual IB Gateway containers, a proxy, the harness's Toxiproxy link) closes each one at once,
and every attempt then sat out the timeout (10 s for the backend) before the next could begin.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ib_async import IB


async def connect(
    ib: IB, host: str, port: int, client_id: int, timeout_s: float, **options: Any
) -> None:
    """`ib.connectAsync`, raising ConnectionError the moment the socket closes under it."""
    closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_closed(message: str) -> None:  # the socket's end, with the error if there was one
        if not closed.done():
            closed.set_result(message or "closed by the peer")

    ib.client.conn.disconnected += on_closed
    connecting = asyncio.ensure_future(
        ib.connectAsync(host, port, client_id, timeout=timeout_s, **options)
    )
    try:
        await asyncio.wait({connecting, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ib.client.conn.disconnected -= on_closed
        if not connecting.done():
            connecting.cancel()  # it disconnects as it ends
            await asyncio.wait({connecting})
    if not connecting.cancelled():
        connecting.result()  # its own error, if it failed on its own
        return
    raise ConnectionError(f"the gateway side closed the connection ({closed.result()})")
