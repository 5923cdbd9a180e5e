"""One bot against the gateway simulator's faults: restarts, lost orders, IB connectivity loss,
and a rotated gateway credential, without duplicates and without restarting the bot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from signal import SIGCONT, SIGSTOP

import pytest

from system.domain.signals import Signal
from tests.integration.edge import rig

pytestmark = pytest.mark.integration


@dataclass
class Single:
    gateway: rig.Gateway
    cloud: rig.Cloud
    bot: rig.Service
    secrets: Path
    strategy: Path

    def trade(self, *signals: Signal) -> None:
        for s in signals:
            self.cloud.publish(s)

    def outcome(self, signal: Signal, timeout_s: float = 30) -> tuple[str, str]:
        found: tuple[str, str] = rig.until(
            lambda: self.bot.outcomes().get(signal.id), timeout_s, f"an outcome for {signal.id}"
        )
        return found

    def gateway_order(self, signal: Signal) -> dict[str, object] | None:
        return next((o for o in self.gateway.orders() if o["orderRef"] == signal.id), None)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Single]:
    tmp = tmp_path_factory.mktemp("gateway")
    (tmp / "credential").write_text("cred-v1")
    secrets = tmp / "secrets"
    secrets.mkdir()
    (secrets / "ib-credential").write_text("cred-v1\n")
    credential = ("--credential-file", str(tmp / "credential"))
    with rig.edge(tmp, "gateway-signalr-key-0123456789abcd", *credential) as edge:
        [bot] = edge.start_bots(
            "bot-1", SPY_BOT_IB_CREDENTIAL_SECRET="ib-credential", SPY_BOT_CREDENTIAL_CHECK_S="0.3"
        )
        rig.leader_of([bot])
        rig.subscribed([bot])
        yield Single(edge.gateway, edge.cloud, bot, secrets, edge.strategy)


def test_gateway_restart_mid_order_without_duplicates(single: Single) -> None:
    single.gateway.fault("slow-acks", {"delay_ms": 5000})
    in_flight = rig.make_signal(ttl_s=4)
    single.trade(in_flight)
    lost = rig.until(lambda: single.gateway_order(in_flight), 10, "the order at the gateway")
    assert lost["acked_at_ns"] is None
    # The restart loses the unacknowledged order, as IB's paper servers have.
    single.gateway.fault("restart", {"downtime_s": 1.0})
    outcome, reason = single.outcome(in_flight)
    assert (outcome, reason) == (
        "rejected",
        f"lost: the broker does not know order id {lost['orderId']}",
    )
    assert single.gateway_order(in_flight) is None  # never sent a second time
    after = rig.make_signal()
    single.trade(after)
    assert single.outcome(after) == ("filled", "")
    order = single.gateway_order(after)
    assert order is not None
    assert int(order["orderId"]) > int(lost["orderId"])  # (ids are never reused)
    assert single.gateway.refs()[after.id] == 1


def test_an_order_acknowledged_before_a_restart_is_adopted_not_resent(single: Single) -> None:
    done = rig.make_signal()
    single.trade(done)
    assert single.outcome(done) == ("filled", "")
    single.gateway.fault("restart", {"downtime_s": 0.5})
    rig.until(lambda: single.bot.status().get("trading"), 20, "trading after the restart")
    next_one = rig.make_signal()
    single.trade(next_one)
    assert single.outcome(next_one) == ("filled", "")
    assert single.gateway.refs()[done.id] == 1


def test_a_swallowed_order_is_proved_lost_at_expiry(single: Single) -> None:
    single.gateway.fault("swallow-next-order")
    swallowed = rig.make_signal(ttl_s=2)
    single.trade(swallowed)
    outcome, reason = single.outcome(swallowed)
    assert outcome == "rejected"
    assert "10147" in reason or reason.startswith("lost:")  # the gateway never had it
    assert single.gateway.refs()[swallowed.id] == 1


@contextmanager
def limit_orders(single: Single) -> Iterator[None]:
    """The bot on a limit-order strategy, then back on market orders."""
    rig.write_strategy(single.strategy, order_type="LMT")
    rig.until(lambda: single.bot.status().get("order_type") == "LMT", 15, "a limit-order strategy")
    try:
        yield
    finally:
        rig.write_strategy(single.strategy)
        rig.until(lambda: single.bot.status().get("order_type") == "MKT", 15, "market orders")


def resting(single: Single, ttl_s: float) -> tuple[Signal, dict[str, object]]:
    """A signal whose limit order rests at the gateway: it bids far below the ask."""
    signal = rig.make_signal(ttl_s=ttl_s, reference_price=Decimal("0.05"))
    single.trade(signal)
    order = rig.until(lambda: single.gateway_order(signal), 10, "the order at the gateway")
    assert (order["status"], order["tif"]) == ("Submitted", "GTD")
    return signal, order


def test_a_resting_order_is_cancelled_at_expiry_without_a_reconciliation(single: Single) -> None:
    """The sweep cancels an expired signal's order by its id: asking the gateway for the whole
    day's orders and executions, every second under load, held the signals behind it."""
    with limit_orders(single):
        reconciled = single.bot.status()["last_reconciled"]
        signal, _ = resting(single, ttl_s=2)
        assert single.outcome(signal) == ("cancelled", "")
        assert single.gateway_order(signal)["status"] == "Cancelled"  # type: ignore[index]
        assert single.bot.status()["last_reconciled"] == reconciled
        assert single.gateway.refs()[signal.id] == 1


