"""The client endpoint `/client/`: service negotiate, and the WebSocket the hub protocol runs on.

The real clients reach it three ways, all accepted: an upgrade without `id` (pysignalr and
signalrcore after the app's negotiate redirect), `id=<connectionToken>` after a version 1
negotiate (@microsoft/signalr), and `id=<connectionId>` after a version 0 one (signalrcore when it
reconnects). The token comes from `Authorization: Bearer` or, from browsers, `access_token`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from fakes.signalr import auth, names, protocol
from fakes.signalr.hub import NORMAL_CLOSURE, Connection, Service, new_id
from fakes.signalr.protocol import ClientMessage, Encoding, MessageType
from fakes.signalr.responses import unauthorized, validation_problem

log = logging.getLogger("fakes.signalr")

# Only WebSockets is served; advertising more would let a client pick a transport that fails.
_TRANSPORTS = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
_INVOCATIONS = (MessageType.INVOCATION, MessageType.STREAM_INVOCATION)
_IGNORED = (MessageType.STREAM_ITEM, MessageType.COMPLETION, MessageType.CANCEL_INVOCATION)
# What ASP.NET Core says when it closes a connection over bad input (detailed errors off).
PROTOCOL_ERROR = "Connection closed with an error."


class ClientEndpoint:
    def __init__(self, service: Service, verifier: auth.Verifier, max_message_bytes: int) -> None:
        self._service = service
        self._verifier = verifier
        self._max_message_bytes = max_message_bytes

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/client/negotiate", self.negotiate, methods=["POST"]),
            WebSocketRoute("/client/", _SocketApp(self)),
            WebSocketRoute("/client", _SocketApp(self)),
        ]

    async def negotiate(self, request: Request) -> Response:
        hub = request.query_params.get("hub", "")
        if not names.valid_hub(hub):
            return validation_problem({"hub": [names.INVALID_HUB]})
        try:
            # The user is taken from the token presented when the socket opens.
            self._authenticate(request, hub)
        except auth.Unauthorized as error:
            return unauthorized(error.description)
        raw_version = request.query_params.get("negotiateVersion", "0")
        try:
            version = 1 if int(raw_version) >= 1 else 0
        except ValueError:
            return PlainTextResponse(
                f"The client requested an invalid protocol version '{raw_version}'", 400
            )
        connection_id, token = self._service.reserve(names.hub_key(hub), version == 1)
        body: dict[str, Any] = {"negotiateVersion": version, "connectionId": connection_id}
        if token is not None:
            body["connectionToken"] = token
        body["availableTransports"] = _TRANSPORTS
        return JSONResponse(body)

    async def connect(self, websocket: WebSocket, send: Send) -> None:
        hub = websocket.query_params.get("hub", "")
        if not names.valid_hub(hub):
            await websocket.send_denial_response(validation_problem({"hub": [names.INVALID_HUB]}))
            return
        try:
            claims = self._authenticate(websocket, hub)
        except auth.Unauthorized as error:
            await websocket.send_denial_response(unauthorized(error.description))
            return
        hub_key = names.hub_key(hub)
        presented = websocket.query_params.get("id")
        connection_id = new_id() if presented is None else self._service.claim(hub_key, presented)
        if connection_id is None:
            await websocket.send_denial_response(
                PlainTextResponse("No Connection with that ID", 404)
            )
            return
        await websocket.accept()
        session = _Session(websocket, send, self._service, self._max_message_bytes)
        await session.run(hub_key, connection_id, auth.user_id(claims))

    def _authenticate(self, request: HTTPConnection, hub: str) -> dict[str, Any]:
        access_token = request.query_params.get("access_token")
        return self._verifier.client(request.headers, access_token, hub)


class _SocketApp:
    """The upgrade as a plain ASGI app, so that frames go straight to the server's `send`:
    Starlette's WebSocket wrapper costs microseconds a frame, and a broadcast pays them once
    per client."""

    def __init__(self, endpoint: ClientEndpoint) -> None:
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._endpoint.connect(WebSocket(scope, receive, send), send)


class _SocketTransport:
    """The hub's view of one socket: frames in the connection's encoding."""

    def __init__(self, websocket: WebSocket, send: Send) -> None:
        self._websocket = websocket
        self._send = send
        self.binary = False

    async def send(self, frame: bytes) -> None:
        message = (
            {"type": "websocket.send", "bytes": frame}
            if self.binary
            else {"type": "websocket.send", "text": frame.decode("utf-8")}
        )
        try:
            await self._send(message)
        except OSError as error:  # the server's way of saying the client is gone
            raise ConnectionError("the client is gone") from error

    async def close(self, code: int) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._websocket.close(code)


class _Session:
    """One accepted socket: handshake, then reading and writing until either side ends it."""

    def __init__(
        self, websocket: WebSocket, send: Send, service: Service, max_message_bytes: int
    ) -> None:
        self._websocket = websocket
        self._service = service
        self._max = max_message_bytes
        self._transport = _SocketTransport(websocket, send)

    async def run(self, hub: str, connection_id: str, user_id: str | None) -> None:
        buffer = bytearray()
        try:
            encoding = await asyncio.wait_for(
                self._handshake(buffer), self._service.handshake_timeout_s
            )
        except TimeoutError:
            await self._transport.close(NORMAL_CLOSURE)
            return
        except protocol.HandshakeError as error:
            with contextlib.suppress(ConnectionError):
                await self._transport.send(protocol.handshake_failure(str(error)))
            await self._transport.close(NORMAL_CLOSURE)
            return
        except (protocol.ProtocolError, ConnectionError):
            await self._transport.close(NORMAL_CLOSURE)
            return
        self._transport.binary = encoding.binary
        try:
            await self._transport.send(protocol.HANDSHAKE_OK)
        except ConnectionError:
            return
        connection = self._service.attach(hub, connection_id, user_id, encoding, self._transport)
        reader = protocol.MessageReader(encoding, self._max)
        reading = asyncio.create_task(self._read(connection, reader, bytes(buffer)))
        writing = asyncio.create_task(connection.pump())
        try:
            await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                await writing  # the reader asked the writer to close, or the client left
        finally:
            self._service.detach(connection)
            for task in (reading, writing):
                task.cancel()
            for outcome in await asyncio.gather(reading, writing, return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.error("connection %s failed: %r", connection.id, outcome)

    async def _handshake(self, buffer: bytearray) -> Encoding:
        while (record := protocol.take_record(buffer, self._max)) is None:
            buffer += await self._receive()
        return protocol.parse_handshake(record)

    async def _receive(self) -> bytes:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise ConnectionError("the client left")
        text: str | None = message.get("text")
        return text.encode("utf-8") if text is not None else message.get("bytes") or b""

    async def _read(
        self, connection: Connection, reader: protocol.MessageReader, leftover: bytes
    ) -> None:
        try:
            data = leftover
            while True:
                for message in reader.feed(data):
                    if not self._handle(connection, message):
                        return
                data = await self._receive()
                connection.touch()
        except protocol.ProtocolError as error:
            log.info("closing %s: %s", connection.id, error)
            connection.close(PROTOCOL_ERROR)
        except ConnectionError:
            connection.disconnected()

    def _handle(self, connection: Connection, message: ClientMessage) -> bool:
        """Whether to keep reading after this message."""
        if message.type in _INVOCATIONS:
            # Serverless: clients only listen; an invocation has nowhere to go.
            connection.close(
                f"{PROTOCOL_ERROR} Invocation of '{message.target}' failed: the hub is in"
                " serverless mode and no upstream is configured."
            )
            return False
        if message.type is MessageType.CLOSE:
            connection.end()
            return False
        if message.type in _IGNORED or message.type is MessageType.PING:
            return True
        raise protocol.ProtocolError(f"unexpected message type {message.type.value}")
