"""Steps every topology scenario shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_bdd import given, parsers

from scenarios.stack import Stack, until


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
