"""Steps and fixtures every topology scenario shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from scenarios.stack import Stack, until
from system.domain.signals import Signal


@dataclass
class Stream:
    """The signals a scenario sent, and when its fault struck (wall-clock ns)."""

    sent: list[Signal] = field(default_factory=list)
    fault_ns: int = 0
    details: dict[str, Any] = field(default_factory=dict)  # what one step leaves the next


@pytest.fixture
def stream() -> Stream:
    return Stream()


@pytest.fixture
def topology(stack: Stack) -> Iterator[Stack]:
    """The session's topology, handed back healthy: the VPN profile restored and every
    instance ready again before the next scenario starts."""
    yield stack
    stack.restore_profile()
    until(lambda: not stack.not_ready(), 90, "every instance ready again after the scenario")


@given("the local topology is up")
def local_topology_is_up(topology: Stack) -> None:
    assert not topology.not_ready(), f"not ready: {topology.not_ready()}"


@given("every bot is subscribed to the signal hub")
def bots_subscribed(topology: Stack) -> None:
    topology.all_subscribed()


@given(parsers.parse("the VPN round trip is {rtt:d} ms"))
def vpn_round_trip(topology: Stack, rtt: int) -> None:
    topology.set_rtt(rtt)


@then("no signal has more than one order at the gateway")
def no_duplicates(topology: Stack, stream: Stream) -> None:
    by_ref = topology.orders_by_ref()
    doubled = {s.id: len(by_ref[s.id]) for s in stream.sent if len(by_ref.get(s.id, [])) > 1}
    assert not doubled, f"signals with more than one order: {doubled}"


@then(parsers.parse("every signal sent during the {what} gives exactly one order at the gateway"))
def one_order_each(topology: Stack, stream: Stream, what: str) -> None:
    assert stream.sent, f"no signal was sent during the {what}"
    result = topology.orders_for(stream.sent, one_way_ms=0, timeout_s=60)
    assert not result.missing, f"{len(result.missing)} of {len(stream.sent)} signals got no order"
    assert not result.duplicated, f"signals with more than one order: {result.duplicated}"
