"""The bot's trading core against mocked ports: risk wiring, expiry, idempotency, reconciliation."""

import asyncio
import time
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import AsyncMock, MagicMock

import pytest

from system.domain.contracts import OptionContract
from system.domain.orders import OrderIntent, OrderStatus
from system.edge.alerting import AlertGate
from system.edge.backoff import Backoff
from system.edge.ledger import Ledger
from system.edge.strategy_config import StrategySource
from system.ports import BrokerLink, Decision, OrderEvent, ReceivedSignal
from system.services.bot.metrics import BotMetrics
from system.services.bot.trader import Trader
from tests.unit.edge.builders import CALL, NOW, broker_order, execution, make_signal

STRATEGY = """
limits:
  max_position_per_contract: {position}
  max_orders_per_minute: {rate}
  max_notional: {notional}
quantity: 1
limit_offset: 0.05
"""


class Gate:
    def __init__(self, token: int | None = 1) -> None:
        self.token = token
        self.open = True

    def may_trade(self) -> bool:
        return self.token is not None and self.open


class FixedClock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at

    def monotonic_ns(self) -> int:
        return 0


class Rig:
    def __init__(self, tmp_path: Path, position: int = 5, rate: int = 30, notional: int = 10_000):
        path = tmp_path / "strategy.yaml"
        path.write_text(STRATEGY.format(position=position, rate=rate, notional=notional))
        self.ledger = Ledger.open(tmp_path / "ledger.sqlite", "bot-1")
        self.broker = AsyncMock()
        self.placed: list[OrderIntent] = []
        self.broker.place.side_effect = self._place
        self.broker.rehearse = MagicMock()  # synchronous: it encodes and sends nothing
        self.broker.positions.return_value = {}
        self.broker.open_orders.return_value = []
        self.broker.completed_orders.return_value = []
        self.broker.executions.return_value = []
        self.board = AsyncMock()
        self.board.halted.return_value = None
        self.board.decisions.return_value = {}
        self.gate = Gate()
        self.alerts = AsyncMock()
        self.confirmations = AsyncMock()
        self.clock = FixedClock()
        self.written: list[tuple[str, int]] = []
        self.telemetry = telemetry = MagicMock()
        telemetry.span.side_effect = lambda *a, **k: nullcontext({})
        self.trader = Trader(
            ledger=self.ledger,
            broker=self.broker,
            board=self.board,
            gate=self.gate,
            strategy=StrategySource(path),
            telemetry=telemetry,
            alerts=AlertGate(self.alerts),
            confirmations=self.confirmations,
            clock=self.clock,
            metrics=BotMetrics(),
            backoff=Backoff(0.001, 0.01),
            on_placed=lambda ref, took_ns: self.written.append((ref, took_ns)),
        )

    async def _place(self, intent: OrderIntent) -> int:
        self.placed.append(intent)
        return 100 + len(self.placed)

    async def ready(self) -> None:
        await self.trader.reconcile(1)

    async def send(self, *signals: object) -> None:
        for s in signals:
            await self.trader.consume(ReceivedSignal(s, 0))  # type: ignore[arg-type]
        await self.trader.publish_pending()
        await asyncio.sleep(0)  # let fire-and-forget notifications run

    def outcome(self, signal_id: str) -> tuple[OrderStatus, str] | None:
        return self.ledger.outcome(signal_id)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


class TestRehearsal:
    async def test_the_leader_rehearses_its_last_signal_recording_and_sending_nothing(
        self, rig: Rig
    ) -> None:
        await rig.ready()
        await rig.trader.rehearse()
        rig.broker.rehearse.assert_not_called()  # no signal yet: nothing to rehearse
        signal = make_signal()
        await rig.send(signal)
        changes = rig.ledger.connection.total_changes
        undecided, working = rig.ledger.undecided_count(), rig.ledger.working()
        await rig.trader.rehearse()
        [intent] = rig.placed
        # the same order under an id no signal has, its ledger rows written and rolled back
        [[rehearsed], _] = rig.broker.rehearse.call_args_list[0]
        rig.broker.rehearse.assert_called_once()
        assert rehearsed.signal_id != signal.id
        assert rehearsed.model_copy(update={"signal_id": signal.id}) == intent
        assert rig.ledger.order(rehearsed.signal_id) is None
        assert rig.ledger.connection.total_changes > changes
        assert (rig.ledger.undecided_count(), rig.ledger.working()) == (undecided, working)
        assert rig.placed == [intent]

    async def test_a_replica_that_is_not_trading_does_not_rehearse(self, rig: Rig) -> None:
        await rig.ready()
        await rig.send(make_signal())
        rig.gate.token = None
        await rig.trader.rehearse()
        rig.broker.rehearse.assert_not_called()


