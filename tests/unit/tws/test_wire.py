"""Framing and field codecs, including hypothesis fuzzing of everything that reads input."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.tws import messages as msg
from fakes.tws.wire import (
    MAX_MESSAGE_BYTES,
    FieldError,
    Fields,
    FrameDecoder,
    FrameError,
    VersionRequest,
    encode_field,
    encode_message,
    negotiate,
    parse_version_request,
    split_fields,
)

# Field text as clients send it: anything but NUL.
field_text = st.text(st.characters(blacklist_characters="\0", codec="utf-8"), max_size=20)


def test_message_is_length_prefixed_nul_terminated_fields() -> None:
    assert encode_message([9, 1, 42]) == struct.pack(">I", 7) + b"9\x001\x0042\x00"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "1"),
        (False, "0"),
        (7, "7"),
        (470.0, "470.0"),
        (1e-05, "1e-05"),
        (float("nan"), ""),
        (float("inf"), ""),
        ("a\0b", "ab"),
    ],
)
def test_fields_are_encoded_as_clients_parse_them(value: object, text: str) -> None:
    assert encode_field(value) == text  # type: ignore[arg-type]


@settings(deadline=None)  # on a shared, busy machine a slow example is no bug
@given(st.lists(field_text, max_size=30), st.integers(1, 64))
def test_frames_survive_any_chunking(fields: list[str], chunk: int) -> None:
    data = encode_message(fields) * 3
    decoder = FrameDecoder()
    payloads = []
    for start in range(0, len(data), chunk):
        payloads += decoder.feed(data[start : start + chunk])
    assert [split_fields(p) for p in payloads] == [fields] * 3


def test_oversize_length_prefix_is_a_frame_error() -> None:
    with pytest.raises(FrameError):
        FrameDecoder().feed(struct.pack(">I", MAX_MESSAGE_BYTES + 1) + b"x")


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_frame_decoder_accepts_or_refuses_any_bytes(data: bytes) -> None:
    decoder = FrameDecoder(max_bytes=1000)
    try:
        for payload in decoder.feed(data):
            split_fields(payload)
    except FrameError:
        pass


def test_split_fields_tolerates_a_missing_final_nul_and_bad_utf8() -> None:
    assert split_fields(b"1\x002") == ["1", "2"]
    assert split_fields(b"\xff\x00") == ["\ufffd"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"v157..176", VersionRequest(157, 176, "")),
        (b"v100..157", VersionRequest(100, 157, "")),
        (b"v157..178 +PACEAPI", VersionRequest(157, 178, "+PACEAPI")),
        (b"v157", VersionRequest(157, 157, "")),
    ],
)
def test_version_requests_of_the_three_clients(text: bytes, expected: VersionRequest) -> None:
    request = parse_version_request(text)
    assert request == expected
    assert negotiate(request, msg.SERVER_VERSION) == 157


@pytest.mark.parametrize("text", [b"", b"API", b"v", b"v176..157", b"x157..176", b"v1..2\0"])
def test_malformed_version_requests_are_refused(text: bytes) -> None:
    try:
        request = parse_version_request(text)
    except FieldError:
        return
    assert negotiate(request, msg.SERVER_VERSION) is None


def test_no_common_version_means_none() -> None:
    assert negotiate(VersionRequest(158, 176, ""), 157) is None
    assert negotiate(VersionRequest(100, 151, ""), 157) is None


@settings(deadline=None)
@given(st.binary(max_size=40))
def test_version_parser_raises_only_field_errors(data: bytes) -> None:
    with contextlib.suppress(FieldError):
        parse_version_request(data)


def test_typed_readers() -> None:
    f = Fields(["12", "", "2147483647", "1.5", "1.7976931348623157e+308", "1", "x"])
    assert f.integer() == 12
    assert f.integer(0) == 0
    assert f.integer(5) == 5
    assert f.number() == 1.5
    assert f.number() is None
    assert f.flag() is True
    with pytest.raises(FieldError):
        f.integer()
    with pytest.raises(FieldError):
        f.text()


@settings(deadline=None)
@given(st.lists(field_text, max_size=8))
def test_typed_readers_raise_only_field_errors(fields: list[str]) -> None:
    f = Fields(fields)
    for read in (f.integer, f.number, f.flag, f.count, f.text) * 2:
        with contextlib.suppress(FieldError):
            read()


DECODERS = [
    msg.decode_start_api,
    msg.decode_market_data,
    msg.decode_contract_details,
    msg.decode_place_order,
    msg.decode_executions,
    msg.decode_sec_def,
]
numeric_or_text = st.one_of(
    field_text, st.integers(-(2**40), 2**40).map(str), st.floats().map(repr), st.just("")
)


@pytest.mark.parametrize("decode", DECODERS, ids=lambda d: d.__name__)
@settings(deadline=None)
@given(fields=st.lists(numeric_or_text, max_size=140))
def test_request_decoders_raise_only_field_errors(
    decode: Callable[[list[str]], object], fields: list[str]
) -> None:
    with contextlib.suppress(FieldError):
        decode(fields)
