"""Steps for failover and gateway loss: faults during a stream of signals, then the books."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from pytest_bdd import parsers, then, when

from harness.latency import make_signal
from scenarios.conftest import RecordFigure
from scenarios.stack import Stack, until
from system.domain.signals import Signal

LEASE_TTL_S = 3.0  # the bot's default SPY_BOT_LEASE_TTL_MS, which the local topology keeps


@dataclass
class Stream:
    sent: list[Signal] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)  # what happened when (wall-clock ns)
    killed: str = ""


@pytest.fixture
def stream() -> Stream:
    return Stream()


def stream_during(
    topology: Stack,
    stream: Stream,
    rate: int,
    seconds: int,
    ttl_s: float,
    fault_after_s: float,
    fault: Callable[[], None],
) -> None:
    """Send a stream of signals on one thread while `fault` strikes on this one."""
    contracts = topology.contracts()

    def make(index: int) -> Signal:
        return make_signal(contracts[index % len(contracts)], index, ttl_s)

    sender = threading.Thread(
        target=lambda: stream.sent.extend(topology.send(rate * seconds, rate, make))
    )
    sender.start()
    time.sleep(fault_after_s)
    stream.events["fault_ns"] = time.time_ns()
    fault()
    sender.join()


@when(
    parsers.parse(
        "signals with a {ttl:d} s lifetime stream at {rate:d} per second for {seconds:d} seconds"
    )
)
def lifetime_stream(stream: Stream, ttl: int, rate: int, seconds: int) -> None:
    stream.events.update(ttl_s=ttl, rate=rate, seconds=seconds)


@when(parsers.parse("the leader is killed with SIGKILL {after:d} seconds into the stream"))
def kill_leader(topology: Stack, stream: Stream, after: int) -> None:
    stream.killed = topology.leader()

    def kill() -> None:
        topology.supervisor.kill(stream.killed)

    e = stream.events
    stream_during(topology, stream, e["rate"], e["seconds"], e["ttl_s"], after, kill)


GATEWAY_FAULTS: dict[str, list[tuple[str, dict[str, float]]]] = {
    "dropped connections": [("drop-connections", {})],
    "a restart": [("restart", {"downtime_s": 2})],
    "1100 then 1102": [("connectivity-lost", {}), ("connectivity-restored", {})],
}


GATEWAY_STEP = "signals stream at {rate:d} per second for {seconds:d} seconds" + (
    ' while the gateway suffers "{fault}"'
)


@when(parsers.parse(GATEWAY_STEP))
def gateway_fault(topology: Stack, stream: Stream, rate: int, seconds: int, fault: str) -> None:
    def strike() -> None:
        for step, (name, body) in enumerate(GATEWAY_FAULTS[fault]):
            if step:
                time.sleep(2)
            topology.gateway_fault(name, body)

    stream_during(topology, stream, rate, seconds, 30.0, 2, strike)


@then("a new leader places its first order within the lease TTL plus 1 second of the kill")
def new_leader_in_time(topology: Stack, stream: Stream, record_figure: RecordFigure) -> None:
    old_client = 100 + topology.supervisor.instance(stream.killed).wiring.replica

    def first_new_order() -> int | None:
        after = [
            o["received_at_ns"]
            for o in topology.gateway("/orders")
            if o["clientId"] != old_client and o["received_at_ns"] > stream.events["fault_ns"]
        ]
        return min(after) if after else None

    first = until(first_new_order, 30, "an order from a new leader")
    takeover_s = (first - stream.events["fault_ns"]) / 1e9
    timeline = [
        e
        for e in topology.supervisor.events.read()
        if e["t_ns"] >= stream.events["fault_ns"] - 1_000_000_000
    ]
    record_figure(
        "failover",
        {
            "killed": stream.killed,
            "takeover_s": round(takeover_s, 3),
            "lease_ttl_s": LEASE_TTL_S,
            "timeline": timeline,
        },
    )
    assert takeover_s <= LEASE_TTL_S + 1, (
        f"the new leader's first order came {takeover_s:.2f} s after the kill"
    )


@then("no signal has more than one order at the gateway")
def no_duplicates(topology: Stack, stream: Stream) -> None:
    by_ref = topology.orders_by_ref()
    doubled = {s.id: len(by_ref[s.id]) for s in stream.sent if len(by_ref.get(s.id, [])) > 1}
    assert not doubled, f"signals with more than one order: {doubled}"


@then("no order reached the gateway after its signal expired")
def none_after_expiry(topology: Stack, stream: Stream) -> None:
    by_ref = topology.orders_by_ref()
    late = [
        s.id
        for s in stream.sent
        for o in by_ref.get(s.id, [])
        if o["received_at_ns"] > s.expires_at.timestamp() * 1e9
    ]
    assert not late, f"orders placed after their signal expired: {late}"


@then("every signal ends in exactly one recorded outcome")
def one_outcome_each(topology: Stack, stream: Stream) -> None:
    def decided() -> dict[str, set[str]] | None:
        outcomes = topology.ledger_outcomes()
        seen = {s.id: {o for o, _, _ in outcomes.get(s.id, [])} for s in stream.sent}
        return seen if all(seen.values()) else None

    seen = until(decided, 40, "an outcome in the ledgers for every signal")
    conflicting = {sid: kinds for sid, kinds in seen.items() if len(kinds) != 1}
    assert not conflicting, f"signals with conflicting outcomes: {conflicting}"


@then("the leader is trading again with its gateway connected")
def trading_again(topology: Stack) -> None:
    leader = topology.leader()
    until(lambda: topology.bot_status(leader).get("broker_connected"), 30, f"{leader}'s gateway")
