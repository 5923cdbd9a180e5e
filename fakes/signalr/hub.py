"""Connections, groups and users of every hub; delivery to them; keep-alive and timeouts.

Every connection owns an outbox drained by its own writer task. A REST call only appends one
encoded frame to the outboxes of its recipients, synchronously and in call order, so per-hub
order holds and a slow client never holds up a REST call or the other clients. The writer sends
whatever has queued up as one WebSocket message (the protocol allows several hub messages per
frame), which is what keeps a burst of broadcasts cheap.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from fakes.signalr import protocol
from fakes.signalr.protocol import Encoding

log = logging.getLogger("fakes.signalr")

NORMAL_CLOSURE = 1000
# How an abrupt drop reaches the clients: no Close message, and a code that makes them reconnect.
ABNORMAL_CLOSURE = 1011
MAX_BATCH_BYTES = 64 * 1024
# A client that lets this much pile up unread is dropped rather than buffered without end.
MAX_PENDING_BYTES = 16 * 1024 * 1024

Clock = Callable[[], float]


class Transport(Protocol):
    """One client's WebSocket; `send` raises ConnectionError once the client is gone."""

    async def send(self, frame: bytes) -> None: ...

    async def close(self, code: int) -> None: ...


class Connection:
    """One client: who it is, what it joined, and the outbox its writer drains."""

    def __init__(
        self,
        hub: Hub,
        connection_id: str,
        user_id: str | None,
        encoding: Encoding,
        transport: Transport,
        clock: Clock,
    ) -> None:
        self.hub = hub
        self.id = connection_id
        self.user_id = user_id
        self.encoding = encoding
        self.groups: set[str] = set()  # joined by connection id (user groups are on the hub)
        self.delivered = 0
        self.last_sent = self.last_received = clock()
        self._clock = clock
        self._transport = transport
        self._pending: deque[tuple[bytes, bool]] = deque()
        self._pending_bytes = 0
        self._waiting: asyncio.Future[None] | None = None  # the writer, when it has nothing to do
        self._close_code: int | None = None
        self._gone = False

    @property
    def closing(self) -> bool:
        return self._gone or self._close_code is not None

    @property
    def idle(self) -> bool:
        return not self._pending

    def enqueue(self, frame: bytes, message: bool = True) -> None:
        if self.closing:
            return
        if self._pending_bytes + len(frame) > MAX_PENDING_BYTES:
            log.warning("dropping %s: %d bytes unread", self.id, self._pending_bytes)
            self.abort()
            return
        self._push(frame, message)

    def touch(self) -> None:
        self.last_received = self._clock()

    def close(self, error: str | None = None, allow_reconnect: bool = False) -> None:
        """Send what is queued, then a Close message, then close the socket."""
        if not self.closing:
            self._push(protocol.close(self.encoding, error, allow_reconnect), message=False)
            self._finish(NORMAL_CLOSURE)

    def end(self) -> None:
        """The client said goodbye: close the socket without more to say."""
        if not self.closing:
            self._finish(NORMAL_CLOSURE)

    def abort(self) -> None:
        """Drop the connection abruptly: what is queued is lost and no Close message is sent."""
        if not self._gone:
            self._pending.clear()
            self._pending_bytes = 0
            self._finish(ABNORMAL_CLOSURE)

    def disconnected(self) -> None:
        """The socket is gone already; stop writing."""
        self._gone = True
        self._wake()

    async def pump(self) -> None:
        """The writer: drains the outbox until the connection closes."""
        try:
            while True:
                while self._pending and not self._gone:
                    frame, messages = self._take_batch()
                    await self._transport.send(frame)
                    self.last_sent = self._clock()
                    self.delivered += messages
                    self.hub.delivered += messages
                if self._gone:
                    return
                if self._close_code is not None:
                    await self._transport.close(self._close_code)
                    return
                self._waiting = asyncio.get_running_loop().create_future()
                await self._waiting
        except ConnectionError:
            return

    def _wake(self) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)

    def _push(self, frame: bytes, message: bool) -> None:
        self._pending.append((frame, message))
        self._pending_bytes += len(frame)
        self._wake()

    def _finish(self, code: int) -> None:
        self._close_code = code
        self._wake()

    def _take_batch(self) -> tuple[bytes, int]:
        if len(self._pending) == 1:  # the common case: one message since the last write
            frame, message = self._pending.popleft()
            self._pending_bytes -= len(frame)
            return frame, message
        frames: list[bytes] = []
        size = messages = 0
        while self._pending and (not frames or size + len(self._pending[0][0]) <= MAX_BATCH_BYTES):
            frame, message = self._pending.popleft()
            frames.append(frame)
            size += len(frame)
            messages += message
        self._pending_bytes -= size
        return b"".join(frames), messages


