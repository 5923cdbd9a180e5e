from datetime import date
from decimal import Decimal

from harness.latency import Beside, hop_lines, make_signal, match
from system.domain.contracts import OptionContract, Right

CALL = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal(600), right=Right.CALL
)


def order(ref: str, received_ns: int) -> dict[str, object]:
    return {"orderRef": ref, "received_at_ns": received_ns}


def test_each_signal_is_matched_to_its_first_order_and_discrepancies_are_named() -> None:
    sent = [make_signal(CALL, i, ttl_s=30) for i in range(3)]
    created = [int(s.created_at.timestamp() * 1e9) for s in sent]
    orders = [
        order(sent[0].id, created[0] + 12_000_000),
        order(sent[1].id, created[1] + 15_000_000),
        order(sent[1].id, created[1] + 40_000_000),  # a second order for one signal
        order("sig-from-another-run", 1),
    ]
    result = match(sent, orders, one_way_ms=10)
    assert result.samples_ms == [12.0, 15.0]
    assert result.missing == [sent[2].id]
    assert result.duplicated == [sent[1].id]
    assert result.summary()["orders"] == 2


def test_signals_have_distinct_ids_even_in_the_same_microsecond() -> None:
    assert len({make_signal(CALL, i, ttl_s=5).id for i in range(100)}) == 100


def test_hops_are_summed_signal_by_signal_without_the_link_and_printed_a_line_each() -> None:
    beside = Beside(
        hops_ms={
            "sender": [1.0, 2.0],
            "signalr": [1.0, 1.0],
            "link": [10.0, 30.0],
            "bot": [1.0, 5.0],
        }
    )
    hops = beside.hops()
    assert hops["signals"] == 2
    assert hops["link"]["p50_ms"] == 20.0
    assert (hops["stack"]["p50_ms"], hops["stack"]["p99_ms"]) == (5.5, 7.95)
    lines = hop_lines(hops)
    assert lines[0] == "hops.signals         2"
    assert lines[-1] == "hops.stack           p50 5.5  p90 7.5  p99 7.95"
    unseen = Beside(hops_unavailable="no CAP_NET_RAW").hops()
    assert hop_lines(unseen) == ["hops.unavailable     no CAP_NET_RAW"]
