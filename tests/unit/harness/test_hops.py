from datetime import date
from decimal import Decimal

import pytest

from harness.hops import PathPorts, hop_times
from harness.latency import Beside, LatencyResult, make_signal
from system.domain.contracts import OptionContract, Right

CALL = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal(600), right=Right.CALL
)
PATH = PathPorts(signalr=1000, link=2000, gateway=3000, pids=())
LEADER_ORDERS, LEADER_SIGNALS = 4001, 5001  # the trading bot's local ports
STANDBY_SIGNALS = 5002
MS = 1_000_000


def test_each_hop_is_timed_along_the_copy_the_trading_bot_received() -> None:
    signal = make_signal(CALL, 0, ttl_s=30)
    t0 = int(signal.created_at.timestamp() * 1e9)
    sightings = [
        (t0 + 1 * MS, 6000, PATH.signalr, signal.id),  # the broadcast POST
        (t0 + 3 * MS, PATH.signalr, 7001, signal.id),  # the service's frames, to two clients
        (t0 + 4 * MS, PATH.signalr, 7002, signal.id),
        (t0 + 19 * MS, PATH.link, STANDBY_SIGNALS, signal.id),  # delivered first to a standby
        (t0 + 20 * MS, PATH.link, LEADER_SIGNALS, signal.id),
        (t0 + 24 * MS, LEADER_ORDERS, PATH.gateway, signal.id),  # the placeOrder
        (t0 + 90 * MS, LEADER_ORDERS, PATH.gateway, signal.id),  # a later message naming it
    ]
    hops = hop_times([signal], sightings, PATH, {LEADER_ORDERS: LEADER_SIGNALS})
    assert hops == {"sender": [1.0], "signalr": [2.0], "link": [17.0], "bot": [4.0]}


def test_a_signal_not_seen_all_the_way_is_left_out() -> None:
    seen, unordered = make_signal(CALL, 1, ttl_s=30), make_signal(CALL, 2, ttl_s=30)
    t0 = int(seen.created_at.timestamp() * 1e9)
    sightings = [
        (t0 + MS, 6000, PATH.signalr, signal_id) for signal_id in (seen.id, unordered.id)
    ] + [
        (t0 + 2 * MS, PATH.signalr, 7001, seen.id),
        (t0 + 2 * MS, PATH.signalr, 7001, unordered.id),
        (t0 + 18 * MS, PATH.link, LEADER_SIGNALS, seen.id),
        (t0 + 18 * MS, PATH.link, LEADER_SIGNALS, unordered.id),
        (t0 + 19 * MS, LEADER_ORDERS, PATH.gateway, seen.id),
    ]
    hops = hop_times([seen, unordered], sightings, PATH, {LEADER_ORDERS: LEADER_SIGNALS})
    assert hops["bot"] == [1.0]


def test_the_summary_gives_each_hops_percentiles_or_why_there_are_none() -> None:
    hops = {"sender": [0.5, 0.7], "signalr": [0.8, 1.0], "link": [16.0, 17.0], "bot": [1.5, 2.5]}
    figures = LatencyResult(15, [19.0, 21.0], beside=Beside([15.5, 16.0], hops)).summary()["hops"]
    assert figures["signals"] == 2
    assert figures["bot"] == {"p50_ms": 2.0, "p90_ms": 2.4, "p99_ms": 2.49}
    # Signal by signal, all but the link: 0.5 + 0.8 + 1.5 and 0.7 + 1.0 + 2.5.
    assert figures["stack"] == {"p50_ms": 3.5, "p90_ms": 4.06, "p99_ms": 4.186}
    missing = LatencyResult(15, [19.0], beside=Beside(hops_unavailable="no CAP_NET_RAW"))
    assert missing.summary()["hops"] == {"unavailable": "no CAP_NET_RAW"}


def test_a_path_travels_as_json_and_bad_json_is_named() -> None:
    path = PathPorts(signalr=1, link=2, gateway=3, pids=(10, 11))
    assert PathPorts.from_json(path.to_json()) == path
    for bad in ("", "[]", '{"signalr": 1, "link": 2, "gateway": 3}', '{"signalr": "x"}'):
        with pytest.raises(ValueError, match="not a signal path"):
            PathPorts.from_json(bad)
