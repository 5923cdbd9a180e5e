"""What counts as trading a signal after it expired, judged from what the gateway recorded:
shared by the chaos invariant and the failover scenario."""

from __future__ import annotations

from typing import Any

# A resting order is good till its signal's expiry rounded up to the second: a fill within
# that second is in time.
GOOD_TILL_ROUNDING_NS = 1_000_000_000


def late_trades(
    expiry_ns: dict[str, int], orders: list[dict[str, Any]], fills: list[dict[str, Any]]
) -> list[str]:
    """Signal ids (of those in `expiry_ns`) whose order reached the gateway after the signal
    expired, or filled more than the good-till rounding after it; `orders` and `fills` as the
    IB simulator's /orders and /executions list them."""
    late = {
        o["orderRef"]
        for o in orders
        if o["orderRef"] in expiry_ns and o["received_at_ns"] > expiry_ns[o["orderRef"]]
    }
    late |= {
        f["orderRef"]
        for f in fills
        if f["orderRef"] in expiry_ns
        and f["time_ns"] > expiry_ns[f["orderRef"]] + GOOD_TILL_ROUNDING_NS
    }
    return sorted(late)
