"""The backend as a process against real Azurite and the SignalR and Key Vault fakes."""

from __future__ import annotations

import pytest

from tests.integration.cloud.conftest import API_KEY, Backend

pytestmark = pytest.mark.integration


def test_health_and_readiness(backend: Backend) -> None:
    with backend.client(None) as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"tables": "ok", "signalr": "ok", "market": "ok"}


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
