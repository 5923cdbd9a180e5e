"""The watchdog's Prometheus instruments, on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WatchdogMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # The name the edge alert rules use (charts/edge-monitoring/.../spy-hybrid.rules.yml).
        self.link_up = Gauge(
            "spy_vpn_link_up", "Watchdog heartbeat across the VPN (1 up, 0 down)", registry=r
        )
        self.rtt = Histogram(
            "spy_vpn_rtt_seconds",
            "Edge-to-cloud heartbeat round trip (GET backend /health)",
            buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.component_up = Gauge(
            "spy_watchdog_component_up",
            "1 while a component passes its check",
            ["component"],
            registry=r,
        )
        self.restarts = Counter(
            "spy_watchdog_restarts", "Restarts of a component", ["component"], registry=r
        )
        self.alerts = Counter(
            "spy_watchdog_alerts", "Incidents raised (not repeats)", ["severity"], registry=r
        )
        self.reports = Counter("spy_watchdog_reports", "Health reports sent", registry=r)
