"""Steps for signal-to-order latency."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from harness.latency import Beside, LatencyResult
from scenarios.conftest import RecordFigure
from scenarios.stack import Stack
from system.domain.signals import Signal


@pytest.fixture
def sent() -> list[Signal]:
    return []


@pytest.fixture
def beside() -> list[Beside]:
    """What was measured beside the signals sent: the link's own delay, each signal's hops."""
    return []


@given(parsers.parse("the bots have traded a warm-up of {count:d} signals"))
def warm_up(topology: Stack, count: int) -> None:
    """The first order on a contract makes the bot look it up at the gateway; steady state is
    what the SLO is about, so each contract is traded once before measuring."""
    result = topology.orders_for(topology.send(count, rate_per_s=10), one_way_ms=0)
    assert not result.missing, f"warm-up signals without an order: {result.missing}"


@when(parsers.parse("{count:d} signals are sent at {rate:d} per second"))
def send_signals(
    topology: Stack, sent: list[Signal], beside: list[Beside], count: int, rate: int
) -> None:
    signals, measured_beside = topology.send_beside_probe(count, rate_per_s=rate)
    sent.extend(signals)
    beside.append(measured_beside)


@pytest.fixture
def measured(topology: Stack, sent: list[Signal], beside: list[Beside]) -> LatencyResult:
    one_way = topology.supervisor.profile.cloud_to_edge_ms
    return topology.orders_for(sent, one_way_ms=one_way, beside=beside[0])


@then("every signal gives exactly one order at the gateway")
def one_order_each(measured: LatencyResult) -> None:
    assert not measured.missing, f"{len(measured.missing)} signals without an order"
    assert not measured.duplicated, f"signals with more than one order: {measured.duplicated}"


@then("the p99 from signal to order received is at most the measured one-way latency plus 5 ms")
def p99_within_slo(topology: Stack, measured: LatencyResult, record_figure: RecordFigure) -> None:
    profile = topology.supervisor.profile
    record_figure(
        "latency",
        {
            "rtt_ms": profile.edge_to_cloud_ms + profile.cloud_to_edge_ms,
            "cpu_idle": topology.supervisor.idle.status,
            "cpus": topology.supervisor.cpus.status,
            **measured.summary(),
            "samples_ms": measured.samples_ms,
            "acked_ms": measured.acked_ms,
            "link_ms": measured.link_ms,
        },
    )
    limit = measured.link_p99_ms + 5
    assert measured.percentile(99) <= limit, (
        f"p99 {measured.percentile(99):.2f} ms > {limit:.2f} ms: the link's own p99 "
        f"{measured.link_p99_ms:.2f} ms (set to {measured.injected_one_way_ms:g} ms) + 5 ms "
        f"(p50 {measured.percentile(50):.2f} ms, stack p99 {measured.stack_p99_ms:.2f} ms); "
        f"hop by hop: {measured.beside.hops()}; the host took {measured.beside.host_steal_ms} "
        "ms of this VM's CPU meanwhile"
    )