class TestHotPath:
    async def test_a_signal_becomes_one_order_with_its_id_as_order_ref(self, rig: Rig) -> None:
        await rig.ready()
        signal = make_signal()
        await rig.send(signal, signal)  # delivered twice (a re-publish)
        assert [i.order_ref for i in rig.placed] == [signal.id]
        assert rig.placed[0].limit_price == Decimal("2.55")
        order = rig.ledger.order(signal.id)
        assert order is not None
        assert (order.status, order.broker_order_id) == (OrderStatus.PLACED, 101)

    async def test_each_order_written_is_timed_from_its_frame_once(self, rig: Rig) -> None:
        await rig.ready()
        traded, expired = make_signal(1), make_signal(2, created=NOW - timedelta(seconds=31))
        received_ns = time.monotonic_ns()
        for s in (traded, traded, expired):
            await rig.trader.consume(ReceivedSignal(s, received_ns))
        assert [ref for ref, _ in rig.written] == [traded.id]
        assert rig.written[0][1] >= 0

    async def test_an_expired_signal_is_never_traded(self, rig: Rig) -> None:
        await rig.ready()
        signal = make_signal(created=NOW - timedelta(seconds=31))
        await rig.send(signal)
        assert rig.placed == []
        assert rig.outcome(signal.id) == (OrderStatus.EXPIRED, "expired before it was traded")

    async def test_a_signal_expiring_before_its_order_could_arrive_is_not_traded(
        self, rig: Rig
    ) -> None:
        await rig.ready()
        signal = make_signal(created=NOW - timedelta(seconds=30) + timedelta(milliseconds=40))
        await rig.send(signal)  # 40 ms left, inside the 50 ms margin
        assert rig.placed == []
        assert rig.outcome(signal.id) == (OrderStatus.EXPIRED, "expired before it was traded")

    async def test_the_kill_switch_stops_new_orders_until_resumed(self, rig: Rig) -> None:
        await rig.ready()
        await rig.trader.halt("halted via Telegram by 42")
        blocked, later = make_signal(1), make_signal(2)
        await rig.send(blocked)
        assert rig.outcome(blocked.id) == (OrderStatus.REJECTED, "kill switch is on")
        rig.board.set_halted.assert_awaited_with("halted via Telegram by 42")
        await rig.trader.resume()
        await rig.send(later)
        assert [i.order_ref for i in rig.placed] == [later.id]

    async def test_a_contract_the_strategy_does_not_trade_is_rejected(self, rig: Rig) -> None:
        await rig.ready()
        iwm = OptionContract(symbol="IWM", expiry=CALL.expiry, strike=CALL.strike, right=CALL.right)
        signal = make_signal(contract=iwm)
        await rig.send(signal)
        outcome = rig.outcome(signal.id)
        assert outcome is not None
        assert outcome[0] is OrderStatus.REJECTED
        assert "unknown contract" in outcome[1]

    async def test_order_rate_limit(self, tmp_path: Path) -> None:
        rig = Rig(tmp_path, rate=2)
        await rig.ready()
        signals = [make_signal(n) for n in range(3)]
        await rig.send(*signals)
        assert len(rig.placed) == 2
        assert rig.outcome(signals[2].id) == (
            OrderStatus.REJECTED,
            "order rate limit reached (2/min)",
        )

    async def test_position_limit_counts_working_orders_and_broker_positions(
        self, tmp_path: Path
    ) -> None:
        rig = Rig(tmp_path, position=2)
        rig.broker.positions.return_value = {CALL.local_symbol: 1}
        await rig.ready()
        first, second = make_signal(1), make_signal(2)
        await rig.send(first, second)  # 1 held + 1 working = 2; a third would exceed
        assert [i.order_ref for i in rig.placed] == [first.id]
        outcome = rig.outcome(second.id)
        assert outcome is not None
        assert "would exceed 2" in outcome[1]

    async def test_notional_limit(self, tmp_path: Path) -> None:
        rig = Rig(tmp_path, notional=300)
        await rig.ready()
        first, second = make_signal(1), make_signal(2)  # 2.55 x 100 = 255 each
        await rig.send(first, second)
        assert len(rig.placed) == 1
        assert "notional 510.00 would exceed 300" in str(rig.outcome(second.id))

    async def test_a_standby_records_but_never_trades(self, rig: Rig) -> None:
        rig.gate.token = None
        signal = make_signal()
        await rig.send(signal)
        assert rig.placed == []
        assert [e.signal.id for e in rig.ledger.undecided()] == [signal.id]

    async def test_no_order_once_the_lease_deadline_passed(self, rig: Rig) -> None:
        await rig.ready()
        rig.gate.open = False
        signal = make_signal()
        await rig.send(signal)
        assert rig.placed == []
        assert rig.outcome(signal.id) is None  # left for the next leader to decide

    async def test_a_broker_that_cannot_send_rejects_the_signal_and_pauses(self, rig: Rig) -> None:
        await rig.ready()
        rig.broker.place.side_effect = ConnectionError("Not connected")
        signal, after = make_signal(1), make_signal(2)
        await rig.send(signal)
        assert rig.outcome(signal.id) == (OrderStatus.REJECTED, "not sent: Not connected")
        assert not rig.trader.trading
        await rig.send(after)
        assert rig.outcome(after.id) is None


