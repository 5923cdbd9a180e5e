"""Prometheus metrics of one simulator process (its own registry, served by the admin API)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("tws_connections", "Open API connections", registry=r)
        self.messages_in = Counter("tws_messages_received", "API messages received", registry=r)
        self.messages_out = Counter("tws_messages_sent", "API messages sent", registry=r)
        self.orders = Counter("tws_orders", "Order lifecycle events", ["event"], registry=r)
        self.executions = Counter("tws_executions", "Executions (fills)", registry=r)
        self.errors = Counter(
            "tws_errors_sent", "IB error messages sent, by code", ["code"], registry=r
        )
        self.pacing_violations = Counter(
            "tws_pacing_violations", "Messages over the 50/s pacing limit", registry=r
        )
        self.protocol_errors = Counter(
            "tws_protocol_errors", "Connections closed for unframeable input", registry=r
        )
        self.faults = Counter(
            "tws_faults", "Faults injected via the admin API", ["fault"], registry=r
        )
        self.ack_seconds = Histogram(
            "tws_order_ack_seconds",
            "placeOrder received -> acknowledged",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
