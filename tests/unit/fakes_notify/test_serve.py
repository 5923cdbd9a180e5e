"""The shared runner's sockets: small responses are not held back, a taken port is named."""

import asyncio
import socket

import pytest

from fakes.common.serve import bind


async def test_accepted_connections_have_nagle_off() -> None:
    listening = bind("127.0.0.1", 0)
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        nodelay.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=listening)
    async with server:
        _reader, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        assert await asyncio.wait_for(nodelay, 5) != 0
        writer.close()


def test_a_taken_port_ends_the_process_with_one_line() -> None:
    taken = bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    with pytest.raises(SystemExit, match=f"error: cannot bind 127.0.0.1:{port}: "):
        bind("127.0.0.1", port)
    taken.close()