class TestBrokerEvents:
    async def test_a_gateway_rejection_is_recorded_and_never_retried(self, rig: Rig) -> None:
        await rig.ready()
        signal = make_signal()
        await rig.send(signal)
        rig.trader._order_event(
            OrderEvent(signal.id, 101, OrderStatus.REJECTED, reason="201: Order rejected"), NOW
        )
        assert rig.outcome(signal.id) == (OrderStatus.REJECTED, "201: Order rejected")
        await rig.trader.reconcile(1)
        await rig.trader.sweep()
        assert len(rig.placed) == 1
        await rig.trader.publish_pending()
        [(signal_id, decision, token)] = [c.args for c in rig.board.publish.await_args_list]
        assert (signal_id, decision.outcome, token) == (signal.id, OrderStatus.REJECTED, 1)

    async def test_a_fill_is_confirmed_by_email(self, rig: Rig) -> None:
        await rig.ready()
        signal = make_signal()
        await rig.send(signal)
        rig.trader._execution(execution(signal), NOW)
        rig.trader._order_event(OrderEvent(signal.id, 101, OrderStatus.FILLED, filled=1), NOW)
        await asyncio.sleep(0)
        [alert] = [c.args[0] for c in rig.confirmations.notify.await_args_list]
        assert alert.title == f"Filled: BUY 1 {CALL.local_symbol}"
        assert "1 @ 2.55" in alert.body

    async def test_another_leaders_execution_is_recorded_but_not_counted_again(
        self, rig: Rig
    ) -> None:
        """A new session is sent the day's executions, its predecessors' among them."""
        await rig.ready()
        ours, theirs = make_signal(1), make_signal(2)
        await rig.send(ours)
        rig.ledger.observe(theirs, NOW)  # seen, decided by the old leader: no order here
        rig.trader._execution(execution(ours, "0001.01"), NOW)
        rig.trader._execution(execution(theirs, "0002.01"), NOW)
        assert [f.quantity for f in rig.ledger.fills(theirs.id)] == [1]
        filled = [c.args[1] for c in rig.telemetry.metric.call_args_list]
        assert filled == [1]  # ours only

    async def test_a_lost_link_pauses_and_recovery_reconciles(self, rig: Rig) -> None:
        await rig.ready()
        rig.trader._link(BrokerLink(up=False, reason="1100"))
        assert not rig.trader.trading
        await asyncio.sleep(0.05)
        assert rig.trader.trading
        rig.broker.connect.assert_awaited()


