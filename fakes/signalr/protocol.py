"""The SignalR hub protocol on the wire, JSON and MessagePack: pure framing, no I/O.

Client to service: a JSON handshake record, then messages as the client chose (JSON records ended
by 0x1E, or MessagePack arrays behind a VarInt length). Service to client: the handshake answer,
invocations, pings and closes, with only the keys the spec names, because pysignalr builds its
dataclasses from whatever keys arrive.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, TypeGuard

import msgpack

RECORD_SEPARATOR = b"\x1e"
SUPPORTED_VERSION = 1
# A VarInt length prefix is at most 5 bytes (the spec caps messages at 2 GB).
_MAX_VARINT_BYTES = 5


class ProtocolError(ValueError):
    """The client broke the hub protocol; the service closes its connection."""


class HandshakeError(ValueError):
    """The handshake failed; the message is what the service sends back as `error`."""


class UnencodableMessage(ValueError):
    """A payload that the chosen protocol cannot carry (e.g. an integer beyond 64 bits)."""


class Encoding(enum.Enum):
    JSON = "json"
    MESSAGEPACK = "messagepack"

    @property
    def binary(self) -> bool:
        return self is Encoding.MESSAGEPACK


class MessageType(enum.IntEnum):
    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


@dataclass(frozen=True)
class ClientMessage:
    """What the service needs of a client message: its type, and the target of an invocation."""

    type: MessageType
    target: str | None = None


# --- handshake ------------------------------------------------------------------------------

HANDSHAKE_OK = b"{}" + RECORD_SEPARATOR


def handshake_failure(error: str) -> bytes:
    return _json_record({"error": error})


def take_record(buffer: bytearray, max_size: int) -> bytes | None:
    """Pop one complete 0x1E-terminated record from the front of the buffer, or None if the
    record is still incomplete."""
    end = buffer.find(RECORD_SEPARATOR)
    if (end if end >= 0 else len(buffer)) > max_size:
        raise ProtocolError(f"a message exceeded the maximum size of {max_size} bytes")
    if end < 0:
        return None
    record = bytes(buffer[:end])
    del buffer[: end + 1]
    return record


def parse_handshake(record: bytes) -> Encoding:
    """The encoding the client asked for; HandshakeError carries the reply ASP.NET Core gives."""
    try:
        request = json.loads(record.decode("utf-8"))
    except (ValueError, RecursionError):
        raise HandshakeError(HANDSHAKE_INVALID) from None
    if not isinstance(request, dict):
        raise HandshakeError(HANDSHAKE_INVALID)
    protocol, version = request.get("protocol"), request.get("version")
    if not isinstance(protocol, str) or not _is_int(version):
        raise HandshakeError(HANDSHAKE_INVALID)
    try:
        encoding = Encoding(protocol)
    except ValueError:
        raise HandshakeError(f"The protocol '{protocol}' is not supported.") from None
    if version != SUPPORTED_VERSION:
        raise HandshakeError(
            f"The server does not support version {version} of the '{protocol}' protocol."
        )
    return encoding


HANDSHAKE_INVALID = "An unexpected error occurred during connection handshake. InvalidDataException"


# --- client -> service ----------------------------------------------------------------------


class MessageReader:
    """Incremental decoder of one connection's messages after the handshake: feed it what the
    frames carried, get back the complete messages. Any violation raises ProtocolError."""

    def __init__(self, encoding: Encoding, max_message_size: int) -> None:
        self._encoding = encoding
        self._max = max_message_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[ClientMessage]:
        self._buffer += data
        messages: list[ClientMessage] = []
        while (message := self._next()) is not None:
            messages.append(message)
        return messages

    def _next(self) -> ClientMessage | None:
        if self._encoding is Encoding.JSON:
            record = take_record(self._buffer, self._max)
            return None if record is None else _parse_json_message(record)
        return self._next_messagepack()

    def _next_messagepack(self) -> ClientMessage | None:
        length, start = 0, 0
        for index in range(min(len(self._buffer), _MAX_VARINT_BYTES)):
            byte = self._buffer[index]
            length |= (byte & 0x7F) << (7 * index)
            if not byte & 0x80:
                start = index + 1
                break
        else:
            if len(self._buffer) >= _MAX_VARINT_BYTES:
                raise ProtocolError("the message length prefix is longer than 5 bytes")
            return None
        if length > self._max:
            raise ProtocolError(f"a message exceeded the maximum size of {self._max} bytes")
        if len(self._buffer) < start + length:
            return None
        body = bytes(self._buffer[start : start + length])
        del self._buffer[: start + length]
        return _parse_messagepack_message(body)


def _parse_json_message(record: bytes) -> ClientMessage:
    try:
        message = json.loads(record.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ProtocolError("a message is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is not a JSON object")
    target = message.get("target")
    return ClientMessage(
        _message_type(message.get("type")), target if isinstance(target, str) else None
    )


def _parse_messagepack_message(body: bytes) -> ClientMessage:
    try:
        message = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException):
        raise ProtocolError("a message is not valid MessagePack") from None
    if not isinstance(message, list) or not message:
        raise ProtocolError("a message is not a non-empty MessagePack array")
    target = message[3] if len(message) > 3 else None
    return ClientMessage(_message_type(message[0]), target if isinstance(target, str) else None)


def _message_type(value: object) -> MessageType:
    if not _is_int(value):
        raise ProtocolError("a message has no integer type")
    try:
        return MessageType(value)
    except ValueError:
        raise ProtocolError(f"unknown message type {value}") from None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --- service -> client ----------------------------------------------------------------------


def invocation(encoding: Encoding, target: str, arguments: list[Any]) -> bytes:
    """A non-blocking invocation: no invocationId, so the client sends no completion."""
    if encoding is Encoding.JSON:
        return _json_record(
            {"type": MessageType.INVOCATION, "target": target, "arguments": arguments}
        )
    # [type, headers, invocationId, target, arguments, streamIds]: ASP.NET Core always writes
    # the stream ids, empty, and signalrcore reads them unconditionally.
    return _messagepack_record([MessageType.INVOCATION, {}, None, target, arguments, []])


def ping(encoding: Encoding) -> bytes:
    return _PINGS[encoding]


def close(encoding: Encoding, error: str | None = None, allow_reconnect: bool = False) -> bytes:
    if encoding is Encoding.JSON:
        message: dict[str, Any] = {"type": MessageType.CLOSE}
        if error is not None:
            message["error"] = error
        if allow_reconnect:
            message["allowReconnect"] = True
        return _json_record(message)
    return _messagepack_record([MessageType.CLOSE, error, allow_reconnect])


def _json_record(message: dict[str, Any]) -> bytes:
    # ASCII escapes keep lone surrogates (valid in JSON text) encodable.
    return json.dumps(message, separators=(",", ":")).encode("ascii") + RECORD_SEPARATOR


def _messagepack_record(message: list[Any]) -> bytes:
    try:
        body: bytes = msgpack.packb(message)
    except (ValueError, OverflowError, TypeError) as error:
        raise UnencodableMessage(f"the payload cannot be sent as MessagePack: {error}") from None
    return varint(len(body)) + body


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_PINGS = {
    Encoding.JSON: _json_record({"type": MessageType.PING}),
    Encoding.MESSAGEPACK: _messagepack_record([MessageType.PING]),
}
