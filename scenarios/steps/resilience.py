"""Steps for failover and gateway loss: a fault during a stream of signals, then the books."""

from __future__ import annotations

import time
from typing import Any

from pytest_bdd import parsers, then, when

from harness.late_trades import late_trades
from scenarios.conftest import RecordFigure
from scenarios.stack import Stack, until
from scenarios.steps.common import Stream

LEASE_TTL_S = 3.0  # the bot's default SPY_BOT_LEASE_TTL_MS, which the local topology keeps

GATEWAY_FAULTS: dict[str, list[tuple[str, dict[str, float]]]] = {
    "dropped connections": [("drop-connections", {})],
    "a restart": [("restart", {"downtime_s": 2})],
    "1100 then 1102": [("connectivity-lost", {}), ("connectivity-restored", {})],
}


@when(
    parsers.parse(
        "signals with a {ttl:d} s lifetime stream at {rate:d} per second for {seconds:d} seconds"
    )
)
def lifetime_stream(stream: Stream, ttl: int, rate: int, seconds: int) -> None:
    stream.details.update(ttl_s=ttl, rate=rate, seconds=seconds)


@when(parsers.parse("the leader is killed with SIGKILL {after:d} seconds into the stream"))
def kill_leader(topology: Stack, stream: Stream, after: int) -> None:
    leader = topology.leader()
    stream.details["killed"] = leader
    seconds, rate, ttl = (float(stream.details[k]) for k in ("seconds", "rate", "ttl_s"))

    def kill_midway() -> None:
        time.sleep(after)
        stream.details["killed_token"] = topology.bot_status(leader)["fencing_token"]
        topology.supervisor.kill(leader)
        stream.fault_ns = time.time_ns()  # after the kill: no later order can be the old leader's
        time.sleep(seconds - after)

    _, stream.sent = topology.stream_while(rate, kill_midway, ttl_s=ttl)


@when(
    parsers.parse(
        "signals with a {ttl:d} s lifetime stream at {rate:d} per second for {seconds:d} seconds "
        'while the gateway suffers "{fault}"'
    )
)
def gateway_fault(
    topology: Stack, stream: Stream, ttl: int, rate: int, seconds: int, fault: str
) -> None:
    def strike() -> None:
        time.sleep(2)
        stream.fault_ns = time.time_ns()
        for step, (name, body) in enumerate(GATEWAY_FAULTS[fault]):
            if step:
                time.sleep(2)
            topology.gateway_fault(name, body)
        time.sleep(max(0.0, seconds - (time.time_ns() - stream.fault_ns) / 1e9 - 2))

    _, stream.sent = topology.stream_while(rate, strike, ttl_s=ttl)


@then("a new leader places its first order within the lease TTL plus 1 second of the kill")
def new_leader_in_time(topology: Stack, stream: Stream, record_figure: RecordFigure) -> None:
    killed = str(stream.details["killed"])

    def first_new_order() -> dict[str, Any] | None:
        # Every leader uses the same clientId (a second live session is refused with 326), and
        # the old one is dead: whatever the gateway receives after the kill, a new leader sent.
        after = [o for o in topology.gateway("/orders") if o["received_at_ns"] > stream.fault_ns]
        return min(after, key=lambda o: o["received_at_ns"]) if after else None

    first = until(first_new_order, 30, "an order from a new leader")
    takeover_s = (first["received_at_ns"] - stream.fault_ns) / 1e9
    # ... and the ledgers agree: a replica other than the killed one intended it, under a
    # lease it acquired after the killed leader's.
    intended = topology.ledger_intents(first["orderRef"])
    killed_token = int(stream.details["killed_token"])
    assert any(r != killed and token > killed_token for r, token in intended), (
        f"the first order after the kill was intended by {intended}, not by a new leader "
        f"(the killed {killed} held token {killed_token})"
    )
    timeline = [
        e for e in topology.supervisor.events.read() if e["t_ns"] >= stream.fault_ns - 10**9
    ]
    record_figure(
        "failover",
        {
            "killed": killed,
            "takeover_s": round(takeover_s, 3),
            "lease_ttl_s": LEASE_TTL_S,
            "timeline": timeline,
        },
    )
    assert takeover_s <= LEASE_TTL_S + 1, f"first order of the new leader {takeover_s:.2f} s after"


@then("no signal was traded after it expired")
def none_after_expiry(topology: Stack, stream: Stream) -> None:
    expiry_ns = {s.id: int(s.expires_at.timestamp() * 1e9) for s in stream.sent}
    late = late_trades(expiry_ns, topology.gateway("/orders"), topology.gateway("/executions"))
    assert not late, (
        f"signals traded after they expired (an order placed after, or a fill more than the "
        f"good-till second after): {late}"
    )


@then("every signal ends in exactly one recorded outcome")
def one_outcome_each(topology: Stack, stream: Stream) -> None:
    def decided() -> dict[str, set[tuple[str, str]]] | None:
        outcomes = topology.ledger_outcomes()
        seen = {s.id: set(outcomes.get(s.id, [])) for s in stream.sent}
        return seen if all(seen.values()) else None

    # One outcome, decided by one replica: the others hold the decider's, adopted.
    seen = until(decided, 40, "an outcome in the ledgers for every signal")
    conflicting = {sid: sorted(decisions) for sid, decisions in seen.items() if len(decisions) != 1}
    assert not conflicting, f"signals decided more than once: {conflicting}"


@then("the leader is trading again with its gateway connected")
def trading_again(topology: Stack) -> None:
    leader = topology.leader()
    until(lambda: topology.bot_status(leader).get("broker_connected"), 30, f"{leader}'s gateway")
