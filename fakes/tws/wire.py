"""TWS API framing and field codecs: pure functions, no I/O.

A message is a 4-byte big-endian length followed by NUL-terminated text fields; the first
field is the message id. The connection starts with the raw bytes ``API\\0`` and one framed
``v<min>..<max>`` version request (see shared/notes/tws-wire-protocol.md, section 1).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HANDSHAKE_PREFIX = b"API\0"
# ibapi refuses longer messages; a bigger prefix cannot be a real client, so the stream is lost.
MAX_MESSAGE_BYTES = 0xFFFFFF
UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE = 1.7976931348623157e308
# Written by IB where a double is unset; ib_insync maps it to 0 in commission reports.
UNSET_DOUBLE_TEXT = "1.7976931348623157E308"

_LENGTH = struct.Struct(">I")
_UNSET_TEXTS = frozenset(
    {
        "",
        "2147483647",
        "9223372036854775807",
        "1.7976931348623157e+308",
        "1.7976931348623157E308",
        "1.7976931348623157e308",
    }
)
_VERSION_REQUEST = re.compile(r"v(\d{1,9})(?:\.\.(\d{1,9}))?(?: (.*))?", re.DOTALL)


class Run(str):
    """Several constant fields encoded once (NUL-separated): long layouts reuse them."""

    __slots__ = ()

    @classmethod
    def of(cls, *fields: Field) -> Run:
        return cls("\0".join(encode_field(f) for f in fields))


Field = str | int | float | bool | None


class FrameError(Exception):
    """The byte stream cannot be framed any more; the connection must be closed."""


class FieldError(ValueError):
    """A field is missing or does not parse as the type the layout requires."""


def encode_field(value: Field) -> str:
    """One outgoing field as text. Integers must stay integer text (clients call int() on them)."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float):
        # Clients call float(); nan/inf would be sent as text float() reads but IB never sends.
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Run):
        return value
    return value.replace("\0", "")


def encode_message(fields: Iterable[Field]) -> bytes:
    # The hot path of every reply: plain strings and ints skip the general encoder.
    parts = [
        (f if "\0" not in f else f.replace("\0", ""))
        if type(f) is str
        else str(f)
        if type(f) is int
        else encode_field(f)
        for f in fields
    ]
    parts.append("")
    payload = "\0".join(parts).encode("utf-8", "backslashreplace")
    return _LENGTH.pack(len(payload)) + payload


def frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


def split_fields(payload: bytes) -> list[str]:
    """The text fields of one payload; a missing final NUL is tolerated, bad UTF-8 replaced."""
    parts = payload.decode("utf-8", "replace").split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


class FrameDecoder:
    """Incremental length-prefix deframer: feed bytes, get whole payloads back."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_bytes

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        payloads: list[bytes] = []
        buffer = self._buffer
        offset = 0
        while len(buffer) - offset >= 4:
            (size,) = _LENGTH.unpack_from(buffer, offset)
            if size > self._max:
                raise FrameError(f"length prefix {size} exceeds {self._max} bytes")
            end = offset + 4 + size
            if len(buffer) < end:
                break
            payloads.append(bytes(buffer[offset + 4 : end]))
            offset = end
        del buffer[:offset]
        return payloads


@dataclass(frozen=True)
class VersionRequest:
    min_version: int
    max_version: int
    options: str


def parse_version_request(payload: bytes) -> VersionRequest:
    """The client's ``v<min>..<max>[ options]`` text (it carries no trailing NUL)."""
    text = payload.rstrip(b"\0").decode("ascii", "replace")
    match = _VERSION_REQUEST.fullmatch(text)
    if match is None:
        raise FieldError(f"not a version request: {text[:40]!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low > high:
        raise FieldError(f"empty version range {low}..{high}")
    return VersionRequest(low, high, match.group(3) or "")


def negotiate(request: VersionRequest, supported: int) -> int | None:
    """The one version this server speaks, or None when the client's range excludes it."""
    return supported if request.min_version <= supported <= request.max_version else None


class Fields:
    """A cursor over one message's fields with typed readers that raise FieldError."""

    __slots__ = ("_fields", "_pos")

    def __init__(self, fields: Sequence[str], start: int = 0) -> None:
        self._fields = fields
        self._pos = start

    def text(self) -> str:
        if self._pos >= len(self._fields):
            raise FieldError(f"field {self._pos} is missing")
        value = self._fields[self._pos]
        self._pos += 1
        return value

    def skip(self, count: int) -> None:
        if self._pos + count > len(self._fields):
            raise FieldError(f"fields {self._pos}..{self._pos + count - 1} are missing")
        self._pos += count

    def integer(self, default: int | None = None) -> int:
        """An integer; empty or unset text gives `default` (an error when there is none)."""
        raw = self.text().strip()
        if raw in _UNSET_TEXTS:
            if default is None:
                raise FieldError(f"field {self._pos - 1} is unset")
            return default
        try:
            return int(raw)
        except ValueError:
            raise FieldError(f"field {self._pos - 1} is not an integer: {raw[:20]!r}") from None

    def number(self) -> float | None:
        """A finite float, or None when empty/unset."""
        raw = self.text().strip()
        if raw in _UNSET_TEXTS:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise FieldError(f"field {self._pos - 1} is not a number: {raw[:20]!r}") from None
        if not math.isfinite(value) or value >= UNSET_DOUBLE:
            return None
        return value

    def flag(self) -> bool:
        return self.integer(0) != 0

    def count(self, limit: int = 1000) -> int:
        """A repeat count; anything negative or absurd is an error, not a loop bound."""
        value = self.integer(0)
        if not 0 <= value <= limit:
            raise FieldError(f"field {self._pos - 1} is not a count: {value}")
        return value
