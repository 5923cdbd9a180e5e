"""Hub protocol framing: what the fake writes must parse in the real clients' own codecs, and
what it reads must never fail other than with ProtocolError, however the bytes are chunked."""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pysignalr.messages import CloseMessage, InvocationMessage, PingMessage
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.protocol.messagepack_protocol import MessagePackHubProtocol

from fakes.signalr import protocol
from fakes.signalr.protocol import ClientMessage, Encoding, MessageReader, MessageType

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
ARGUMENTS = st.lists(JSON_VALUES, max_size=4)


# --- service -> client: the real codecs read it --------------------------------------------


@given(target=st.text(min_size=1), arguments=ARGUMENTS)
def test_json_invocations_parse_in_pysignalr(target: str, arguments: list[Any]) -> None:
    frame = protocol.invocation(Encoding.JSON, target, arguments)
    [message] = JSONProtocol().decode(frame.decode())
    assert message == InvocationMessage(None, target, arguments)


@given(target=st.text(min_size=1), arguments=ARGUMENTS)
def test_messagepack_invocations_parse_in_pysignalr(target: str, arguments: list[Any]) -> None:
    frame = protocol.invocation(Encoding.MESSAGEPACK, target, arguments)
    [message] = MessagepackProtocol().decode(frame)
    assert isinstance(message, InvocationMessage)
    assert (message.target, message.arguments, message.invocation_id) == (target, arguments, None)


def test_several_messages_in_one_frame_parse_in_signalrcore() -> None:
    json_frame = protocol.invocation(Encoding.JSON, "a", [1]) + protocol.ping(Encoding.JSON)
    binary_frame = protocol.invocation(Encoding.MESSAGEPACK, "a", [1]) + protocol.close(
        Encoding.MESSAGEPACK, "bye", allow_reconnect=True
    )
    parsed_json = JsonHubProtocol().parse_messages(json_frame.decode())
    parsed_binary = MessagePackHubProtocol().parse_messages(binary_frame)
    assert [(m.type.value, getattr(m, "target", None)) for m in parsed_json] == [
        (1, "a"),
        (6, None),
    ]
    assert [m.type.value for m in parsed_binary] == [1, 7]
    assert (parsed_binary[1].error, parsed_binary[1].allow_reconnect) == ("bye", True)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_close_and_ping_carry_only_spec_keys(encoding: Encoding) -> None:
    codec = JSONProtocol() if encoding is Encoding.JSON else MessagepackProtocol()

    def decode(frame: bytes) -> list[Any]:
        return list(codec.decode(frame.decode() if encoding is Encoding.JSON else frame))

    def close(frame: bytes) -> tuple[str | None, bool]:
        [message] = decode(frame)
        assert isinstance(message, CloseMessage)
        return message.error, bool(message.allow_reconnect)

    assert decode(protocol.ping(encoding)) == [PingMessage()]
    assert close(protocol.close(encoding, "boom")) == ("boom", False)
    assert close(protocol.close(encoding, None, allow_reconnect=True)) == (None, True)


def test_json_frames_are_exactly_what_asp_net_core_writes() -> None:
    assert protocol.ping(Encoding.JSON) == b'{"type":6}\x1e'
    assert protocol.close(Encoding.JSON) == b'{"type":7}\x1e'
    assert (
        protocol.close(Encoding.JSON, "e", True)
        == b'{"type":7,"error":"e","allowReconnect":true}\x1e'
    )
    assert (
        protocol.invocation(Encoding.JSON, "t", []) == b'{"type":1,"target":"t","arguments":[]}\x1e'
    )
    assert protocol.HANDSHAKE_OK == b"{}\x1e"


def test_an_integer_beyond_64_bits_cannot_go_as_messagepack() -> None:
    with pytest.raises(protocol.UnencodableMessage):
        protocol.invocation(Encoding.MESSAGEPACK, "t", [2**64])


# --- handshake -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b'{"protocol":"json","version":1}', Encoding.JSON),
        (b'{"protocol":"messagepack","version":1}', Encoding.MESSAGEPACK),
    ],
)
def test_handshake_picks_the_encoding(record: bytes, expected: Encoding) -> None:
    assert protocol.parse_handshake(record) is expected


@pytest.mark.parametrize(
    ("record", "error"),
    [
        (b'{"protocol":"xml","version":1}', "The protocol 'xml' is not supported."),
        (
            b'{"protocol":"json","version":2}',
            "The server does not support version 2 of the 'json' protocol.",
        ),
        (b"not json", protocol.HANDSHAKE_INVALID),
        (b'{"protocol":"json"}', protocol.HANDSHAKE_INVALID),
        (b'{"protocol":"json","version":true}', protocol.HANDSHAKE_INVALID),
        (b"[1]", protocol.HANDSHAKE_INVALID),
    ],
)
def test_a_bad_handshake_gets_the_error_asp_net_core_sends(record: bytes, error: str) -> None:
    with pytest.raises(protocol.HandshakeError, match=error.replace("(", r"\(")):
        protocol.parse_handshake(record)
    assert json.loads(protocol.handshake_failure(error)[:-1]) == {"error": error}


