"""Fault injection and inspection through /admin, as scenarios and drills will use them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.integration.signalr.conftest import Fake, open_socket, raw_client


@pytest.fixture(autouse=True)
def _clear_faults(fake: Fake) -> Iterator[None]:
    yield
    fake.admin("DELETE", "faults")


def test_the_next_requests_are_rejected_then_service_resumes(fake: Fake) -> None:
    state = fake.admin("POST", "faults/reject", {"count": 3, "status": 503})
    assert state["reject"] == {"count": 3, "status": 503}
    rejected = fake.rest("POST", "/api/hubs/chat/:send", {"target": "x"})
    assert rejected.status_code == 503
    assert rejected.json()["status"] == 503
    negotiate = httpx.post(
        f"{fake.endpoint}/client/negotiate?hub=chat",
        headers={"Authorization": f"Bearer {fake.client_token()}"},
    )
    assert negotiate.status_code == 503
    headers = {"Authorization": f"Bearer {fake.client_token()}"}
    with pytest.raises(InvalidStatus) as upgrade:
        open_socket(f"{fake.endpoint}/client/?hub=chat", headers)
    assert upgrade.value.response.status_code == 503
    # /admin is never rejected, and the fourth request goes through.
    assert fake.admin("GET", "faults")["reject"]["count"] == 0
    assert fake.rest("POST", "/api/hubs/chat/:send", {"target": "x"}).status_code == 202


def test_latency_delays_requests_until_cleared(fake: Fake) -> None:
    fake.admin("POST", "faults/latency", {"ms": 300})
    started = time.monotonic()
    assert fake.rest("POST", "/api/hubs/chat/:send", {"target": "x"}).status_code == 202
    # A lower bound only: nothing injected with 300 ms can answer sooner.
    assert time.monotonic() - started >= 0.3
    assert fake.admin("DELETE", "faults")["latencyMs"] == 0


def test_drop_can_be_limited_to_one_hub(fake: Fake) -> None:
    with raw_client(fake, "dropme") as dropped, raw_client(fake, "keepme") as kept:
        assert fake.admin("POST", "faults/drop", {"mode": "abort", "hub": "DropMe"}) == {
            "dropped": 1
        }
        assert dropped.closed_with() == 1011
        fake.send("/api/hubs/keepme/:send", "news", "kept")
        assert kept.next_message()["arguments"] == ["kept"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("faults/reject", {"count": 0}),
        ("faults/reject", {"count": 1, "status": 200}),
        ("faults/reject", {"count": 1, "status": 599}),
        ("faults/latency", {"ms": -1}),
        ("faults/drop", {"mode": "explode"}),
        ("faults/drop", {"mode": "abort", "extra": 1}),
    ],
)
def test_bad_fault_requests_are_refused(fake: Fake, path: str, body: object) -> None:
    response = httpx.post(f"{fake.endpoint}/admin/{path}", json=body)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_inspection_shows_connections_and_counts(fake: Fake) -> None:
    with raw_client(fake, "counted", user="kim"):
        [connection] = fake.connections("kim")
        assert connection | {"connectionId": "-"} == {
            "hub": "counted",
            "connectionId": "-",
            "userId": "kim",
            "protocol": "json",
            "groups": [],
            "delivered": 0,
        }
        fake.rest("PUT", "/api/hubs/counted/users/kim/groups/desk")
        fake.send("/api/hubs/counted/groups/desk/:send", "news", 1)
        fake.send("/api/hubs/counted/:send", "news", 2)
        assert fake.admin("GET", "messages")["hubs"]["counted"]["accepted"] == 2
        found = fake.admin("GET", "connections?hub=COUNTED&user=kim")["connections"]
        assert found[0]["groups"] == ["desk"]
