"""Only a replica that receives the signals leads: one whose SignalR session is not open neither
takes the trading lease nor keeps it (a rolling update's successor that had not subscribed once
won the lease and missed a signal)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.ports import free_port
from tests.integration.edge import rig

pytestmark = pytest.mark.integration


def test_a_replica_leads_only_while_its_signalr_session_is_open(tmp_path: Path) -> None:
    with rig.edge(tmp_path, "lead-signalr-key-0123456789abcdef") as edge:
        # Alone, with the lease free, but its negotiate refused: it never subscribes.
        backend = f"http://127.0.0.1:{free_port()}"
        [unsubscribed] = edge.start_bots("bot-2", SPY_BOT_BACKEND_URL=backend)
        time.sleep(1.0)  # ten of its acquire periods
        assert unsubscribed.status()["leader"] is False
        [subscribed] = edge.start_bots("bot-1")
        assert rig.leader_of([subscribed, unsubscribed]) is subscribed
        signal = rig.make_signal()
        edge.cloud.publish(signal)
        rig.until(lambda: edge.gateway.refs().get(signal.id) == 1, 30, "the leader's order")

        # The SignalR service goes away: the leader gives the lease back, and nobody leads.
        edge.signalr.stop()
        rig.until(lambda: subscribed.status().get("leader") is False, 10, "the lease given back")
        assert "leadership lost: not eligible to lead" in subscribed.proc.log_text()
        assert unsubscribed.status()["leader"] is False
        assert unsubscribed.metric("spy_lease_acquired_total") == 0
