"""The HTTP API against its own OpenAPI schema (schemathesis) and bad input a person would try."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.integration.cloud.conftest import API_KEY, Backend, Cloud, start_backend

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running_backend(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    started = start_backend(cloud, tmp_path_factory.mktemp("contract"), "backend")
    yield started
    started.proc.stop()


@pytest.fixture(scope="module")
def api_schema(running_backend: Backend) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{running_backend.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema_and_never_fails_with_5xx(case: schemathesis.Case) -> None:
    # Cursors are opaque and `until` must not precede `since`: rules a schema cannot state, so
    # schema-valid values the API rightly refuses (422) are not failures here.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {API_KEY}"},
        excluded_checks=[positive_data_acceptance],
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("since=yesterday", "since"),
        ("since=2026-11-24T10:00:00", "since"),  # no offset: ambiguous, refused
        ("cursor=%%%", "cursor"),
        ("since=2026-11-24T10:00:00Z&until=2026-11-23T10:00:00Z", "until must not be before"),
        ("colour=blue", "colour"),
    ],
)
def test_malformed_queries_get_422_naming_the_field(
    running_backend: Backend, query: str, field: str
) -> None:
    with running_backend.client() as http:
        response = http.get(f"/api/signals?{query}")
    assert response.status_code == 422
    assert field in str(response.json()["detail"][0]["loc"]) + response.json()["detail"][0]["msg"]


def test_oversized_pages_are_capped(running_backend: Backend) -> None:
    with running_backend.client() as http:
        page = http.get("/api/signals?limit=1000000000000").json()
        assert page["limit"] == 500
        assert http.get("/api/anomalies?limit=99999").json()["limit"] == 500
        assert http.get("/api/anomalies?day=2026-13-01").status_code == 422


def test_negotiate_hands_out_the_hub_url_and_a_token(
    running_backend: Backend, cloud: Cloud
) -> None:
    with running_backend.client() as http:
        body = http.post("/api/negotiate?userId=edge-1&negotiateVersion=1").json()
        assert http.post("/api/negotiate?userId=no%20spaces").status_code == 422
    assert body["url"] == f"{cloud.signalr_url}/client/?hub={running_backend.hub}"
    assert body["accessToken"].count(".") == 2


def test_unusable_market_data_is_counted_and_skipped(running_backend: Backend) -> None:
    feed = running_backend.feed
    feed.append_raw("not json")
    feed.append_raw('{"taken_at": "2026-11-24T15:00:00+00:00"}')
    feed.append_quiet(1)
    stale = feed.next()
    feed.append(stale, stale)  # the second is not newer than the first
    with running_backend.client() as http:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            metrics = http.get("/metrics").text
            if 'spy_market_messages_skipped_total{reason="stale"} 1.0' in metrics:
                break
            time.sleep(0.1)
        assert 'spy_market_messages_skipped_total{reason="malformed"} 2.0' in metrics
        assert 'spy_market_messages_skipped_total{reason="stale"} 1.0' in metrics
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 200
