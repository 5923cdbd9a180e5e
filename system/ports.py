"""Ports: every outside dependency of the production code, as a typing.Protocol.

Domain logic depends on these only; adapters in system/adapters implement them with the real
client library of the real service. Production and the local harness use the same adapters;
only endpoints and credentials differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from system.domain.metric_samples import OrderLatency
from system.domain.orders import Execution, Order, OrderIntent, OrderStatus
from system.domain.signals import Signal

if TYPE_CHECKING:  # numpy, which the chain snapshots hold, is the cloud's: edge services skip it
    from system.domain.market import ChainSnapshot, SkippedMessage


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware wall-clock time."""
        ...

    def monotonic_ns(self) -> int: ...


class MarketData(Protocol):
    def snapshots(self) -> AsyncIterator[ChainSnapshot | SkippedMessage]:
        """Chain snapshots as they come, and a SkippedMessage for each message that could not
        become one; ends when the source ends (a replay) or is closed."""
        ...


class SignalBus(Protocol):
    """Cloud side: hands a signal to every subscribed edge replica (and the dashboard)."""

    async def publish(self, signal: Signal) -> None: ...

    async def publish_quote(self, symbol: str, price: float, at: datetime) -> None:
        """The underlying's price, for the dashboard. Best effort: the next one replaces it."""
        ...

    async def publish_latency(self, figure: OrderLatency) -> None:
        """The edge's signal-to-order latency, for the dashboard. Best effort, like a quote."""
        ...


@dataclass(frozen=True, slots=True)
class ClientAccess:
    """Where a subscriber connects to receive signals, and the token it connects with."""

    url: str
    access_token: str


class SignalNegotiator(Protocol):
    """Cloud side: lets the dashboard and the edge bots connect to the signal hub."""

    def negotiate(self, user_id: str | None = None) -> ClientAccess: ...


@dataclass(frozen=True, slots=True)
class ReceivedSignal:
    signal: Signal
    received_ns: int  # monotonic clock when its message came off the link, before decoding


# Takes one signal; the next is handed over once it returns.
SignalConsumer = Callable[[ReceivedSignal], Awaitable[None]]


