"""What counts as trading a signal after it expired, from what the gateway recorded."""

from __future__ import annotations

from harness.late_trades import late_trades

SECOND = 1_000_000_000
EXPIRY = {"sig-a": 100 * SECOND, "sig-b": 100 * SECOND, "sig-c": 100 * SECOND}


def test_a_trade_is_late_when_placed_after_expiry_or_filled_a_second_beyond() -> None:
    orders = [
        {"orderRef": "sig-a", "received_at_ns": 100 * SECOND},  # placed at expiry: in time
        {"orderRef": "sig-b", "received_at_ns": 100 * SECOND + 1},  # just after: late
        {"orderRef": "sig-c", "received_at_ns": 99 * SECOND},
        {"orderRef": "not-a-signal", "received_at_ns": 500 * SECOND},  # another client's
    ]
    fills = [
        {"orderRef": "sig-a", "time_ns": 101 * SECOND},  # within its good-till second
        {"orderRef": "sig-c", "time_ns": 101 * SECOND + 1},  # rested past it: late
    ]
    assert late_trades(EXPIRY, orders, fills) == ["sig-b", "sig-c"]
    assert late_trades(EXPIRY, orders[:1] + orders[2:], fills[:1]) == []
