"""Connections and the process: handshake, framing, pacing, listening, restart, admin server.

Each TCP connection goes PREFIX (``API\\0``) -> VERSION (one framed ``v<min>..<max>``) ->
START (startApi) -> READY. Input that cannot be framed closes only that connection; a
request that cannot be parsed gets an IB error reply and the connection lives on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Literal, cast

import uvicorn

from fakes.common.rx_stamp import StampingListener, last_arrival
from fakes.common.serve import bind
from fakes.tws import messages as msg
from fakes.tws.admin import create_app
from fakes.tws.gateway import Gateway, GatewayConfig, Subscription
from fakes.tws.metrics import Metrics
from fakes.tws.wire import (
    HANDSHAKE_PREFIX,
    Field,
    FieldError,
    FrameDecoder,
    FrameError,
    encode_message,
    negotiate,
    parse_version_request,
    split_fields,
)

log = logging.getLogger("fakes.tws")

# A client that stops reading while we keep sending is dropped before it costs us memory.
MAX_OUTPUT_BUFFER = 64 * 1024 * 1024


class Stage(enum.Enum):
    PREFIX = enum.auto()
    VERSION = enum.auto()
    START = enum.auto()
    READY = enum.auto()
    CLOSED = enum.auto()


class Pacing:
    """IB's message-rate limit: a sliding window per connection. Over the limit a message is
    refused (error 100); still over it `sustain_s` later, the client is disconnected."""

    def __init__(self, limit: int, window_s: float = 1.0, sustain_s: float = 1.0) -> None:
        self.limit = limit
        self._window = window_s
        self._sustain = sustain_s
        self._times: deque[float] = deque()
        self._violating_since: float | None = None

    @property
    def received(self) -> int:
        return len(self._times)

    def admit(self, now: float) -> Literal["ok", "refuse", "disconnect"]:
        times = self._times
        while times and now - times[0] >= self._window:
            times.popleft()
        times.append(now)
        if len(times) <= self.limit:
            self._violating_since = None
            return "ok"
        if self._violating_since is None:
            self._violating_since = now
        return "disconnect" if now - self._violating_since >= self._sustain else "refuse"


class ApiConnection(asyncio.Protocol):
    def __init__(self, gateway: Gateway, pacing: Pacing | None) -> None:
        self.gateway = gateway
        self.pacing = pacing
        self.transport: asyncio.Transport | None = None
        self.stage = Stage.PREFIX
        self._prefix = b""
        self._frames = FrameDecoder()
        self._out: list[bytes] = []
        self.client_id: int | None = None
        self.market_data_type = 1
        self.subscriptions: dict[int, Subscription] = {}
        self.account_updates = False
        self.positions = False
        self.position_multi: set[int] = set()
        self.account_multi: set[int] = set()
        self.summaries: dict[int, frozenset[str]] = {}
        self.received_ns = 0  # when the bytes being handled reached the socket (kernel's clock)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.gateway.register(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stage = Stage.CLOSED
        self.gateway.unregister(self)

    def data_received(self, data: bytes) -> None:
        self.received_ns = last_arrival()
        if self.stage is Stage.PREFIX:
            need = len(HANDSHAKE_PREFIX) - len(self._prefix)
            self._prefix += data[:need]
            data = data[need:]
            if not HANDSHAKE_PREFIX.startswith(self._prefix):
                self._abort(f"garbage before the handshake: {self._prefix!r}")
                return
            if len(self._prefix) < len(HANDSHAKE_PREFIX):
                return
            self.stage = Stage.VERSION
        try:
            payloads = self._frames.feed(data)
        except FrameError as problem:
            self._abort(str(problem))
            return
        for payload in payloads:
            if self.stage is Stage.CLOSED:
                return
            self._receive(payload)

    # -- the gateway's view ----------------------------------------------------------------

    def send(self, fields: Sequence[Field]) -> None:
        if self.stage is Stage.CLOSED:
            return
        self._out.append(encode_message(fields))
        self.gateway.mark_dirty(self)

    def flush_out(self) -> None:
        if not self._out or self.transport is None or self.transport.is_closing():
            self._out.clear()
            return
        self.transport.write(b"".join(self._out))
        self.gateway.metrics.messages_out.inc(len(self._out))
        self._out.clear()
        if self.transport.get_write_buffer_size() > MAX_OUTPUT_BUFFER:
            self._abort("client is not reading its messages")

    def close(self) -> None:
        self.flush_out()
        self.stage = Stage.CLOSED
        self.gateway.unregister(self)  # at once: a reconnect must not meet its own ghost (326)
        if self.transport is not None:
            self.transport.close()

    # -- internals -------------------------------------------------------------------------

    def _abort(self, why: str) -> None:
        log.warning("closing connection (client %s): %s", self.client_id, why)
        self.gateway.metrics.protocol_errors.inc()
        self.stage = Stage.CLOSED
        self.gateway.unregister(self)
        if self.transport is not None:
            self.transport.abort()

    def _receive(self, payload: bytes) -> None:
        if self.stage is Stage.VERSION:
            try:
                request = parse_version_request(payload)
            except FieldError as problem:
                self._abort(str(problem))
                return
            if negotiate(request, msg.SERVER_VERSION) is None:
                self._abort(f"no common version with v{request.min_version}..{request.max_version}")
                return
            # ibapi parses one message from its first read and drops the rest: send it alone.
            assert self.transport is not None
            self.transport.write(encode_message(msg.handshake_reply(dt.datetime.now(dt.UTC))))
            self.stage = Stage.START
            return
        fields = split_fields(payload)
        if self.pacing is not None and not self._paced():
            return
        if self.stage is Stage.START:
            self._start(fields)
            return
        try:
            self.gateway.handle(self, fields)
        except Exception:  # a simulator bug must cost one reply, not the connection
            log.exception("error handling %s", fields[:3])
            self.send(msg.error(-1, 322, "Error processing request:-'' : cause - internal error"))

    def _start(self, fields: list[str]) -> None:
        if fields[:1] != [str(int(msg.In.START_API))]:
            self.send(
                msg.error(-1, 321, "Error validating request:-'' : cause - startApi expected")
            )
            return
        try:
            admitted = self.gateway.start_api(self, fields)
        except FieldError as problem:
            self._abort(f"bad startApi: {problem}")
            return
        if admitted:
            self.stage = Stage.READY

    def _paced(self) -> bool:
        assert self.pacing is not None
        verdict = self.pacing.admit(time.monotonic())
        if verdict == "ok":
            return True
        self.gateway.metrics.pacing_violations.inc()
        if verdict == "disconnect":
            self.close()
            return False
        limit, received = self.pacing.limit, self.pacing.received
        self.gateway.metrics.errors.labels("100").inc()
        self.send(
            msg.error(
                -1,
                100,
                f"Max rate of messages per second has been exceeded:max={limit} rec={received} (1)",
            )
        )
        return False


class _EmbeddedUvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the simulator owns SIGTERM; uvicorn must not re-raise it after shutdown


class Simulator:
    """The whole process: API listener, admin HTTP server, market clock."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.api_port = config.port
        self.admin_port = config.admin_port
        self.restarting = False
        self._gateway: Gateway | None = None
        self._server: asyncio.Server | None = None
        self._admin: _EmbeddedUvicorn | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def gateway(self) -> Gateway:
        assert self._gateway is not None, "simulator not started"
        return self._gateway

    async def start(self) -> None:
        self._gateway = Gateway(self.config, self.metrics, dt.datetime.now(dt.UTC))
        await self._listen()
        admin_socket = bind(self.config.host, self.config.admin_port)
        self.admin_port = admin_socket.getsockname()[1]
        uv_config = uvicorn.Config(
            create_app(self), lifespan="off", log_level="warning", access_log=False
        )
        self._admin = _EmbeddedUvicorn(uv_config)
        self._tasks.append(asyncio.create_task(self._admin.serve(sockets=[admin_socket])))
        while not self._admin.started:
            if self._tasks[0].done():
                self._tasks[0].result()  # raises why the admin server could not start
            await asyncio.sleep(0.01)
        self._tasks.append(asyncio.create_task(self._market_clock()))

    def ready_line(self) -> str:
        return (
            f"fakes.tws ready api={self.config.host}:{self.api_port} "
            f"admin=http://{self.config.host}:{self.admin_port} "
            f"server_version={msg.SERVER_VERSION} account={self.config.account} "
            f"seed={self.config.seed} next_valid_id={self.gateway.ids.next_order_id}"
        )

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        gateway = self.gateway
        rate, pacing = self.config.max_rate, self.config.pacing
        # Each order is stamped with the kernel's receipt of its bytes (see rx_stamp).
        listener = bind(self.config.host, self.api_port, StampingListener)
        listener.setblocking(False)
        self._server = await loop.create_server(
            lambda: ApiConnection(gateway, Pacing(rate) if pacing else None), sock=listener
        )
        self.api_port = self._server.sockets[0].getsockname()[1]

    async def _market_clock(self) -> None:
        loop = asyncio.get_running_loop()
        step = self.config.step_seconds
        deadline = loop.time()
        while True:
            deadline = max(deadline + step, loop.time())
            await asyncio.sleep(deadline - loop.time())
            try:
                for _ in self.gateway.market_step():
                    await asyncio.sleep(0)
            except Exception:  # the clock must keep ticking whatever one step did
                log.exception("market step failed")

    async def restart(self, downtime_s: float) -> None:
        """Like a gateway process restart: listener down, clients dropped, state reloaded
        from the state file (orders not yet acknowledged are lost), listener back up."""
        if self.restarting:  # one restart at a time; a request during one changes nothing
            return
        self.restarting = True
        try:
            if self._server is not None:
                self._server.close()
            self.gateway.drop_connections()
            self.gateway.reload()
            await asyncio.sleep(downtime_s)
            await self._listen()
        finally:
            self.restarting = False

    async def stop(self) -> None:
        for task in self._tasks[1:]:
            task.cancel()
        if self._server is not None:
            self._server.close()
        if self._gateway is not None:
            self.gateway.drop_connections()
            self.gateway.shutdown()
        if self._admin is not None:
            self._admin.should_exit = True
            await asyncio.gather(*self._tasks, return_exceptions=True)