class SignalSubscription(Protocol):
    """Edge side: signals handed to its consumer, in order, as they arrive over the VPN link;
    it reconnects on its own. Messages that are not valid signals are logged, counted and
    dropped by the subscription. `run` holds the link until cancelled, or until the consumer
    raises."""

    async def run(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A status change of one order as the broker reports it (orderRef = signal id)."""

    order_ref: str
    broker_order_id: int
    status: OrderStatus
    filled: int = 0
    perm_id: int | None = None
    reason: str = ""  # the broker's error text when it rejects or cancels


@dataclass(frozen=True, slots=True)
class BrokerLink:
    """The session to the broker went down or came back. After `up`, what the broker holds
    must be reconciled before trading resumes (orders may have changed or been lost)."""

    up: bool
    reason: str


class Broker(Protocol):
    """The order path to IB Gateway. orderRef is the signal id, which makes orders findable
    again after any reconnect."""

    async def connect(self) -> None:
        """Open the session (reading the current credential); raises ConnectionError."""
        ...

    async def disconnect(self) -> None: ...

    async def place(self, intent: OrderIntent) -> int:
        """Write the order to the broker; returns its broker order id once it is written."""
        ...

    def rehearse(self, intent: OrderIntent) -> None:
        """Do what `place` does before the write (build and encode the order), send nothing."""
        ...

    async def cancel(self, order_ref: str, broker_order_id: int) -> bool:
        """Ask the broker to cancel; False if it does not know the order at all (proof that
        the order never reached it), True if it does (the outcome comes as an OrderEvent)."""
        ...

    async def open_orders(self) -> list[Order]: ...

    async def completed_orders(self) -> list[Order]:
        """Today's filled, cancelled and rejected orders."""
        ...

    async def executions(self) -> list[Execution]: ...

    async def positions(self) -> dict[str, int]:
        """Signed contract counts by OCC local symbol."""
        ...

    def events(self) -> AsyncIterator[OrderEvent | Execution | BrokerLink]:
        """Order status changes, fills and session changes as they happen, until closed."""
        ...


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One row of a history table: (partition, row) is its identity, so writes are idempotent."""

    table: str
    partition_key: str
    row_key: str
    fields: Mapping[str, Any] = field(default_factory=dict)


class EventStore(Protocol):
    async def upsert(self, record: StoredRecord) -> None: ...

    async def upsert_many(self, records: list[StoredRecord]) -> None:
        """Upsert many at once (a backlog): as idempotent as one by one, in fewer requests."""
        ...

    def query(
        self,
        table: str,
        partition_key: str | None = None,
        after_row_key: str | None = None,
        limit: int | None = None,
        since: tuple[str, datetime] | None = None,
    ) -> AsyncIterator[StoredRecord]:
        """Records in (partition, row) key order, those after `after_row_key` only if given,
        at most `limit` of them: pages that survive concurrent inserts. `since` (field, moment)
        keeps only the records whose datetime field is at or after the moment."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str
    record: StoredRecord
    attempts: int = 0


class Outbox(Protocol):
    """Durable edge-to-cloud queue, as the forwarder drains it: nothing lost across crashes,
    nothing doubled downstream. Records are queued by the ledger, in the transaction of the
    change they describe, not through this port."""

    async def next_batch(self, limit: int) -> list[OutboxItem]: ...

    async def mark_delivered(self, ids: list[str]) -> None: ...

    async def mark_failed(self, ids: list[str]) -> None:
        """A delivery attempt failed; the items stay queued with their attempts counted."""
        ...

    async def backlog(self) -> int: ...

    async def oldest_pending(self) -> datetime | None:
        """When the oldest record still to deliver was queued."""
        ...

    async def metric_samples(self, partition_key: str) -> list[StoredRecord]:
        """Every metrics sample of one partition (a day) still queued, delivered or not."""
        ...


@dataclass(frozen=True, slots=True)
class Secret:
    name: str
    value: str
    version: str


class Dependency(Protocol):
    """Something a service needs reachable to be ready (readiness, not liveness)."""

    async def ping(self) -> None:
        """Returns when the dependency answers; raises when it does not."""
        ...


class SecretStore(Protocol):
    async def get(self, name: str) -> Secret: ...

    async def aclose(self) -> None:
        """Close what the store holds open (a vault client's sessions)."""
        ...


@dataclass(frozen=True, slots=True)
class LeaseHeld:
    """An acquire refused: another replica holds the lease, for at most this much longer."""

    remaining_s: float


class Lease(Protocol):
    """Leadership among edge replicas, with a fencing token that grows with every acquisition."""

    async def acquire(self) -> int | LeaseHeld:
        """The fencing token if this replica now leads, else how long the holder's lease runs."""
        ...

    async def held(self) -> bool:
        """Whether some replica (this one's predecessor included) holds the lease now."""
        ...

    async def renew(self, token: int) -> bool: ...

    async def release(self, token: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """How a leader closed a signal: its terminal outcome, why, and which replica decided."""

    outcome: OrderStatus
    reason: str
    decided_by: str


class LeaderBoard(Protocol):
    """What the trading leader shares with the replicas that may succeed it: the outcomes it
    decided and whether trading is halted. Writes are fenced by the lease token."""

    async def publish(self, signal_id: str, decision: Decision, token: int) -> bool: ...

    async def decisions(self, signal_ids: list[str]) -> dict[str, Decision]: ...

    async def halted(self) -> str | None:
        """Why trading is halted, or None if it is not."""
        ...

    async def set_halted(self, reason: str | None) -> None: ...


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Alert:
    key: str  # alerts with the same key are one incident: de-duplicated, then resolved
    severity: Severity
    title: str
    body: str


class Notifier(Protocol):
    async def notify(self, alert: Alert) -> None: ...


class Telemetry(Protocol):
    def span(
        self,
        name: str,
        parent: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> AbstractContextManager[dict[str, str]]:
        """A trace span, a child of `parent` (a W3C context) if given, else of the current span;
        yields its own W3C context (traceparent) to carry across the VPN."""
        ...

    def record_span(
        self,
        name: str,
        start_ns: int,
        end_ns: int,
        parent: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        """A span that already happened, from `start_ns` to `end_ns` (time.time_ns): how a hot
        path is traced without paying for the span while it runs."""
        ...

    def metric(
        self, name: str, value: float, attributes: Mapping[str, str] | None = None
    ) -> None: ...
