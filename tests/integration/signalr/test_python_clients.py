"""pysignalr and signalrcore, unchanged, against the fake: through the backend's negotiate
redirect, they receive broadcasts, user and group messages, and survive a dropped connection.

Absence is checked without waiting: the service keeps per-hub order, so when a marker sent
afterwards arrives first, the message that should not have come never will."""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from pysignalr.client import SignalRClient
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol
from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.types import HubProtocolEncoding

from tests.integration.signalr.backend import Backend
from tests.integration.signalr.conftest import Fake, eventually

_hubs = itertools.count()
TIMEOUT_S = 15


def unique_hub() -> str:
    """A hub of its own per test, so tests sharing the fake never see each other's messages."""
    return f"py{next(_hubs)}"


def exercise_sends(fake: Fake, hub: str, user: str, received: Any) -> None:
    """Broadcast, user and group messages reach the client as `received()` yields them; a user
    message to someone else does not."""
    api = f"/api/hubs/{hub}"
    fake.send(f"{api}/:send", "news", "to everyone", {"n": 1})
    assert received() == ("news", ["to everyone", {"n": 1}])

    fake.send(f"{api}/users/someone-else/:send", "news", "not for you")
    fake.send(f"{api}/users/{user}/:send", "news", "for you")
    assert received() == ("news", ["for you"])

    connection_id = fake.connection_of(user)
    joined = fake.rest(
        "PUT", f"{api}/groups/desk/connections/{connection_id}?api-version=2022-06-01"
    )
    assert joined.status_code == 200
    fake.send(f"{api}/groups/desk/:send", "news", "to the desk")
    assert received() == ("news", ["to the desk"])

    assert fake.rest("PUT", f"{api}/users/{user}/groups/traders").status_code == 200
    fake.send(f"{api}/groups/traders/:send", "news", "to the traders")
    assert received() == ("news", ["to the traders"])

    # The v1 paths deliver the same way.
    fake.send(f"/api/v1/hubs/{hub}", "news", "v1 broadcast")
    assert received() == ("news", ["v1 broadcast"])


# --- pysignalr -----------------------------------------------------------------------------


class PySignalR:
    def __init__(self, url: str, messagepack: bool) -> None:
        protocol = MessagepackProtocol() if messagepack else JSONProtocol()
        self.client = SignalRClient(url, protocol=protocol, signalr_ping_interval=1)
        self.inbox: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue()
        self.opened = 0
        self.client.on("news", self._on_news)
        self.client.on_open(self._on_open)

    async def _on_news(self, arguments: list[Any]) -> None:
        await self.inbox.put(("news", arguments))

    async def _on_open(self) -> None:
        self.opened += 1

    def received(self, loop: asyncio.AbstractEventLoop) -> tuple[str, list[Any]]:
        """For the synchronous scenario code: wait for the next message on the client's loop."""
        return asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(self.inbox.get(), TIMEOUT_S), loop
        ).result()


@asynccontextmanager
async def pysignalr_client(url: str, messagepack: bool = False) -> AsyncIterator[PySignalR]:
    client = PySignalR(url, messagepack)
    task = asyncio.create_task(client.client.run())
    try:
        while not client.opened:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def run_in_thread(scenario: Any, *args: Any) -> None:
    """Scenario steps block (REST calls, waits); run them off the loop pysignalr needs."""
    await asyncio.to_thread(scenario, *args)


@pytest.mark.parametrize("messagepack", [False, True], ids=["json", "messagepack"])
async def test_pysignalr_receives_broadcast_user_and_group_messages(
    fake: Fake, backend: Backend, messagepack: bool
) -> None:
    hub = unique_hub()
    loop = asyncio.get_running_loop()
    async with pysignalr_client(f"{backend.url}/api?hub={hub}&user=alice", messagepack) as client:
        await run_in_thread(exercise_sends, fake, hub, "alice", lambda: client.received(loop))
        protocol = "messagepack" if messagepack else "json"
        assert [c["protocol"] for c in fake.connections("alice") if c["hub"] == hub] == [protocol]


async def test_pysignalr_reconnects_after_a_dropped_connection(
    fake: Fake, backend: Backend
) -> None:
    hub = unique_hub()
    loop = asyncio.get_running_loop()
    async with pysignalr_client(f"{backend.url}/api?hub={hub}&user=dora") as client:

        def scenario() -> None:
            before = fake.connection_of("dora")
            fake.admin("POST", "faults/drop", {"mode": "abort"})
            # pysignalr reconnects to the same client URL with the same token, no negotiate.
            fake.connection_of("dora", other_than=before)
            fake.send(f"/api/hubs/{hub}/:send", "news", "after the drop")
            assert client.received(loop) == ("news", ["after the drop"])

        await run_in_thread(scenario)
        assert client.opened == 2
    assert backend.negotiations >= 1


# --- signalrcore -----------------------------------------------------------------------------


class SignalRCore:
    def __init__(self, url: str, protocol: HubProtocolEncoding | None) -> None:
        builder = (
            HubConnectionBuilder()
            .with_url(url)
            .with_automatic_reconnect(
                {
                    "type": "raw",
                    "keep_alive_interval": 1,
                    "reconnect_interval": 0.2,
                    "max_attempts": 50,
                }
            )
        )
        if protocol is not None:
            builder = builder.with_hub_protocol(protocol)
        self.hub = builder.build()
        self.inbox: queue.Queue[tuple[str, list[Any]]] = queue.Queue()
        self.opened = threading.Event()
        self.reconnected = threading.Event()
        self.hub.on("news", lambda arguments: self.inbox.put(("news", arguments)))
        self.hub.on_open(self.opened.set)
        self.hub.on_reconnect(self.reconnected.set)

    def received(self) -> tuple[str, list[Any]]:
        return self.inbox.get(timeout=TIMEOUT_S)


@contextmanager
def signalrcore_client(
    url: str, protocol: HubProtocolEncoding | None = None
) -> Iterator[SignalRCore]:
    client = SignalRCore(url, protocol)
    client.hub.start()
    try:
        assert client.opened.wait(TIMEOUT_S), "signalrcore did not connect"
        yield client
    finally:
        client.hub.stop()


@pytest.mark.parametrize(
    ("protocol", "wire"),
    [(None, "messagepack"), (HubProtocolEncoding.text, "json")],
    ids=["default-messagepack", "json"],
)
def test_signalrcore_receives_broadcast_user_and_group_messages(
    fake: Fake, backend: Backend, protocol: HubProtocolEncoding | None, wire: str
) -> None:
    hub = unique_hub()
    with signalrcore_client(f"{backend.url}/api?hub={hub}&user=carol", protocol) as client:
        exercise_sends(fake, hub, "carol", client.received)
        assert [c["protocol"] for c in fake.connections("carol") if c["hub"] == hub] == [wire]


def test_signalrcore_renegotiates_after_a_dropped_connection(fake: Fake, backend: Backend) -> None:
    hub = unique_hub()
    with signalrcore_client(f"{backend.url}/api?hub={hub}&user=erin") as client:
        before = fake.connection_of("erin")
        fake.admin("POST", "faults/drop", {"mode": "abort"})
        # signalrcore negotiates again with the service (version 0) and comes back as id=<id>.
        after = fake.connection_of("erin", other_than=before)
        assert client.reconnected.wait(TIMEOUT_S)
        fake.send(f"/api/hubs/{hub}/:send", "news", "after the drop")
        assert client.received() == ("news", ["after the drop"])
        assert eventually(lambda: fake.connections("erin"), "erin")[0]["connectionId"] == after
