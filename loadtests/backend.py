"""Dashboard and API users of the backend (locust -f loadtests/backend.py --host BACKEND_URL).

Three in four users are traders with the dashboard open: the page and its modules load once,
the SignalR client negotiates through the backend (the hub itself is the SignalR service's
load, not the backend's), and now and then the page is reloaded or the connection renewed.
The rest are scripts on the API: paging through recent signals with the cursor, reading a
day's anomalies, polling health. Gates: p99 latency and error rate over the backend's routes.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, task
from locust.env import Environment

from loadtests.slo import Gate, at_most, combined, gate, options, p99
from system.dashboard import SITE

ASSETS = sorted(
    f"/dashboard/{path.name}" for path in SITE.iterdir() if path.suffix in {".js", ".css", ".svg"}
)
BACKEND = "backend"  # the request type prefix is the HTTP method; names are the backend's routes
_ids = itertools.count()


class BackendUser(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {options(self.environment).api_key}"


class DashboardUser(BackendUser):
    weight = 3
    wait_time = between(5, 15)  # a page open on a desk: the hub does the talking

    def on_start(self) -> None:
        super().on_start()
        self.user_id = f"dashboard-{next(_ids)}"
        self.open_page()

    @task
    def open_page(self) -> None:
        self.client.get("/dashboard/", name="/dashboard/")
        for asset in ASSETS:
            self.client.get(asset, name="/dashboard/[asset]")
        self.client.get("/dashboard/vendor/signalr.min.js", name="/dashboard/vendor/signalr")
        self.negotiate()

    @task(4)
    def negotiate(self) -> None:
        """What the SignalR client does on every (re)connect."""
        self.client.post(f"/api/negotiate?userId={self.user_id}", name="/api/negotiate")


class ApiUser(BackendUser):
    weight = 1
    wait_time = between(1, 3)

    @task(4)
    def recent_signals(self) -> None:
        since = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
        params: dict[str, str | int] = {"since": since, "limit": 100}
        for _ in range(3):  # up to three pages, as a script catching up would
            page = self.client.get("/api/signals", params=params, name="/api/signals").json()
            if not page.get("next_cursor"):
                break
            params = {"cursor": page["next_cursor"], "limit": 100}

    @task(2)
    def anomalies(self) -> None:
        self.client.get("/api/anomalies", params={"limit": 50}, name="/api/anomalies")

    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="/health")
        self.client.get("/ready", name="/ready")


@gate
def backend_gates(environment: Environment) -> list[Gate]:
    limits = options(environment)
    routes = [e for e in environment.stats.entries.values() if e.name.startswith("/")]
    backend = combined(environment, BACKEND, routes)
    rps = backend.total_rps if backend.num_requests else None
    return [
        at_most("backend p99 latency", p99(backend), limits.slo_p99_ms, " ms"),
        at_most("backend error rate", backend.fail_ratio, limits.slo_error_rate),
        Gate("backend requests/s", rps, None, True, f"{rps or 0:.1f} requests/s"),
    ]