class Hub:
    """One hub's state. Group membership comes two ways: connections added by id, and users
    added to the group (until their TTL runs out), whose connections, now and future, belong."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connections: dict[str, Connection] = {}
        self.users: dict[str, dict[str, Connection]] = {}
        self.groups: dict[str, dict[str, Connection]] = {}
        self.user_groups: dict[str, dict[str, float]] = {}  # group -> user -> expires at
        self.accepted = 0
        self.delivered = 0

    def group_members(self, group: str, now: float) -> dict[str, Connection]:
        members = dict(self.groups.get(group, {}))
        for user, expires_at in self.user_groups.get(group, {}).items():
            if expires_at > now:
                members.update(self.users.get(user, {}))
        return members

    def join(self, connection: Connection, group: str) -> None:
        self.groups.setdefault(group, {})[connection.id] = connection
        connection.groups.add(group)

    def leave(self, connection: Connection, group: str) -> bool:
        members = self.groups.get(group, {})
        if members.pop(connection.id, None) is None:
            return False
        if not members:
            del self.groups[group]
        connection.groups.discard(group)
        return True


@dataclass(frozen=True)
class Reservation:
    """A negotiated connection the client has not opened yet."""

    hub: str
    connection_id: str
    expires_at: float


class Service:
    """All hubs of one service instance, and the timers that keep their connections honest."""

    def __init__(
        self,
        keepalive_s: float,
        client_timeout_s: float,
        handshake_timeout_s: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.keepalive_s = keepalive_s
        self.client_timeout_s = client_timeout_s
        self.handshake_timeout_s = handshake_timeout_s
        self.clock = clock
        self._hubs: dict[str, Hub] = {}
        self._reservations: dict[str, Reservation] = {}

    def hub(self, name: str) -> Hub:
        hub = self._hubs.get(name)
        if hub is None:
            hub = self._hubs[name] = Hub(name)
        return hub

    # --- negotiate and connect -------------------------------------------------------------

    def reserve(self, hub: str, with_token: bool) -> tuple[str, str | None]:
        """A connection id, and for negotiate version 1 the secret token the client then
        presents as `id=` (version 0 clients present the connection id itself)."""
        connection_id = new_id()
        token = new_id() if with_token else None
        self._reservations[token or connection_id] = Reservation(
            hub, connection_id, self.clock() + self.handshake_timeout_s
        )
        return connection_id, token

    def claim(self, hub: str, presented_id: str) -> str | None:
        reservation = self._reservations.pop(presented_id, None)
        if reservation is None or reservation.hub != hub or reservation.expires_at < self.clock():
            return None
        return reservation.connection_id

    def attach(
        self,
        hub_name: str,
        connection_id: str,
        user_id: str | None,
        encoding: Encoding,
        transport: Transport,
    ) -> Connection:
        hub = self.hub(hub_name)
        connection = Connection(hub, connection_id, user_id, encoding, transport, self.clock)
        hub.connections[connection_id] = connection
        if user_id is not None:
            hub.users.setdefault(user_id, {})[connection_id] = connection
        return connection

    def detach(self, connection: Connection) -> None:
        hub = connection.hub
        if hub.connections.get(connection.id) is not connection:
            return
        del hub.connections[connection.id]
        if connection.user_id is not None:
            own = hub.users[connection.user_id]
            del own[connection.id]
            if not own:
                del hub.users[connection.user_id]
        for group in list(connection.groups):
            hub.leave(connection, group)

    # --- delivery ---------------------------------------------------------------------------

    def send(
        self, hub: Hub, recipients: Iterable[Connection], target: str, arguments: list[Any]
    ) -> None:
        """Queue one invocation for every recipient. Both encodings are built first, so a
        payload one of them cannot carry fails the call before anything is queued."""
        frames = {
            encoding: protocol.invocation(encoding, target, arguments) for encoding in Encoding
        }
        hub.accepted += 1
        for connection in recipients:
            connection.enqueue(frames[connection.encoding])

    def everyone(self, hub: Hub, excluded: Iterable[str] = ()) -> list[Connection]:
        return _without(hub.connections.values(), excluded)

    def of_user(self, hub: Hub, user: str, excluded: Iterable[str] = ()) -> list[Connection]:
        return _without(hub.users.get(user, {}).values(), excluded)

    def of_group(self, hub: Hub, group: str, excluded: Iterable[str] = ()) -> list[Connection]:
        return _without(hub.group_members(group, self.clock()).values(), excluded)

    def by_id(self, hub: Hub, connection_id: str) -> list[Connection]:
        connection = hub.connections.get(connection_id)
        return [] if connection is None else [connection]

    # --- groups ------------------------------------------------------------------------------

    def add_user_to_group(self, hub: Hub, group: str, user: str, ttl_s: int | None) -> None:
        """No TTL: member until removed. TTL 0: only the user's connections of this moment."""
        if ttl_s == 0:
            for connection in hub.users.get(user, {}).values():
                hub.join(connection, group)
            return
        expires_at = math.inf if ttl_s is None else self.clock() + ttl_s
        hub.user_groups.setdefault(group, {})[user] = expires_at

    def remove_user_from_group(self, hub: Hub, group: str, user: str) -> None:
        members = hub.user_groups.get(group, {})
        members.pop(user, None)
        if not members:
            hub.user_groups.pop(group, None)
        for connection in list(hub.users.get(user, {}).values()):
            hub.leave(connection, group)

    def remove_user_from_all_groups(self, hub: Hub, user: str) -> None:
        groups = {group for group, users in hub.user_groups.items() if user in users}
        for connection in hub.users.get(user, {}).values():
            groups |= connection.groups
        for group in groups:
            self.remove_user_from_group(hub, group, user)

    def user_in_group(self, hub: Hub, group: str, user: str) -> bool:
        if hub.user_groups.get(group, {}).get(user, -math.inf) > self.clock():
            return True
        return any(group in c.groups for c in hub.users.get(user, {}).values())

    # --- closing -----------------------------------------------------------------------------

    def close(self, connections: Iterable[Connection], reason: str | None) -> None:
        """Close as the service does on request: a Close carrying the reason, reconnect allowed."""
        for connection in list(connections):
            connection.close(reason, allow_reconnect=True)

    def drop(self, mode: str, error: str | None, allow_reconnect: bool, hub: str | None) -> int:
        """Fault injection: `abort` drops clients abruptly, `close` sends them a Close; all of
        them, or one hub's."""
        if hub is None:
            hubs = list(self._hubs.values())
        else:
            hubs = [self._hubs[hub.lower()]] if hub.lower() in self._hubs else []
        connections = [c for h in hubs for c in h.connections.values()]
        for connection in connections:
            if mode == "abort":
                connection.abort()
            else:
                connection.close(error, allow_reconnect)
        return len(connections)

    # --- timers ------------------------------------------------------------------------------

    async def run_timers(self) -> None:
        # ASP.NET Core checks on a 1 s timer; short intervals (tests) need a finer one.
        tick = min(1.0, self.keepalive_s / 4, self.client_timeout_s / 4)
        while True:
            await asyncio.sleep(tick)
            self.tick()

    def tick(self) -> None:
        now = self.clock()
        for hub in self._hubs.values():
            for connection in list(hub.connections.values()):
                if now - connection.last_received >= self.client_timeout_s:
                    # What ASP.NET Core sends on a client timeout: a Close allowing reconnect.
                    connection.close(allow_reconnect=True)
                elif connection.idle and now - connection.last_sent >= self.keepalive_s:
                    connection.enqueue(protocol.ping(connection.encoding), message=False)
            for group, users in list(hub.user_groups.items()):
                for user in [u for u, expires_at in users.items() if expires_at <= now]:
                    del users[user]
                if not users:
                    del hub.user_groups[group]
        for key in [k for k, r in self._reservations.items() if r.expires_at < now]:
            del self._reservations[key]

    # --- inspection --------------------------------------------------------------------------

    def describe_connections(self) -> list[dict[str, object]]:
        return [
            {
                "hub": hub.name,
                "connectionId": c.id,
                "userId": c.user_id,
                "protocol": c.encoding.value,
                "groups": sorted(c.groups | self._user_groups(hub, c.user_id)),
                "delivered": c.delivered,
            }
            for hub in self._hubs.values()
            for c in hub.connections.values()
        ]

    def _user_groups(self, hub: Hub, user: str | None) -> set[str]:
        if user is None:
            return set()
        now = self.clock()
        return {g for g, users in hub.user_groups.items() if users.get(user, -math.inf) > now}

    def describe_messages(self) -> dict[str, dict[str, int]]:
        return {
            hub.name: {"accepted": hub.accepted, "delivered": hub.delivered}
            for hub in self._hubs.values()
        }


def new_id() -> str:
    """22 URL-safe characters, like the ids ASP.NET Core hands out."""
    return secrets.token_urlsafe(16)


def _without(connections: Iterable[Connection], excluded: Iterable[str]) -> list[Connection]:
    skip = set(excluded)
    return [c for c in connections if c.id not in skip]
