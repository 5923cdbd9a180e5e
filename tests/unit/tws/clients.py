"""The real client libraries, offline: what they write for a call, and how they read ours.

`written` runs one call on a client whose socket is replaced by a list, so tests see the exact
fields ib_insync, ib_async or ibapi put on the wire. `read_by` feeds our encoded messages to a
library's own decoder and returns the wrapper callbacks it made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ib_async
import ib_async.client
import ib_async.decoder
import ib_insync
import ib_insync.client
import ib_insync.decoder
from ibapi.client import EClient
from ibapi.comm import read_fields
from ibapi.decoder import Decoder as IbapiDecoder
from ibapi.wrapper import EWrapper

from fakes.tws.messages import SERVER_VERSION
from fakes.tws.wire import Field, FrameDecoder, encode_message, split_fields

ASYNC_LIBS = {"ib_insync": ib_insync, "ib_async": ib_async}


def written(lib: str, call: Callable[[Any], None]) -> list[list[str]]:
    """Field lists of every message `call(client)` sends with library `lib`."""
    sent: list[bytes] = []
    if lib == "ibapi":
        client = EClient(EWrapper())

        class Socket:
            def isConnected(self) -> bool:
                return True

            def sendMsg(self, data: bytes) -> None:
                sent.extend(FrameDecoder().feed(data))

        client.conn = Socket()
        client.connState = EClient.CONNECTED
        client.serverVersion_ = SERVER_VERSION
    else:
        module = ib_insync.client if lib == "ib_insync" else ib_async.client
        client = module.Client(None)
        client.isConnected = lambda: True
        client.serverVersion = lambda: SERVER_VERSION
        client.sendMsg = lambda text: sent.append(text.encode())
    call(client)
    return [split_fields(payload) for payload in sent]


class Calls:
    """A wrapper stand-in that records every callback a decoder makes."""

    defaultTimezone = dt.UTC  # ib_async converts execution times to it

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]


class IbapiCalls(EWrapper):  # type: ignore[misc]
    """ibapi's decoder checks the wrapper's signatures, so it needs a real EWrapper."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded = Calls()

    def __getattribute__(self, name: str) -> Any:
        if name in EWrapper.__dict__ and not name.startswith("_") and name != "logAnswer":
            return getattr(object.__getattribute__(self, "recorded"), name)
        return object.__getattribute__(self, name)


def read_by(lib: str, messages: list[list[Field]]) -> Calls:
    """The callbacks `lib`'s decoder makes for our messages (sent through the real framing)."""
    payloads = FrameDecoder().feed(b"".join(encode_message(m) for m in messages))
    if lib == "ibapi":
        wrapper = IbapiCalls()
        decoder = IbapiDecoder(wrapper, SERVER_VERSION)
        for payload in payloads:
            decoder.interpret(read_fields(payload))
        return wrapper.recorded
    calls = Calls()
    module = ib_insync.decoder if lib == "ib_insync" else ib_async.decoder
    reader = module.Decoder(calls, SERVER_VERSION)
    # Their decoders log and swallow exceptions; a test must see them.
    reader.logger.exception = _raise
    for payload in payloads:
        reader.interpret(split_fields(payload))
    return calls


def _raise(message: str, *args: object) -> None:
    raise AssertionError(message % args if args else message)