class TestReconciliation:
    async def test_a_new_leader_adopts_trades_and_closes(self, rig: Rig) -> None:
        placed_by_old = make_signal(1)
        decided_by_old = make_signal(2)
        nobody_traded = make_signal(3)
        dead = make_signal(4, created=NOW - timedelta(minutes=5))
        rig.gate.token = None
        await rig.send(placed_by_old, decided_by_old, nobody_traded, dead)
        rig.broker.open_orders.return_value = [
            broker_order(placed_by_old, OrderStatus.ACKNOWLEDGED, broker_id=55)
        ]
        rig.board.decisions.return_value = {
            decided_by_old.id: Decision(OrderStatus.REJECTED, "order rate limit reached", "bot-2")
        }
        rig.gate.token = 2
        await rig.trader.reconcile(2)
        assert rig.trader.trading
        assert [i.order_ref for i in rig.placed] == [nobody_traded.id]
        adopted = rig.ledger.order(placed_by_old.id)
        assert adopted is not None
        assert (adopted.status, adopted.broker_order_id) == (OrderStatus.ACKNOWLEDGED, 55)
        assert rig.outcome(decided_by_old.id) == (OrderStatus.REJECTED, "order rate limit reached")
        assert rig.outcome(dead.id) == (OrderStatus.EXPIRED, "expired before it was traded")

    async def test_an_order_the_gateway_lost_is_proved_lost_not_resent(self, rig: Rig) -> None:
        await rig.ready()
        signal = make_signal()
        await rig.send(signal)
        rig.broker.cancel.return_value = False  # the gateway does not know order 101
        rig.clock.at = NOW + timedelta(minutes=1)
        await rig.trader.sweep()
        rig.broker.cancel.assert_awaited_once_with(signal.id, 101)
        assert rig.outcome(signal.id) == (
            OrderStatus.REJECTED,
            "lost: the broker does not know order id 101",
        )
        assert len(rig.placed) == 1
        rig.alerts.notify.assert_awaited()

    async def test_a_standby_mirrors_the_leaders_outcomes(self, rig: Rig) -> None:
        rig.gate.token = None
        signal = make_signal()
        await rig.send(signal)
        rig.board.decisions.return_value = {signal.id: Decision(OrderStatus.FILLED, "", "bot-2")}
        await rig.trader.sweep()
        assert rig.outcome(signal.id) == (OrderStatus.FILLED, "")


class TestExpirySweep:
    """The leader's sweep cancels what it placed for expired signals, one request per order;
    only what that cannot settle costs a reconciliation with the whole day's orders."""

    @staticmethod
    def asked_for_the_day(rig: Rig) -> bool:
        requests = (rig.broker.open_orders, rig.broker.completed_orders, rig.broker.executions)
        return any(r.await_count for r in requests)

    async def test_an_expired_signals_order_is_cancelled_by_id(self, rig: Rig) -> None:
        await rig.ready()
        expiring, alive = make_signal(1, ttl_s=5), make_signal(2, ttl_s=60)
        await rig.send(expiring, alive)
        rig.broker.reset_mock()
        rig.clock.at = NOW + timedelta(seconds=10)
        await rig.trader.sweep()
        rig.broker.cancel.assert_awaited_once_with(expiring.id, 101)
        rig.trader._order_event(OrderEvent(expiring.id, 101, OrderStatus.CANCELLED), rig.clock.at)
        assert rig.outcome(expiring.id) == (OrderStatus.CANCELLED, "")
        await rig.trader.sweep()
        rig.broker.cancel.assert_awaited_once()
        assert not self.asked_for_the_day(rig)
        assert rig.outcome(alive.id) is None

    async def test_an_order_still_open_a_sweep_after_its_cancel_is_reconciled(
        self, rig: Rig
    ) -> None:
        await rig.ready()
        signal = make_signal(ttl_s=5)
        await rig.send(signal)
        rig.broker.reset_mock()
        rig.clock.at = NOW + timedelta(seconds=10)
        await rig.trader.sweep()  # the cancel is answered, but no status event follows
        assert not self.asked_for_the_day(rig)
        rig.broker.completed_orders.return_value = [
            broker_order(signal, OrderStatus.FILLED, broker_id=101, filled=1)
        ]
        await rig.trader.sweep()
        assert self.asked_for_the_day(rig)
        assert rig.outcome(signal.id) == (OrderStatus.FILLED, "")
        rig.broker.cancel.assert_awaited_once()

    async def test_an_expired_signal_without_an_order_is_reconciled(self, rig: Rig) -> None:
        await rig.ready()
        signal = make_signal(ttl_s=5)
        rig.gate.open = False  # the lease deadline passed: the signal is left undecided
        await rig.send(signal)
        rig.gate.open = True
        rig.broker.reset_mock()
        rig.clock.at = NOW + timedelta(seconds=10)
        await rig.trader.sweep()
        assert self.asked_for_the_day(rig)
        assert rig.outcome(signal.id) == (OrderStatus.EXPIRED, "expired before it was traded")
        rig.broker.cancel.assert_not_awaited()
        assert rig.placed == []