def test_a_frozen_leaders_resting_order_still_ends_when_its_signal_does(single: Single) -> None:
    """A limit order is good until its signal expires: the gateway cancels it then itself,
    whatever becomes of the leader (frozen here, as on a node that stopped scheduling it)."""
    with limit_orders(single):
        signal, order = resting(single, ttl_s=1)
        single.bot.proc.signal(SIGSTOP)
        try:
            rig.until(
                lambda: single.gateway_order(signal)["status"] == "Cancelled",  # type: ignore[index]
                10,
                "the gateway's own cancellation",
            )
        finally:
            single.bot.proc.signal(SIGCONT)
        expiry_ns = signal.expires_at.timestamp() * 1e9
        assert expiry_ns <= order["goodTillNs"] < expiry_ns + 1e9  # type: ignore[operator]
        assert single.outcome(signal) == ("cancelled", "")
        rig.until(lambda: single.bot.status().get("trading"), 20, "trading again")


def test_ib_connectivity_loss_pauses_trading_until_reconciled(single: Single) -> None:
    single.gateway.fault("connectivity-lost")
    rig.until(lambda: not single.bot.status().get("trading"), 10, "trading paused")
    held = rig.make_signal()
    single.trade(held)
    rig.until(lambda: single.bot.status().get("undecided_signals"), 10, "the signal recorded")
    assert single.gateway_order(held) is None  # recorded, not traded while IB is away
    single.gateway.fault("connectivity-restored")
    assert single.outcome(held) == ("filled", "")
    assert single.gateway.refs()[held.id] == 1


def test_a_rotated_gateway_credential_reconnects_without_a_restart(single: Single) -> None:
    pid = single.bot.proc.pid
    single.gateway.set_credential("cred-v2")  # the gateway accepts only the new one from now
    (single.secrets / "ib-credential").write_text("cred-v2\n")  # the mounted Secret updates
    rig.until(
        lambda: single.bot.metric("spy_bot_credential_rotations_total") >= 1, 15, "a rotation"
    )
    rig.until(lambda: single.bot.status().get("trading"), 20, "trading on the new session")
    after = rig.make_signal()
    single.trade(after)
    assert single.outcome(after) == ("filled", "")
    assert single.bot.proc.pid == pid
    assert single.bot.proc.alive()
