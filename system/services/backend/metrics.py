"""The backend's Prometheus instruments, on a registry of its own (one per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class BackendMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.snapshots = Counter("spy_detector_snapshots", "Chain snapshots scored", registry=r)
        self.skipped = Counter(
            "spy_market_messages_skipped",
            "Market-data messages the detector could not use",
            ["reason"],
            registry=r,
        )
        self.score_seconds = Histogram(
            "spy_detector_score_seconds", "Time to score one snapshot", buckets=_FAST, registry=r
        )
        self.signals = Counter("spy_signals", "Signals raised", ["side"], registry=r)
        self.deliveries = Counter(
            "spy_signal_deliveries",
            "Deliveries by target (signalr, tables; quote, latency for the dashboard) and outcome",
            ["target", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "spy_signal_delivery_retries", "Delivery attempts that failed", ["target"], registry=r
        )
        self.pending = Gauge(
            "spy_signal_deliveries_pending", "Deliveries not finished yet", registry=r
        )
        self.publish_seconds = Histogram(
            "spy_signal_publish_seconds",
            "From signal creation to SignalR accepting the broadcast",
            buckets=_FAST,
            registry=r,
        )
        self.auth_failures = Counter(
            "spy_api_auth_failures", "Requests to /api refused for want of a key", registry=r
        )
