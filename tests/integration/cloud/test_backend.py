"""The backend as a process against real Azurite and the SignalR and Key Vault fakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.ports import free_port
from tests.integration.cloud.conftest import (
    API_KEY,
    Backend,
    ChainFeed,
    Cloud,
    service_env,
    start_backend,
)

pytestmark = pytest.mark.integration


def test_health_and_readiness(backend: Backend) -> None:
    with backend.client(None) as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"tables": "ok", "signalr": "ok", "market": "ok"}


def test_the_dashboard_is_served_when_asked_for(cloud: Cloud, tmp_path: Path) -> None:
    started = start_backend(cloud, tmp_path, "dashboard", SPY_BACKEND_DASHBOARD="true")
    try:
        with started.client(None) as http:
            page = http.get("/dashboard/")
            assert page.status_code == 200
            assert "<html" in page.text.lower()
            assert http.get("/dashboard/vendor/signalr.min.js").status_code == 200
    finally:
        started.proc.stop()


@pytest.mark.parametrize("path", ["/api/signals", "/api/anomalies"])
def test_api_routes_need_a_key(backend: Backend, path: str) -> None:
    with backend.client(None) as http:
        assert http.get(path).status_code == 401
        assert http.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
        assert http.get(path, headers={"X-API-Key": API_KEY}).status_code == 200
        assert http.get(path, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
    with backend.client(None) as http:
        assert http.post("/api/negotiate").status_code == 401
    assert API_KEY not in backend.proc.log_text()


def test_sigterm_stops_it_cleanly_and_flushes_its_spans(backend: Backend) -> None:
    backend.feed.append_quiet(3)
    with backend.client() as http:
        deadline = time.monotonic() + 20
        while "spy_detector_snapshots_total 3.0" not in http.get("/metrics").text:
            assert time.monotonic() < deadline, "the snapshots were not scored"
            time.sleep(0.1)
    assert backend.proc.stop() == 0
    assert "Traceback" not in backend.proc.log_text()
    spans = backend.feed.path.parent / "telemetry" / "backend.spans.jsonl"
    names = [json.loads(line)["name"] for line in spans.read_text().splitlines()]
    assert names.count("detector.score") == 3


def run_service(env: dict[str, str], service: str = "backend") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SPY_BACKEND_", "SPY_DET"))}
    return subprocess.run(
        [sys.executable, "-m", f"system.services.{service}"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "backend: missing setting SPY_BACKEND_KEYVAULT_URL"),
        (
            {
                "SPY_BACKEND_KEYVAULT_URL": "https://127.0.0.1:1",
                "SPY_BACKEND_MARKET_SOURCE": "replay",
                "SPY_BACKEND_PORT": "eighty",
            },
            "backend: invalid setting SPY_BACKEND_PORT: Input should be a valid integer",
        ),
        (
            {"SPY_BACKEND_KEYVAULT_URL": "https://127.0.0.1:1", "SPY_BACKEND_MARKET_SOURCE": "ib"}
            | {"SPY_BACKEND_DETECTOR__BASELINE_WINDOW": "10"},
            "backend: invalid setting SPY_BACKEND_DETECTOR__BASELINE_WINDOW: must be odd",
        ),
        (
            {
                "SPY_BACKEND_KEYVAULT_URL": "https://127.0.0.1:1",
                "SPY_BACKEND_MARKET_SOURCE": "replay",
            },
            "backend: invalid settings: SPY_BACKEND_REPLAY_FILE is required when "
            "SPY_BACKEND_MARKET_SOURCE=replay",
        ),
        (
            {"SPY_BACKEND_KEYVAULT_URL": "https://127.0.0.1:1"},
            "backend: invalid settings: SPY_BACKEND_MARKET_SOURCE is required where the "
            "detector runs",
        ),
        (
            {"SPY_BACKEND_KEYVAULT_URL": "https://127.0.0.1:1", "SPY_BACKEND_RUN_DETECTOR": "no?"},
            "backend: invalid setting SPY_BACKEND_RUN_DETECTOR: Input should be a valid boolean",
        ),
    ],
)
def test_a_bad_setting_stops_it_with_one_line_naming_it(env: dict[str, str], line: str) -> None:
    done = run_service(env)
    assert done.returncode == 2
    (only,) = done.stderr.strip().splitlines()
    assert only.startswith(line)


def test_an_unreachable_key_vault_stops_it_after_the_startup_timeout(
    cloud: Cloud, tmp_path: Path
) -> None:
    feed = ChainFeed(tmp_path / "chain.jsonl")
    env = service_env(cloud, feed, "anomalies", "hub") | {
        "SPY_BACKEND_KEYVAULT_URL": f"https://127.0.0.1:{free_port()}",
        "SPY_BACKEND_STARTUP_TIMEOUT_S": "1",
    }
    done = run_service(env)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("backend: reading the SignalR connection string from Key Vault failed")
