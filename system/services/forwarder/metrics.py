"""The telemetry forwarder's Prometheus instruments, on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ForwarderMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Names the edge alert rules use (charts/edge-monitoring/.../spy-hybrid.rules.yml).
        self.pending = Gauge(
            "spy_outbox_pending", "Outbox records not yet forwarded to the cloud", registry=r
        )
        self.oldest_age = Gauge(
            "spy_outbox_oldest_age_seconds", "Age of the oldest unforwarded record", registry=r
        )
        self.delivered = Counter(
            "spy_forwarder_delivered", "Records written to Table Storage", ["table"], registry=r
        )
        self.failures = Counter(
            "spy_forwarder_failures",
            "Delivery attempts that failed (link: retried with backoff; rejected: a record "
            "Table Storage refuses, retried alone)",
            ["kind"],
            registry=r,
        )
        self.link_up = Gauge(
            "spy_forwarder_link_up", "1 while the last delivery attempt succeeded", registry=r
        )
        self.batch_seconds = Histogram(
            "spy_forwarder_batch_seconds",
            "Time to write one batch to Table Storage",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
