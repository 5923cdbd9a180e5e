"""The trading bot's Prometheus instruments, on a registry of its own (one per bot instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Fine where VPN one-way latencies lie (10-40 ms), so that the quantiles sampled for the
# dashboard (interpolated within a bucket) are close to the truth.
_END_TO_END = (0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 5.0)
# Signal received -> placeOrder written: tens of microseconds to a millisecond.
_PATH = (25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3)


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "spy_bot_messages",
            "SignalR messages by result (signal, malformed, unknown_target, duplicate)",
            ["result"],
            registry=r,
        )
        # Bound once: labels() finds its child under a lock at every call (on the order path).
        self.signals_taken = self.messages.labels("signal")
        self.duplicates = self.messages.labels("duplicate")
        self.outcomes = Counter(
            "spy_bot_signal_outcomes", "Signals closed, by outcome", ["outcome"], registry=r
        )
        self.orders = Counter("spy_bot_orders_placed", "Orders written to the broker", registry=r)
        self.order_errors = Counter(
            "spy_bot_order_errors", "Orders the broker refused or lost", registry=r
        )
        self.place_seconds = Histogram(
            "spy_bot_signal_to_place_seconds",
            "Signal received to placeOrder written to the gateway socket, inside the bot",
            buckets=_PATH,
            registry=r,
        )
        # Names the edge alert rules use (charts/edge-monitoring/.../spy-hybrid.rules.yml).
        self.signal_to_order_seconds = Histogram(
            "spy_signal_to_order_seconds",
            "Signal.created_at (detector clock) to placeOrder written to the gateway socket",
            buckets=_END_TO_END,
            registry=r,
        )
        self.leader = Gauge(
            "spy_lease_holder", "1 on the replica holding the trading lease, else 0", registry=r
        )
        self.lease_acquired = Counter(
            "spy_lease_acquired", "Lease acquisitions by this replica", registry=r
        )
        self.trading = Gauge(
            "spy_bot_trading",
            "1 while this replica may place orders (leader, reconciled)",
            registry=r,
        )
        self.halted = Gauge("spy_bot_halted", "1 while the kill switch is on", registry=r)
        self.signalr_connected = Gauge(
            "spy_bot_signalr_connected", "1 while the SignalR connection is open", registry=r
        )
        self.signalr_reconnects = Counter(
            "spy_bot_signalr_reconnects", "SignalR sessions opened after a lost one", registry=r
        )
        self.reconciliations = Counter(
            "spy_bot_reconciliations", "Reconciliations against the broker", registry=r
        )
        self.duplicate_orders = Counter(
            "spy_bot_duplicate_orders",
            "Signals for which the broker holds more than one order (must stay 0)",
            registry=r,
        )
        self.config_rejected = Counter(
            "spy_bot_config_rejected", "Strategy config changes refused as invalid", registry=r
        )
        self.credential_rotations = Counter(
            "spy_bot_credential_rotations", "Reconnects for a new gateway credential", registry=r
        )
        self.commands = Counter(
            "spy_bot_commands", "Telegram commands by result", ["command", "result"], registry=r
        )