def test_take_record_waits_for_the_separator_and_keeps_the_rest() -> None:
    buffer = bytearray(b'{"a":1')
    assert protocol.take_record(buffer, 100) is None
    buffer += b'}\x1e{"b"'
    assert protocol.take_record(buffer, 100) == b'{"a":1}'
    assert buffer == bytearray(b'{"b"')


def test_an_unterminated_record_beyond_the_limit_is_a_violation() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.take_record(bytearray(b"x" * 11), 10)


# --- client -> service ---------------------------------------------------------------------

CLIENT_MESSAGES = st.sampled_from(
    [
        ClientMessage(MessageType.PING),
        ClientMessage(MessageType.INVOCATION, "send"),
        ClientMessage(MessageType.COMPLETION),
        ClientMessage(MessageType.CLOSE),
    ]
)


def _encode(encoding: Encoding, message: ClientMessage) -> bytes:
    """As the clients encode them: pysignalr always adds headers, signalrcore an invocationId."""
    if encoding is Encoding.JSON:
        body: dict[str, Any] = {"type": message.type.value, "headers": {}, "invocationId": "1"}
        if message.target is not None:
            body |= {"target": message.target, "arguments": []}
        return json.dumps(body).encode() + b"\x1e"
    items: list[Any] = [message.type.value, {}, "1"]
    if message.target is not None:
        items += [message.target, [], []]
    packed: bytes = msgpack.packb(items)
    return protocol.varint(len(packed)) + packed


@given(
    encoding=st.sampled_from(list(Encoding)),
    messages=st.lists(CLIENT_MESSAGES, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_messages_survive_any_chunking(
    encoding: Encoding, messages: list[ClientMessage], cuts: list[int]
) -> None:
    stream = b"".join(_encode(encoding, m) for m in messages)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    reader = MessageReader(encoding, 1 << 16)
    received = [m for a, b in itertools.pairwise(points) for m in reader.feed(stream[a:b])]
    assert received == messages


@given(encoding=st.sampled_from(list(Encoding)), data=st.lists(st.binary(max_size=64), max_size=6))
def test_garbage_is_only_ever_a_protocol_error(encoding: Encoding, data: list[bytes]) -> None:
    reader = MessageReader(encoding, 256)
    try:
        for chunk in data:
            reader.feed(chunk)
    except protocol.ProtocolError:
        pass


@given(value=st.one_of(JSON_VALUES, st.just([]), st.just([1.5]), st.just(["x"])))
def test_any_json_record_is_a_message_or_a_protocol_error(value: Any) -> None:
    reader = MessageReader(Encoding.JSON, 1 << 16)
    with contextlib.suppress(protocol.ProtocolError):
        reader.feed(json.dumps(value).encode() + b"\x1e")


@given(value=JSON_VALUES)
def test_any_messagepack_value_is_a_message_or_a_protocol_error(value: Any) -> None:
    packed = msgpack.packb(value)
    reader = MessageReader(Encoding.MESSAGEPACK, 1 << 16)
    with contextlib.suppress(protocol.ProtocolError):
        reader.feed(protocol.varint(len(packed)) + packed)


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        (Encoding.JSON, b'{"type":99}\x1e'),
        (Encoding.JSON, b'{"type":"1"}\x1e'),
        (Encoding.JSON, b"[" * 100_000 + b"\x1e"),
        (Encoding.JSON, b"\xff\x1e"),
        (Encoding.MESSAGEPACK, b"\xff\xff\xff\xff\xff\xff"),
        (Encoding.MESSAGEPACK, b"\x01\xc1"),
        (Encoding.MESSAGEPACK, protocol.varint(1 << 20) + b"x"),
    ],
)
def test_violations_are_named(encoding: Encoding, data: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        MessageReader(encoding, 1 << 17).feed(data)


@given(st.integers(min_value=0, max_value=2**35 - 1))
def test_varint_round_trips_through_signalrcore(value: int) -> None:
    encoded = protocol.varint(value)
    decoded = sum((b & 0x7F) << (7 * i) for i, b in enumerate(encoded))
    assert decoded == value
    assert all(b & 0x80 for b in encoded[:-1])
    assert not encoded[-1] & 0x80


@given(body=st.binary(max_size=64))
def test_well_framed_garbage_is_only_ever_a_protocol_error(body: bytes) -> None:
    with contextlib.suppress(protocol.ProtocolError):
        MessageReader(Encoding.MESSAGEPACK, 256).feed(protocol.varint(len(body)) + body)
