"""Locust load runs: users, a signal storm, SLO gates and the runner."""

STORM_FIGURE = "figures/signal-to-order.json"  # beside slo.json: the storm's latency figure
