"""Only a replica that receives the signals leads: one whose SignalR session is not open neither
takes the trading lease nor keeps it (a rolling update's successor that had not subscribed once
won the lease and missed a signal)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.process import RunningProcess
from tests.integration.edge import rig

pytestmark = pytest.mark.integration


def test_a_replica_leads_only_while_its_signalr_session_is_open(tmp_path: Path) -> None:
    procs: list[RunningProcess] = []
    cloud = None
    try:
        redis, redis_port = rig.redis_server(tmp_path)
        procs.append(redis)
        gateway = rig.gateway(tmp_path)
        procs.append(gateway.proc)
        signalr, connection = rig.signalr(tmp_path, "lead-signalr-key-0123456789abcdef")
        procs.append(signalr)
        cloud = rig.Cloud(connection)
        strategy = rig.write_strategy(tmp_path / "strategy" / "strategy.yaml")

        def bot(name: str, **env: str) -> rig.Service:
            spec = rig.bot_spec(
                name,
                tmp_path,
                redis_port=redis_port,
                ib_port=gateway.api_port,
                cloud=cloud,
                strategy=strategy,
                env=env,
            )
            [started] = rig.start_bots([spec], tmp_path)
            procs.append(started.proc)
            return started

        # Alone, with the lease free, but its negotiate refused: it never subscribes.
        unsubscribed = bot("bot-2", SPY_BOT_BACKEND_URL=f"http://127.0.0.1:{free_port()}")
        time.sleep(1.0)  # ten of its acquire periods
        assert unsubscribed.status()["leader"] is False
        subscribed = bot("bot-1")
        assert rig.leader_of([subscribed, unsubscribed]) is subscribed
        signal = rig.make_signal()
        cloud.publish(signal)
        rig.until(lambda: gateway.refs().get(signal.id) == 1, 30, "the leader's order")

        # The SignalR service goes away: the leader gives the lease back, and nobody leads.
        signalr.stop()
        rig.until(lambda: subscribed.status().get("leader") is False, 10, "the lease given back")
        assert "leadership lost: not eligible to lead" in subscribed.proc.log_text()
        assert unsubscribed.status()["leader"] is False
        assert unsubscribed.metric("spy_lease_acquired_total") == 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        if cloud is not None:
            cloud.close()
