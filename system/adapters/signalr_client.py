"""Signals from the Azure SignalR hub through pysignalr, behind the SignalSubscription port.

The bot negotiates through the backend (`POST {backend}/api/negotiate`, with its API key), which
redirects it to the SignalR service with a URL and an access token; pysignalr then holds the
WebSocket (JSON hub protocol). pysignalr reconnects a dropped socket to the same URL with the
same token and gives up on anything else (a Close with an error, an expired token, a refused
negotiate), so every session here is a fresh client, re-negotiated, after a backoff that grows
while attempts fail and starts over once a session opened.

A signal's invocation is decoded and validated in one pass, from the frame's text straight to
`Signal`s (pydantic's JSON parser, no intermediate dicts): the clock of the hot path starts at
the frame. Each signal goes straight to the consumer, awaited in the handler pysignalr awaits
before it reads the next frame: in order, with no queue and no task switch between the frame
and the trade (the trader takes one signal at a time anyway). A consumer that raises is a
fault of this process, not of the link: `run` ends with ConsumerFailed, it does not reconnect.

Anything else takes the general path, message by message: a frame that is not JSON, a message
of an unknown type or shape, an invocation of another target and an argument that is not a
valid Signal are each logged, counted and dropped; none of them closes the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pysignalr.client import SignalRClient
from pysignalr.messages import InvocationMessage, Message
from pysignalr.protocol.json import JSONProtocol

from system.adapters.signalr_rest import LATENCY_TARGET, QUOTE_TARGET
from system.domain.signals import Signal
from system.edge.backoff import Backoff
from system.ports import ReceivedSignal, SignalConsumer

log = logging.getLogger(__name__)

DropReason = str  # "malformed", "unknown_message", "unknown_target", "invalid_signal", "other"
# What else the hub carries, for other clients (the dashboard): dropped and counted, not warned
# about once a second.
OTHER_TARGETS = frozenset({QUOTE_TARGET, LATENCY_TARGET})


class _SignalInvocation(BaseModel):
    """A non-streaming invocation whose every argument is a valid Signal, as the JSON hub
    protocol frames it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[1]
    target: str
    arguments: list[Signal]
    invocationId: str | None = None  # the protocol's spelling
    headers: dict[str, Any] | None = None


class TolerantJSONProtocol(JSONProtocol):
    """The JSON hub protocol, dropping what it cannot decode instead of failing the socket.
    Invocations of the signal targets come out with their arguments already `Signal`s."""

    def __init__(self, targets: frozenset[str], on_drop: Callable[[DropReason, str], None]) -> None:
        super().__init__()
        self._targets = targets
        self._on_drop = on_drop
        self.frame_ns = 0
        self._last_signals = ""  # the last signal invocation decoded: the one rehearsed

    def decode(self, raw_message: str | bytes) -> list[Message]:
        self.frame_ns = time.monotonic_ns()
        text = (
            raw_message.decode(errors="replace") if isinstance(raw_message, bytes) else raw_message
        )
        messages: list[Message] = []
        for item in text.split(self.record_separator):
            if item:
                message = self._signals(item) or self._message(item)
                if message is not None:
                    messages.append(message)
        return messages

    def _signals(self, item: str) -> InvocationMessage | None:
        """The hot path: a signal invocation, decoded and validated in one step; None for
        anything else (left to the general path, which says what is wrong with it)."""
        try:
            call = _SignalInvocation.model_validate_json(item)
        except ValidationError:
            return None
        if call.target not in self._targets:
            return None
        self._last_signals = item
        return InvocationMessage(call.invocationId, call.target, call.arguments, call.headers)

    def rehearse(self) -> InvocationMessage | None:
        """The last signal invocation, decoded and validated again (and delivered to no one):
        the decoding's share of Trader.rehearse."""
        return self._signals(self._last_signals) if self._last_signals else None

    def _message(self, item: str) -> Message | None:
        try:
            data = json.loads(item)
        except ValueError:
            self._on_drop("malformed", item[:200])
            return None
        if not isinstance(data, dict) or not data:
            self._on_drop("malformed", item[:200])
            return None
        try:
            message = self.parse_message(data)
        except (ValueError, TypeError, NotImplementedError):
            self._on_drop("unknown_message", item[:200])
            return None
        if isinstance(message, InvocationMessage) and message.target not in self._targets:
            known = message.target in OTHER_TARGETS
            self._on_drop("other" if known else "unknown_target", str(message.target)[:100])
            return None
        return message


