"""Hub state and delivery: groups by connection and by user (with TTL), exclusions, order,
keep-alive and timeouts, on a fake clock and an in-memory socket."""

from __future__ import annotations

import asyncio
import json

import pytest

from fakes.signalr import protocol
from fakes.signalr.hub import (
    ABNORMAL_CLOSURE,
    MAX_PENDING_BYTES,
    NORMAL_CLOSURE,
    Connection,
    Service,
)
from fakes.signalr.protocol import Encoding


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Socket:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed_with: int | None = None

    async def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    async def close(self, code: int) -> None:
        self.closed_with = code

    def messages(self) -> list[dict[str, object]]:
        records = b"".join(self.frames).split(b"\x1e")[:-1]
        return [json.loads(record) for record in records]

    def targets(self) -> list[object]:
        return [m.get("target") for m in self.messages() if m["type"] == 1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(clock: Clock) -> Service:
    return Service(keepalive_s=15, client_timeout_s=30, handshake_timeout_s=15, clock=clock)


def connect(
    service: Service, user: str | None = None, hub: str = "chat"
) -> tuple[Connection, Socket]:
    socket = Socket()
    connection = service.attach(hub, protocol_id(), user, Encoding.JSON, socket)
    return connection, socket


_ids = iter(range(1_000_000))


def protocol_id() -> str:
    return f"c{next(_ids)}"


async def flush(*connections: Connection) -> None:
    """Let the writers drain what is queued (their pumps run until the connection closes)."""
    pumps = [asyncio.create_task(c.pump()) for c in connections]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    for pump in pumps:
        pump.cancel()


async def test_broadcast_reaches_everyone_but_the_excluded(service: Service) -> None:
    (a, sa), (b, sb) = connect(service), connect(service)
    hub = service.hub("chat")
    service.send(hub, service.everyone(hub, excluded=[b.id]), "news", [1])
    await flush(a, b)
    assert sa.targets() == ["news"]
    assert sb.targets() == []
    assert (hub.accepted, hub.delivered, a.delivered) == (1, 1, 1)


async def test_queued_messages_go_out_in_order_in_one_frame(service: Service) -> None:
    a, sa = connect(service)
    hub = service.hub("chat")
    for n in range(100):
        service.send(hub, service.everyone(hub), f"m{n}", [])
    await flush(a)
    assert sa.targets() == [f"m{n}" for n in range(100)]
    assert len(sa.frames) == 1


async def test_a_user_group_covers_the_users_connections_now_and_later(service: Service) -> None:
    hub = service.hub("chat")
    first, _ = connect(service, user="alice")
    service.add_user_to_group(hub, "desk", "alice", ttl_s=None)
    second, _ = connect(service, user="alice")
    other, _ = connect(service, user="bob")
    assert {c.id for c in service.of_group(hub, "desk")} == {first.id, second.id}
    assert service.user_in_group(hub, "desk", "alice")
    assert not service.user_in_group(hub, "desk", "bob")
    assert other not in service.of_group(hub, "desk")


async def test_user_group_membership_ends_with_its_ttl(service: Service, clock: Clock) -> None:
    hub = service.hub("chat")
    connect(service, user="alice")
    service.add_user_to_group(hub, "desk", "alice", ttl_s=60)
    clock.now += 59
    assert service.of_group(hub, "desk")
    assert service.user_in_group(hub, "desk", "alice")
    clock.now += 2
    assert not service.of_group(hub, "desk")
    assert not service.user_in_group(hub, "desk", "alice")
    service.tick()
    assert hub.user_groups == {}


async def test_ttl_zero_adds_only_the_connections_of_the_moment(service: Service) -> None:
    hub = service.hub("chat")
    now, _ = connect(service, user="alice")
    service.add_user_to_group(hub, "desk", "alice", ttl_s=0)
    _later, _ = connect(service, user="alice")
    assert service.of_group(hub, "desk") == [now]
    service.remove_user_from_group(hub, "desk", "alice")
    assert service.of_group(hub, "desk") == []


async def test_removing_a_user_from_all_groups(service: Service) -> None:
    hub = service.hub("chat")
    alice, _ = connect(service, user="alice")
    service.add_user_to_group(hub, "a", "alice", ttl_s=None)
    service.add_user_to_group(hub, "b", "alice", ttl_s=0)
    service.remove_user_from_all_groups(hub, "alice")
    assert service.of_group(hub, "a") == []
    assert service.of_group(hub, "b") == []
    assert alice.groups == set()


async def test_leaving_cleans_up_users_and_groups(service: Service) -> None:
    hub = service.hub("chat")
    alice, _ = connect(service, user="alice")
    hub.join(alice, "desk")
    service.detach(alice)
    assert (hub.connections, hub.users, hub.groups) == ({}, {}, {})


async def test_an_idle_connection_is_pinged(service: Service, clock: Clock) -> None:
    a, sa = connect(service)
    clock.now += 14
    service.tick()
    await flush(a)
    assert sa.messages() == []
    clock.now += 1
    service.tick()
    await flush(a)
    assert sa.messages() == [{"type": 6}]


async def test_a_silent_client_is_closed_with_reconnect_allowed(
    service: Service, clock: Clock
) -> None:
    a, sa = connect(service)
    clock.now += 29
    a.touch()
    clock.now += 29
    service.tick()
    assert not a.closing
    clock.now += 1
    service.tick()
    await a.pump()
    assert sa.messages()[-1] == {"type": 7, "allowReconnect": True}
    assert sa.closed_with == NORMAL_CLOSURE


async def test_abort_loses_the_queue_and_says_nothing(service: Service) -> None:
    a, sa = connect(service)
    hub = service.hub("chat")
    service.send(hub, [a], "lost", [])
    a.abort()
    await a.pump()
    assert (sa.frames, sa.closed_with) == ([], ABNORMAL_CLOSURE)


async def test_a_client_that_never_reads_is_dropped(service: Service) -> None:
    a, sa = connect(service)
    hub = service.hub("chat")
    big = "x" * (MAX_PENDING_BYTES // 4)
    for _ in range(5):
        service.send(hub, [a], "big", [big])
    await a.pump()
    assert sa.closed_with == ABNORMAL_CLOSURE


async def test_a_close_is_sent_after_what_was_queued(service: Service) -> None:
    a, sa = connect(service)
    hub = service.hub("chat")
    service.send(hub, [a], "last", [])
    service.close([a], "maintenance")
    service.send(hub, [a], "too late", [])
    await a.pump()
    assert sa.messages() == [
        {"type": 1, "target": "last", "arguments": []},
        {"type": 7, "error": "maintenance", "allowReconnect": True},
    ]


async def test_a_payload_messagepack_cannot_carry_is_refused_before_anything_is_sent(
    service: Service,
) -> None:
    a, sa = connect(service)
    hub = service.hub("chat")
    with pytest.raises(protocol.UnencodableMessage):
        service.send(hub, [a], "huge", [2**70])
    await flush(a)
    assert (sa.frames, hub.accepted) == ([], 0)


def test_a_reservation_is_claimed_once_for_its_hub_before_it_expires(
    service: Service, clock: Clock
) -> None:
    connection_id, token = service.reserve("chat", with_token=True)
    assert token is not None
    assert token != connection_id
    assert service.claim("other", token) is None  # and it is gone now
    connection_id, token = service.reserve("chat", with_token=True)
    assert service.claim("chat", token or "") == connection_id
    assert service.claim("chat", token or "") is None
    connection_id, _ = service.reserve("chat", with_token=False)
    clock.now += 16
    assert service.claim("chat", connection_id) is None
