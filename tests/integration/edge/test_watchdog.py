"""The watchdog across a Toxiproxy VPN link to the cloud stand-in and the SignalR fake: a link
outage and its recovery, a component that dies and is restarted, alerts by Telegram and email
without repeats, and the health report."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import components
from harness.ports import free_port
from harness.process import ProcessSpec, RunningProcess, http, log_line, start
from harness.toxiproxy import Toxiproxy
from tests.integration.edge import rig

pytestmark = pytest.mark.integration

TELEGRAM_TOKEN = "654321:watchdog-test-token"
SENDGRID_KEY = "SG.watchdog-test"


def test_link_outage_component_restart_alerts_and_report(tmp_path: Path) -> None:
    procs: list[RunningProcess] = []
    cloud = None
    restarted_pid = None
    try:
        signalr, connection = rig.signalr(
            tmp_path, "wd-signalr-key-0123456789abcdef-0123", "--keepalive", "0.5"
        )
        procs.append(signalr)
        toxi_port = free_port()
        procs.append(start(components.toxiproxy(toxi_port), tmp_path))
        toxiproxy = Toxiproxy(toxi_port)
        signalr_port = int(re.findall(r"127\.0\.0\.1:(\d+)", connection)[0])
        signalr_link = toxiproxy.create_proxy("vpn-signalr", f"127.0.0.1:{signalr_port}")
        cloud = rig.Cloud(
            connection, client_endpoint=f"http://127.0.0.1:{signalr_link.listen_port}"
        )
        backend_link = toxiproxy.create_proxy("vpn-backend", f"127.0.0.1:{cloud.port}")
        telegram, telegram_url = rig.http_fake(tmp_path, "telegram", "--token", TELEGRAM_TOKEN)
        sendgrid, sendgrid_url = rig.http_fake(tmp_path, "sendgrid", "--api-key", SENDGRID_KEY)
        procs += [telegram, sendgrid]

        www_port = free_port()
        www_argv = [rig.PYTHON, "-m", "http.server", str(www_port), "--bind", "127.0.0.1"]
        www = start(
            ProcessSpec("www", www_argv, http(f"http://127.0.0.1:{www_port}/"), cwd=tmp_path),
            tmp_path / "logs",
        )
        procs.append(www)

        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "backend-api-key").write_text(rig.API_KEY)
        (secrets / "telegram-token").write_text(TELEGRAM_TOKEN)
        (secrets / "sendgrid-key").write_text(SENDGRID_KEY)
        port = free_port()
        env = {
            "SPY_WD_BACKEND_URL": f"http://127.0.0.1:{backend_link.listen_port}",
            "SPY_WD_SECRETS_DIR": str(secrets),
            "SPY_WD_HTTP_PORT": str(port),
            "SPY_WD_CHECK_INTERVAL_S": "0.5",
            "SPY_WD_CHECK_TIMEOUT_S": "1",
            "SPY_WD_HEARTBEAT_TIMEOUT_S": "2",
            "SPY_WD_FAILURES_BEFORE_RESTART": "2",
            "SPY_WD_RESTART_COOLDOWN_S": "5",
            "SPY_WD_RESTART_LOG_DIR": str(tmp_path / "restarts"),
            "SPY_WD_COMPONENTS": json.dumps(
                [
                    {
                        "name": "www",
                        "check": "http",
                        "target": f"http://127.0.0.1:{www_port}/",
                        "restart": www_argv,
                    }
                ]
            ),
            "SPY_WD_TELEGRAM_TOKEN_SECRET": "telegram-token",
            "SPY_WD_TELEGRAM_BASE_URL": telegram_url.removesuffix("/bot"),
            "SPY_WD_TELEGRAM_CHAT_IDS": "[2002]",
            "SPY_WD_SENDGRID_API_KEY_SECRET": "sendgrid-key",
            "SPY_WD_SENDGRID_BASE_URL": sendgrid_url,
            "SPY_WD_EMAIL_TO": '["ops@example.com"]',
            "SPY_WD_REPORT_INTERVAL_S": "6",
            "SPY_WD_TELEMETRY": "none",
        }
        argv = [rig.PYTHON, "-m", "system.services.watchdog"]
        proc = start(
            ProcessSpec("watchdog", argv, log_line(r"^watchdog ready "), env=env), tmp_path / "logs"
        )
        procs.append(proc)
        watchdog = rig.Service(proc, f"http://127.0.0.1:{port}")

        def texts() -> list[str]:
            base = telegram_url.removesuffix("/bot")
            messages = httpx.get(f"{base}/__admin/messages", timeout=5).json()["messages"]
            return [m["text"] for m in messages]

        def subjects() -> list[str]:
            messages = httpx.get(f"{sendgrid_url}/__admin/messages", timeout=5).json()["messages"]
            return [m["payload"]["subject"] for m in messages]

        def link_up() -> bool:
            return watchdog.metric("spy_vpn_link_up") == 1

        rig.until(link_up, 30, "the VPN heartbeat up")
        rig.until(lambda: watchdog.metric("spy_vpn_rtt_seconds_count") >= 2, 10, "RTT samples")

        for name in ("vpn-signalr", "vpn-backend"):
            toxiproxy.set_enabled(name, False)
        rig.until(lambda: not link_up(), 15, "the VPN heartbeat down")
        rig.until(lambda: any("VPN heartbeat lost" in t for t in texts()), 10, "the alert")
        time.sleep(2)  # several more failing rounds: still one incident
        for name in ("vpn-signalr", "vpn-backend"):
            toxiproxy.set_enabled(name, True)
        rig.until(link_up, 40, "the VPN heartbeat back")
        rig.until(
            lambda: any("Resolved: VPN heartbeat is back" in t for t in texts()), 10, "recovery"
        )
        assert sum(t.startswith("[critical] VPN heartbeat lost") for t in texts()) == 1
        assert sum(s == "[critical] VPN heartbeat lost" for s in subjects()) == 1

        www.signal(signal.SIGKILL)
        rig.until(lambda: any("www is down" in t for t in texts()), 15, "the component alert")
        found = rig.until(
            lambda: re.findall(r"restarted www \(pid (\d+)\)", proc.log_text()), 15, "a restart"
        )
        restarted_pid = int(found[0])
        rig.until(
            lambda: any("Resolved: www is healthy again" in t for t in texts()), 20, "www back"
        )
        assert watchdog.metric('spy_watchdog_restarts_total{component="www"}') == 1
        status: dict[str, Any] = watchdog.status()
        assert status["components"] == {"www": True}
        assert status["open_incidents"] == []

        rig.until(lambda: any("Edge health report" in s for s in subjects()), 15, "the report")
        assert proc.stop() == 0
    finally:
        if restarted_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(restarted_pid, signal.SIGTERM)
        for p in reversed(procs):
            p.stop()
        if cloud is not None:
            cloud.close()
