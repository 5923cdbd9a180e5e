"""Signals off the hub: decoded and validated in one step, or one by one with reasons."""

import pytest
from pysignalr.messages import InvocationMessage

from system.adapters.signalr_client import (
    ConsumerFailed,
    SignalRSubscription,
    TolerantJSONProtocol,
)
from system.domain.signals import Signal
from system.edge.backoff import Backoff
from system.ports import ReceivedSignal
from tests.unit.edge.builders import make_signal

SEP = "\x1e"


class Hub:
    """A subscription fed frames as pysignalr would: decoded, then each signal invocation's
    arguments handed to the subscription, which hands each signal to its consumer."""

    def __init__(self) -> None:
        self.dropped: list[str] = []
        self.consumed: list[ReceivedSignal] = []
        self.protocol = TolerantJSONProtocol(
            frozenset({"signal"}), lambda reason, _detail: self.dropped.append(reason)
        )
        self.subscription = SignalRSubscription(
            "http://unused/api",
            consumer=self.consume,
            target="signal",
            headers={},
            on_drop=self.dropped.append,
            on_state=lambda _up: None,
            reconnect=Backoff(0.1, 1.0),
        )

    async def consume(self, received: ReceivedSignal) -> None:
        self.consumed.append(received)

    async def receive(self, frame: str) -> list[InvocationMessage]:
        messages = [m for m in self.protocol.decode(frame) if isinstance(m, InvocationMessage)]
        for message in messages:
            await self.subscription.deliver(message.arguments, self.protocol.frame_ns)
        return messages

    def signals(self) -> list[Signal]:
        assert all(r.received_ns == self.protocol.frame_ns for r in self.consumed)
        return [r.signal for r in self.consumed]


def invocation(*arguments: str, extra: str = "") -> str:
    return '{"type":1,"target":"signal",' + extra + '"arguments":[' + ",".join(arguments) + "]}"


async def test_a_signal_invocation_comes_out_of_the_protocol_as_signals() -> None:
    hub = Hub()
    first, second = make_signal(1), make_signal(2)
    frame = invocation(
        first.model_dump_json(), second.model_dump_json(), extra='"invocationId":"7",'
    )
    [message] = await hub.receive(frame + SEP)
    assert message.invocation_id == "7"
    assert message.arguments == [first, second]
    assert hub.signals() == [first, second]
    assert hub.dropped == []


async def test_an_invalid_argument_is_dropped_and_its_valid_neighbours_are_kept() -> None:
    hub = Hub()
    good = make_signal(1)
    bad = good.model_dump_json().replace('"side":"BUY"', '"side":"HOLD"')
    await hub.receive(SEP.join([invocation(bad, good.model_dump_json()), ""]))
    assert hub.signals() == [good]
    assert hub.dropped == ["invalid_signal"]


def test_other_frames_take_the_general_path() -> None:
    hub = Hub()
    signal = make_signal(1).model_dump_json()
    frame = SEP.join(
        [
            '{"type":1,"target":"quote","arguments":[' + signal + "]}",
            '{"type":1,"target":"signal","arguments":[' + signal + '],"streamIds":["1"]}',
            '{"type":6}',
            "",
        ]
    )
    assert [type(m).__name__ for m in hub.protocol.decode(frame)] == [
        "InvocationClientStreamMessage",
        "PingMessage",
    ]
    assert hub.dropped == ["other"]


async def test_a_consumer_that_raises_stops_the_consumption_of_signals() -> None:
    hub = Hub()

    async def broken(received: ReceivedSignal) -> None:
        raise OSError("disk I/O error")

    hub.subscription._consumer = broken
    with pytest.raises(ConsumerFailed, match="disk I/O error"):
        await hub.receive(invocation(make_signal(1).model_dump_json()))
    hub.subscription._consumer = hub.consume
    with pytest.raises(ConsumerFailed, match="an earlier signal failed"):
        await hub.receive(invocation(make_signal(2).model_dump_json()))
    assert hub.consumed == []


async def test_a_rehearsal_decodes_the_last_signal_invocation_again_and_delivers_it_nowhere() -> (
    None
):
    hub = Hub()
    assert hub.protocol.rehearse() is None  # nothing decoded yet: nothing to rehearse
    signal = make_signal(1)
    await hub.receive(invocation(signal.model_dump_json()) + SEP + '{"type":6}' + SEP)
    rehearsed = hub.protocol.rehearse()
    assert rehearsed is not None
    assert rehearsed.arguments == [signal]
    assert hub.signals() == [signal]  # consumed once, when it arrived