class ConsumerFailed(RuntimeError):
    """The consumer raised on a signal: no further signal is consumed and `run` ends."""


class SignalRSubscription:
    def __init__(
        self,
        negotiate_base: str,
        *,
        consumer: SignalConsumer,
        target: str,
        headers: dict[str, str],
        on_drop: Callable[[DropReason], None],
        on_state: Callable[[bool], None],
        reconnect: Backoff,
    ) -> None:
        self._base = negotiate_base  # pysignalr POSTs to {base}/negotiate, query kept
        self._consumer = consumer
        self._failure: BaseException | None = None
        self._target = target
        self._headers = headers
        self._count_drop = on_drop
        self._on_state = on_state
        self._reconnect = reconnect
        self.sessions = 0
        self.connected = False
        self._protocol: TolerantJSONProtocol | None = None

    @property
    def last_frame_ns(self) -> int:
        """Monotonic time of the last frame received (a signal or the service's keepalive
        ping): how the watchdog knows the cloud-to-edge direction of the link carries traffic."""
        return self._protocol.frame_ns if self._protocol is not None else 0

    def rehearse(self) -> None:
        """The decoding's share of a rehearsal of the hot path (Trader.rehearse)."""
        if self._protocol is not None:
            self._protocol.rehearse()

    def _state(self, up: bool) -> None:
        self.connected = up
        self._on_state(up)

    def _drop(self, reason: DropReason, detail: str) -> None:
        level = logging.DEBUG if reason == "other" else logging.WARNING
        log.log(level, "SignalR message dropped (%s): %s", reason, detail)
        self._count_drop(reason)

    async def deliver(self, arguments: list[Any], received_ns: int) -> None:
        """The arguments of one signal invocation, received at `received_ns`: each valid one
        (already validated by the protocol, or validated here, one by one) consumed in turn."""
        for argument in arguments:
            if self._failure is not None:
                raise ConsumerFailed("an earlier signal failed") from self._failure
            if isinstance(argument, Signal):
                signal = argument
            else:
                try:
                    signal = Signal.model_validate(argument)
                except ValidationError as error:
                    self._drop("invalid_signal", str(error).splitlines()[0])
                    continue
            try:
                await self._consumer(ReceivedSignal(signal, received_ns))
            except Exception as error:
                self._failure = error
                raise ConsumerFailed(f"consuming signal {signal.id} failed: {error}") from error

    async def run(self) -> None:
        """Hold a session, forever: negotiate, connect, receive; back off and start over."""
        attempt = 0
        while True:
            opened = asyncio.Event()
            try:
                await self._session(opened)
                why = "session ended"
            except Exception as error:  # every failure ends in a fresh, re-negotiated session
                if self._failure is not None:
                    raise ConsumerFailed("a signal could not be consumed") from self._failure
                why = f"{type(error).__name__}: {error}"
            self._state(False)
            attempt = 0 if opened.is_set() else attempt + 1
            pause = self._reconnect.delay(attempt)
            log.warning("SignalR %s; reconnecting in %.2f s", why, pause)
            await asyncio.sleep(pause)

    async def _session(self, opened: asyncio.Event) -> None:
        protocol = self._protocol = TolerantJSONProtocol(frozenset({self._target}), self._drop)
        client = SignalRClient(
            self._base,
            protocol=protocol,
            headers=dict(self._headers),
            retry_count=1,  # negotiate failures come back here, to this loop's backoff
        )

        async def on_open() -> None:
            self.sessions += 1
            opened.set()
            self._state(True)
            log.info("SignalR session %d open", self.sessions)

        async def on_close() -> None:
            self._state(False)

        async def on_signal(arguments: list[Any]) -> None:
            await self.deliver(arguments, protocol.frame_ns)

        client.on_open(on_open)
        client.on_close(on_close)
        client.on(self._target, on_signal)
        await client.run()
