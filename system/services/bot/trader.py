"""The trading core of one bot replica: signal in, ledger, risk, broker; reconciliation.

Every replica records every signal it receives. Only the leader that has reconciled with the
broker since it last (re)connected or took over decides them: strategy, risk, then one order
with orderRef = signal id, intended in the ledger before it is written. On that path nothing
waits for I/O: the ledger's changes are one short SQLite transaction on the event loop, and the
lease is checked again right before the order is written to the gateway socket.

An order ends with its signal: the leader's sweep cancels it by id once the signal expires, and
a limit order (the one that may rest) carries the expiry as its good-till date, so the broker
cancels it then even if no leader is trading. Standbys mirror the leader's outcomes from the
leader board, so each ledger closes every signal it saw. A leader that loses its lease, its
broker session or its gateway's connectivity stops trading at once and reconciles again before
it resumes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, Protocol

from system.domain.orders import Execution, OrderIntent, OrderStatus, OrderType
from system.domain.risk import Exposure, RiskLimits, assess
from system.domain.signals import Signal
from system.edge.alerting import AlertGate
from system.edge.backoff import Backoff
from system.edge.ledger import Ledger, day_of
from system.edge.reconcile import Adopt, AdoptDecision, Close, Probe, Trade, reconcile
from system.edge.strategy_config import ConfigError, StrategyConfig, StrategySource
from system.ports import (
    Alert,
    Broker,
    BrokerLink,
    Clock,
    Decision,
    LeaderBoard,
    Notifier,
    OrderEvent,
    ReceivedSignal,
    Severity,
    Telemetry,
)
from system.services.bot.metrics import BotMetrics

log = logging.getLogger(__name__)

_REHEARSAL_ID = "sig-rehearsal"  # no signal has it (their ids are sig- and 24 hex digits)

BROKER_ERRORS = (ConnectionError, OSError, TimeoutError)

# Told of every order written: its orderRef and the nanoseconds (monotonic clock) from its
# signal's frame coming off the link to the broker's write to the gateway socket returning.
PlacedHook = Callable[[str, int], None]


class Gate(Protocol):
    """Leadership as the trader sees it (system.edge.leadership.Leadership)."""

    @property
    def token(self) -> int | None: ...

    def may_trade(self) -> bool: ...


class Trader:
    def __init__(
        self,
        *,
        ledger: Ledger,
        broker: Broker,
        board: LeaderBoard,
        gate: Gate,
        strategy: StrategySource,
        telemetry: Telemetry,
        alerts: AlertGate,
        confirmations: Notifier,
        clock: Clock,
        metrics: BotMetrics,
        backoff: Backoff,
        on_placed: PlacedHook | None = None,
        expiry_margin: timedelta = timedelta(milliseconds=50),
    ) -> None:
        self.ledger = ledger
        self.broker = broker
        self._board = board
        self._gate = gate
        self.strategy = strategy
        self._telemetry = telemetry
        self._alerts = alerts
        self._confirmations = confirmations
        self._clock = clock
        self.metrics = metrics
        self._backoff = backoff
        self._on_placed = on_placed
        self._expiry_margin = expiry_margin
        self._ready_token: int | None = None  # the token under which we reconciled
        self._recovery: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._publications: asyncio.Queue[tuple[str, Decision, int]] = asyncio.Queue()
        self._queued = asyncio.Event()
        self.halted: str | None = None
        self.last_reconciled: datetime | None = None
        self._rehearsed: Signal | None = None  # the last signal traded: the one rehearsed
        self._cancelled: set[str] = set()  # signals whose expired order the last sweep cancelled

    # -- state ---------------------------------------------------------------------------------

    @property
    def trading(self) -> bool:
        token = self._gate.token
        return token is not None and token == self._ready_token and self._gate.may_trade()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _not_ready(self, why: str) -> None:
        if self._ready_token is not None:
            log.warning("trading paused: %s", why)
        self._ready_token = None
        self.metrics.trading.set(0)

    # -- signals (the hot path) ----------------------------------------------------------------

    async def consume(self, received: ReceivedSignal) -> None:
        now = self._clock.now()
        if self.trading:
            self._rehearsed = received.signal
            await self._trade(received.signal, received.received_ns, now, observe=True)
        elif self.ledger.observe(received.signal, now):
            self.metrics.signals_taken.inc()  # decided by the leader, or later
        else:
            self.metrics.duplicates.inc()

    async def _trade(self, signal: Signal, received_ns: int, now: datetime, observe: bool) -> None:
        """Record (if `observe`), decide and, if approved, send: every ledger change before the
        order leaves is one transaction, and nothing awaits between the lease check and the
        write to the socket."""
        token = self._gate.token
        if token is None:
            return
        positions = await self.broker.positions()  # awaited before the transaction opens
        started_ns = time.time_ns()
        try:
            await self._decide_and_place(signal, token, received_ns, now, positions, observe)
        finally:
            # The span from decision to the order on the wire, a child of the detector's signal
            # span (its context crossed the VPN inside the signal), is recorded once the order
            # is out: tracing costs the hot path nothing.
            self._telemetry.record_span(
                "bot.order",
                started_ns,
                time.time_ns(),
                parent=signal.trace_context,
                attributes={"order_ref": signal.id, "replica": self.ledger.replica},
            )

    async def _decide_and_place(
        self,
        signal: Signal,
        token: int,
        received_ns: int,
        now: datetime,
        positions: dict[str, int],
        observe: bool,
    ) -> None:
        with self.ledger.atomic():
            if observe:
                if not self.ledger.observe(signal, now):
                    self.metrics.duplicates.inc()
                    return
                self.metrics.signals_taken.inc()
            intent = self._decide(signal, token, now, positions)
        if intent is None or not self._gate.may_trade():
            return
        try:
            broker_order_id = await self.broker.place(intent)
        except BROKER_ERRORS as error:
            # Raised before anything was written: no order exists for this signal.
            self._order_failed(signal.id, f"not sent: {error}", now)
            self._not_ready(f"broker unusable: {error}")
            return
        took_ns = time.monotonic_ns() - received_ns
        self.metrics.place_seconds.observe(took_ns / 1e9)
        if self._on_placed is not None:
            self._on_placed(signal.id, took_ns)
        self.metrics.signal_to_order_seconds.observe(
            max(0.0, (self._clock.now() - signal.created_at).total_seconds())
        )
        self.metrics.orders.inc()
        self.ledger.update(signal.id, OrderStatus.PLACED, now, broker_order_id=broker_order_id)

    def _decide(
        self, signal: Signal, token: int, now: datetime, positions: dict[str, int]
    ) -> OrderIntent | None:
        """Strategy and risk: the intent to send (already in the ledger), or None with the
        signal closed and the reason recorded."""
        # Its order must reach the gateway before the signal expires, not just leave the
        # decision before it: a signal expiring within the margin is not traded.
        if signal.is_expired(now + self._expiry_margin):
            self._close(signal.id, OrderStatus.EXPIRED, "expired before it was traded", token)
            return None
        config = self.strategy.current
        intent = config.intent(signal)
        if isinstance(intent, str):
            self._close(signal.id, OrderStatus.REJECTED, intent, token)
            return None
        verdict = assess(signal, intent, self._limits(config), self._exposure(now, positions), now)
        if not verdict.approved:
            self._close(signal.id, OrderStatus.REJECTED, verdict.reason, token)
            return None
        if not self._gate.may_trade():  # the lease deadline passed: leave it to the next leader
            return None
        if not self.ledger.intend(intent, token, now, time.time_ns()):
            return None
        return intent

    async def rehearse(self) -> None:
        """The hot path on the last signal traded, with nothing kept and nothing sent:
        strategy, risk, the ledger's inserts rolled back, the order encoded. Run every
        millisecond or so between signals, it keeps that path's code and data in the CPU's
        caches, as trading systems do: on a VM whose caches other tenants share, a path left
        cold for the 50 ms between signals ran several times slower than the same path warm."""
        signal, token = self._rehearsed, self._gate.token
        if signal is None or token is None or not self.trading:
            return
        if signal.id != _REHEARSAL_ID:  # a copy, so that the ledger's inserts are real ones
            signal = self._rehearsed = signal.model_copy(update={"id": _REHEARSAL_ID})
        now = self._clock.now()
        positions = await self.broker.positions()
        config = self.strategy.current
        intent = config.intent(signal)
        if isinstance(intent, str):
            return
        assess(signal, intent, self._limits(config), self._exposure(now, positions), now)
        self.ledger.rehearse(signal, intent, token, now)
        self.broker.rehearse(intent)

    def _limits(self, config: StrategyConfig) -> RiskLimits:
        if self.halted is None or config.limits.kill_switch:
            return config.limits
        return config.limits.model_copy(update={"kill_switch": True})

    def _exposure(self, now: datetime, positions: dict[str, int]) -> Exposure:
        held = dict(positions)
        for symbol, quantity in self.ledger.working().items():
            held[symbol] = held.get(symbol, 0) + quantity
        return Exposure(
            positions=held,
            orders_last_minute=self.ledger.orders_since(time.time_ns() - 60_000_000_000),
            open_notional=self.ledger.committed_notional(day_of(now)),
        )

    def _close(self, signal_id: str, outcome: OrderStatus, reason: str, token: int) -> None:
        if self.ledger.decide(signal_id, outcome, reason, self._clock.now()):
            self.metrics.outcomes.labels(outcome.value).inc()
            self._publish(signal_id, outcome, reason, token)

    def _publish(self, signal_id: str, outcome: OrderStatus, reason: str, token: int) -> None:
        """Queue the outcome for the board (off the hot path, retried: standbys rely on it)."""
        decision = Decision(outcome, reason, self.ledger.replica)
        self._publications.put_nowait((signal_id, decision, token))
        self._queued.set()

    async def publish_pending(self) -> None:
        """Publish what is queued, one at a time, each retried while its token leads; an
        outcome a deposed leader could not publish is reconciled by the next one."""
        while not self._publications.empty():
            signal_id, decision, token = self._publications.get_nowait()
            attempt = 0
            while self._gate.token == token:
                try:
                    await self._board.publish(signal_id, decision, token)
                    break
                except Exception as error:  # Redis busy or away: the lease loop notices too
                    pause = self._backoff.delay(attempt)
                    log.warning(
                        "publishing %s failed (%s); again in %.2f s", signal_id, error, pause
                    )
                    attempt += 1
                    await asyncio.sleep(pause)

    async def run_publications(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            await self.publish_pending()

    async def _guarded(self, work: Awaitable[Any], what: str) -> None:
        try:
            await work
        except Exception as error:  # a side effect that may fail without stopping trading
            log.warning("%s failed: %s: %s", what, type(error).__name__, error)

    def _order_failed(self, signal_id: str, reason: str, now: datetime) -> None:
        self._order_event(OrderEvent(signal_id, 0, OrderStatus.REJECTED, reason=reason), now)

    # -- broker events -------------------------------------------------------------------------

    async def run_broker_events(self) -> None:
        async for event in self.broker.events():
            now = self._clock.now()
            if isinstance(event, OrderEvent):
                self._order_event(event, now)
            elif isinstance(event, Execution):
                self._execution(event, now)
            else:
                self._link(event)

    def _order_event(self, event: OrderEvent, now: datetime) -> None:
        status = self.ledger.update(
            event.order_ref,
            event.status,
            now,
            broker_order_id=event.broker_order_id or None,
            perm_id=event.perm_id,
            filled=event.filled,
            reason=event.reason,
        )
        if status is None or not status.is_terminal:
            return
        self.metrics.outcomes.labels(status.value).inc()
        token = self._gate.token
        if token is not None:
            self._publish(event.order_ref, status, event.reason, token)
        if status is OrderStatus.REJECTED:
            self.metrics.order_errors.inc()
        if status is OrderStatus.FILLED:
            self._confirm(event.order_ref)

    def _execution(self, execution: Execution, now: datetime) -> None:
        if not self.ledger.add_execution(execution, now):
            return
        if self.ledger.order(execution.order_ref) is None:
            # Another leader's order (the gateway replays the day's executions to a new session
            # under the shared client id): recorded, but that leader counted and confirmed it.
            return
        self._confirm(execution.order_ref)
        signal = self.ledger.signal(execution.order_ref)
        parent = signal.trace_context if signal else None
        with self._telemetry.span(
            "bot.fill", parent=parent, attributes={"order_ref": execution.order_ref}
        ):
            self._telemetry.metric("bot.fill.quantity", execution.quantity)

    def _confirm(self, signal_id: str) -> None:
        """Email a confirmation once the order is filled and all its fills are in: the status
        and the fills (complete only with their commission report) arrive in either order."""
        signal = self.ledger.signal(signal_id)
        order = self.ledger.order(signal_id)
        fills = self.ledger.fills(signal_id)
        if signal is None or order is None or order.status is not OrderStatus.FILLED:
            return
        if sum(f.quantity for f in fills) < order.quantity:
            return
        lines = [f"{f.quantity} @ {f.price} (commission {f.commission})" for f in fills]
        alert = Alert(
            key=f"fill:{signal_id}",
            severity=Severity.INFO,
            title=f"Filled: {signal.side.value} {order.quantity} {signal.contract.local_symbol}",
            body="\n".join([f"Signal {signal_id}: {signal.reason}", *lines]),
        )
        self._spawn(self._guarded(self._confirmations.notify(alert), "trade confirmation"))

    def _link(self, link: BrokerLink) -> None:
        if not link.up:
            self._not_ready(f"broker link down: {link.reason}")
        token = self._gate.token
        if token is not None:
            self._start_recovery(token, f"broker link {'up' if link.up else 'down'}")

    # -- leadership ----------------------------------------------------------------------------

    def lead(self, token: int) -> None:
        self.metrics.leader.set(1)
        self.metrics.lease_acquired.inc()
        self._start_recovery(token, "leadership")

    def follow(self) -> None:
        self.metrics.leader.set(0)
        self._not_ready("not the leader")
        if self._recovery is not None:
            self._recovery.cancel()
            self._recovery = None
        self._spawn(self._guarded(self.broker.disconnect(), "broker disconnect"))

    def _start_recovery(self, token: int, why: str) -> None:
        if self._recovery is not None and not self._recovery.done():
            return
        log.info("reconnecting and reconciling (%s)", why)
        self._recovery = asyncio.get_running_loop().create_task(self._recover(token))

    async def _recover(self, token: int) -> None:
        """Connect, reconcile, then trade: retried with backoff while this token leads."""
        attempt = 0
        while self._gate.token == token:
            try:
                self.halted = await self._board.halted()
                self.metrics.halted.set(self.halted is not None)
                await self.broker.connect()
                await self.reconcile(token)
                return
            except Exception as error:  # anything may fail mid-way; retried while we lead
                pause = self._backoff.delay(attempt)
                log.warning(
                    "recovery attempt %d failed (%s); again in %.2f s", attempt, error, pause
                )
                attempt += 1
                await asyncio.sleep(pause)

    async def reconnect(self, why: str) -> None:
        """Drop the broker session and build it again (a rotated credential)."""
        self._not_ready(why)
        await self.broker.disconnect()
        token = self._gate.token
        if token is not None:
            if self._recovery is not None:
                self._recovery.cancel()
                self._recovery = None
            self._start_recovery(token, why)

    # -- reconciliation --------------------------------------------------------------------

    async def reconcile(self, token: int) -> None:
        """Adopt what the broker holds, close what will never trade, then trade what may."""
        self.metrics.reconciliations.inc()
        entries = self.ledger.undecided()
        snapshot = {e.signal.id for e in entries}
        open_orders = await self.broker.open_orders()
        completed = await self.broker.completed_orders()
        executions = await self.broker.executions()
        decisions = await self._board.decisions(sorted(snapshot))
        now = self._clock.now()
        plan = reconcile(entries, open_orders + completed, executions, decisions, now)
        for ref, ids in plan.duplicates.items():
            self.metrics.duplicate_orders.inc()
            await self._alerts.raise_(
                Alert(
                    f"duplicate:{ref}",
                    Severity.CRITICAL,
                    f"Broker holds {len(ids)} orders for one signal",
                    f"orderRef {ref}: broker order ids {ids}",
                )
            )
        trades: list[Signal] = []
        for action in plan.actions:
            if isinstance(action, Adopt):
                await self._adopt(action, token, now)
            elif isinstance(action, AdoptDecision):
                d = action.decision
                if self.ledger.decide(action.signal.id, d.outcome, d.reason, now, d.decided_by):
                    self.metrics.outcomes.labels(d.outcome.value).inc()
            elif isinstance(action, Probe):
                await self._probe(action, now)
            elif isinstance(action, Close):
                self._close(action.signal.id, action.outcome, action.reason, token)
            elif isinstance(action, Trade):
                trades.append(action.signal)
        if self._gate.token != token:
            raise RuntimeError("leadership changed while reconciling")
        self._ready_token = token
        self.metrics.trading.set(1)
        self.last_reconciled = now
        log.info(
            "reconciled: %d actions, %d orders waiting, trading",
            len(plan.actions),
            plan.waiting,
        )
        # Signals that arrived while we reconciled are as new as the ones the plan lets trade.
        late = [
            e.signal
            for e in self.ledger.undecided()
            if e.order is None and e.signal.id not in snapshot
        ]
        for signal in trades + late:
            if self.trading:
                await self._trade(signal, time.monotonic_ns(), self._clock.now(), observe=False)

    async def _adopt(self, action: Adopt, token: int, now: datetime) -> None:
        signal, order = action.signal, action.order
        if self.ledger.order(signal.id) is None:
            intent = self.strategy.current.intent(signal)
            if isinstance(intent, str) or intent.quantity != order.quantity:
                intent = OrderIntent(
                    signal_id=signal.id,
                    contract=order.contract,
                    side=order.side,
                    quantity=order.quantity,
                    order_type=OrderType.MARKET,
                    reference_price=signal.reference_price,
                )
            self.ledger.intend(intent, token, now, time.time_ns())
        for execution in action.executions:
            self._execution(execution, now)
        self._order_event(
            OrderEvent(
                signal.id,
                order.broker_order_id,
                order.status,
                filled=order.filled_quantity,
                perm_id=order.perm_id,
            ),
            now,
        )
        if action.cancel:
            await self.broker.cancel(signal.id, order.broker_order_id)

    async def _probe(self, action: Probe, now: datetime) -> None:
        known = await self.broker.cancel(action.signal.id, action.broker_order_id)
        if known:
            return  # it exists after all: its cancellation comes as an event
        reason = f"lost: the broker does not know order id {action.broker_order_id}"
        self._order_failed(action.signal.id, reason, now)
        await self._alerts.raise_(
            Alert(f"lost:{action.signal.id}", Severity.WARNING, "Order lost by the gateway", reason)
        )

    async def sweep(self) -> None:
        """Periodic: the leader cancels the orders still working for signals that have expired;
        a standby mirrors the leader's outcomes from the board."""
        token = self._gate.token
        now = self._clock.now()
        if token is not None:
            if self.trading:
                await self._cancel_expired(token, now)
            return
        decisions = await self._board.decisions(self.ledger.undecided_ids())
        for signal_id, d in decisions.items():
            if self.ledger.decide(signal_id, d.outcome, d.reason, now, d.decided_by):
                self.metrics.outcomes.labels(d.outcome.value).inc()

    async def _cancel_expired(self, token: int, now: datetime) -> None:
        """The common case costs one cancel per order: an expired signal whose order has a
        broker id (this leader reconciled or placed it since it last connected, so its events
        keep the ledger current) has it cancelled by id, and a broker that does not know the id
        proves it lost, as reconciliation's probe does. Anything else (a signal without an
        order, an order without an id, one cancelled at the last sweep and still open) gets a
        full reconciliation, which asks the broker for the whole day's orders and executions:
        run every second under load, that cost grew with the day and held the signals."""
        cancelled_before, self._cancelled = self._cancelled, set()
        probes: list[Probe] = []
        for entry in self.ledger.undecided(expired_at=now):
            order_id = entry.order.broker_order_id if entry.order else None
            if order_id is None or entry.signal.id in cancelled_before:
                await self.reconcile(token)
                return
            probes.append(Probe(entry.signal, order_id))
        for probe in probes:
            self._cancelled.add(probe.signal.id)
            await self._probe(probe, now)

    # -- operator commands ---------------------------------------------------------------------

    async def halt(self, reason: str) -> None:
        self.halted = reason
        self.metrics.halted.set(1)
        await self._board.set_halted(reason)

    async def resume(self) -> None:
        self.halted = None
        self.metrics.halted.set(0)
        await self._board.set_halted(None)

    def config_changed(self, config: StrategyConfig) -> None:
        self._spawn(self._alerts.resolve("strategy-config", "Strategy config is valid again"))

    def config_rejected(self, error: ConfigError) -> None:
        self.metrics.config_rejected.inc()
        self._spawn(
            self._alerts.raise_(
                Alert(
                    "strategy-config",
                    Severity.WARNING,
                    "Strategy config rejected; the previous one stays",
                    str(error),
                )
            )
        )

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
        for task in list(self._tasks):
            await asyncio.wait({task}, timeout=1.0)
