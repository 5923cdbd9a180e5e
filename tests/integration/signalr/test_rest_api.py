"""The data-plane REST API as a backend meets it: each operation's status, what reaches the
clients, and what bad input gets (status and body as the service's ASP.NET Core front answers),
with the fake serving everyone else throughout."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import jwt
import pytest

from fakes.signalr.auth import issue_token
from tests.integration.signalr.conftest import KEY, Fake, eventually, raw_client

_hubs = itertools.count()
V = "?api-version=2022-06-01"


def unique_hub() -> str:
    return f"rest{next(_hubs)}"


def status(fake: Fake, method: str, path: str) -> int:
    return fake.rest(method, path).status_code


def test_health_needs_no_token(fake: Fake) -> None:
    for method, path in [
        ("HEAD", f"/api/health{V}"),
        ("GET", "/api/v1/health"),
        ("HEAD", "/api/v1/health"),
    ]:
        assert fake.rest(method, path, token="not even a token").status_code == 200


def test_existence_checks_and_connection_groups(fake: Fake) -> None:
    hub = unique_hub()
    api = f"/api/hubs/{hub}"
    with raw_client(fake, hub, user="ann"):
        cid = fake.connection_of("ann")
        assert status(fake, "HEAD", f"{api}/connections/{cid}{V}") == 200
        assert status(fake, "HEAD", f"{api}/users/ann{V}") == 200
        missing = fake.rest("HEAD", f"{api}/connections/nope{V}")
        assert (missing.status_code, missing.headers["x-ms-error-code"]) == (
            404,
            "Warning.Connection.NotExisted",
        )
        assert fake.rest("HEAD", f"{api}/users/nobody").headers["x-ms-error-code"] == (
            "Warning.User.NotExisted"
        )
        assert status(fake, "HEAD", f"{api}/groups/g") == 404
        assert status(fake, "PUT", f"{api}/groups/g/connections/{cid}") == 200
        assert status(fake, "HEAD", f"{api}/groups/g") == 200
        assert status(fake, "DELETE", f"{api}/groups/g/connections/{cid}") == 200
        assert status(fake, "DELETE", f"{api}/groups/g/connections/{cid}") == 404
        unknown = fake.rest("PUT", f"{api}/groups/g/connections/nope")
        assert unknown.status_code == 404
        assert unknown.headers["x-ms-error-code"] == "Error.Connection.NotExisted"
        assert unknown.json()["status"] == 404
        assert status(fake, "PUT", f"{api}/groups/g/connections/{cid}") == 200
        assert status(fake, "DELETE", f"{api}/connections/{cid}/groups") == 200
        assert status(fake, "HEAD", f"{api}/groups/g") == 404
        # v1: the same operations answer 202, and the emulator's swapped path works too.
        assert status(fake, "PUT", f"/api/v1/hubs/{hub}/connections/{cid}/groups/h") == 202
        assert status(fake, "GET", f"/api/v1/hubs/{hub}/groups/h") == 200
        assert status(fake, "DELETE", f"/api/v1/hubs/{hub}/groups/h/connections/{cid}") == 202
        assert status(fake, "GET", f"/api/v1/hubs/{hub}/connections/{cid}") == 200


def test_user_groups_hold_for_later_connections_until_removed(fake: Fake) -> None:
    hub = unique_hub()
    api = f"/api/hubs/{hub}"
    assert status(fake, "PUT", f"{api}/users/bo/groups/desk{V}") == 200
    assert status(fake, "HEAD", f"{api}/users/bo/groups/desk") == 200
    assert fake.rest("HEAD", f"{api}/users/bo/groups/other").headers["x-ms-error-code"] == (
        "Info.User.NotInGroup"
    )
    with raw_client(fake, hub, user="bo") as client:  # connects after being added
        fake.send(f"{api}/groups/desk/:send", "news", "desk")
        assert client.next_message()["arguments"] == ["desk"]
        assert status(fake, "DELETE", f"{api}/users/bo/groups/desk") == 204
        fake.send(f"{api}/groups/desk/:send", "news", "gone")
        fake.send(f"{api}/:send", "news", "marker")
        assert client.next_message()["arguments"] == ["marker"]
        assert status(fake, "PUT", f"/api/v1/hubs/{hub}/groups/a/users/bo") == 202
        assert status(fake, "PUT", f"{api}/users/bo/groups/b") == 200
        assert status(fake, "DELETE", f"{api}/users/bo/groups") == 204
        assert status(fake, "HEAD", f"{api}/users/bo/groups/a") == 404
        assert status(fake, "HEAD", f"{api}/users/bo/groups/b") == 404


def test_user_group_membership_ends_with_its_ttl(fake: Fake) -> None:
    hub = unique_hub()
    api = f"/api/hubs/{hub}"
    assert status(fake, "PUT", f"{api}/users/cy/groups/desk?ttl=1") == 200
    assert status(fake, "HEAD", f"{api}/users/cy/groups/desk") == 200
    eventually(lambda: status(fake, "HEAD", f"{api}/users/cy/groups/desk") == 404, "the TTL")


def test_sends_reach_exactly_their_recipients(fake: Fake) -> None:
    hub = unique_hub()
    api = f"/api/hubs/{hub}"
    with raw_client(fake, hub, user="di") as di, raw_client(fake, hub, user="ed") as ed:
        di_id, ed_id = fake.connection_of("di"), fake.connection_of("ed")
        fake.send(f"{api}/:send?excluded={di_id}", "news", "not di")
        fake.send(f"{api}/connections/{di_id}/:send", "news", "only di")
        fake.send(f"/api/v1/hubs/{hub}/connections/{ed_id}", "news", "only ed")
        fake.send(f"/api/v1/hubs/{hub}/users/di", "news", "di by v1")
        assert [di.next_message()["arguments"] for _ in range(2)] == [["only di"], ["di by v1"]]
        assert [ed.next_message()["arguments"] for _ in range(2)] == [["not di"], ["only ed"]]
        # Hubs are case-insensitive, and an application namespaces them.
        fake.send(f"/api/hubs/{hub.upper()}/:send", "news", "upper")
        assert di.next_message()["arguments"] == ["upper"]
    with raw_client(fake, f"app_{hub}", user="fy") as fy:
        fake.send(f"/api/hubs/{hub}/:send?application=App", "news", "namespaced")
        assert fy.next_message()["arguments"] == ["namespaced"]


def test_a_group_name_with_a_slash_is_one_segment(fake: Fake) -> None:
    hub = unique_hub()
    with raw_client(fake, hub, user="gus") as client:
        cid = fake.connection_of("gus")
        assert status(fake, "PUT", f"/api/hubs/{hub}/groups/a%2Fb/connections/{cid}") == 200
        fake.send(f"/api/hubs/{hub}/groups/a%2Fb/:send", "news", "slash")
        assert client.next_message()["arguments"] == ["slash"]


def test_closing_connections_says_why_and_allows_reconnect(fake: Fake) -> None:
    hub = unique_hub()
    api = f"/api/hubs/{hub}"
    with raw_client(fake, hub, user="hu") as hu, raw_client(fake, hub, user="io") as io:
        hu_id = fake.connection_of("hu")
        assert status(fake, "POST", f"{api}/:closeConnections?excluded={hu_id}&reason=bye") == 204
        assert io.next_message() == {"type": 7, "error": "bye", "allowReconnect": True}
        assert io.closed_with() == 1000
        assert (
            status(fake, "DELETE", f"{api}/connections/{hu_id}?reason=later&api-version=2022-06-01")
            == 200
        )
        assert hu.next_message() == {"type": 7, "error": "later", "allowReconnect": True}
    with raw_client(fake, hub, user="jo") as jo:
        assert status(fake, "POST", f"{api}/users/jo/:closeConnections") == 204
        assert jo.next_message() == {"type": 7, "allowReconnect": True}
    assert status(fake, "POST", f"{api}/groups/empty/:closeConnections") == 204
    assert status(fake, "DELETE", f"/api/v1/hubs/{hub}/connections/gone") == 202


def test_sends_to_nobody_are_accepted_and_counted(fake: Fake) -> None:
    hub = unique_hub()
    fake.send(f"/api/hubs/{hub}/groups/empty/:send", "news")
    fake.send(f"/api/hubs/{hub}/users/nobody/:send", "news")
    assert fake.admin("GET", "messages")["hubs"][hub] == {"accepted": 2, "delivered": 0}


# --- bad input -------------------------------------------------------------------------------

JSON = {"Content-Type": "application/json"}


def errors_of(fake: Fake, path: str, **kwargs: Any) -> dict[str, list[str]]:
    response = fake.rest("POST", path, **kwargs)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["title"] == "One or more validation errors occurred."
    errors: dict[str, list[str]] = body["errors"]
    return errors


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "$"),
        (b"[1, 2]", "$"),
        (b"", "message"),
        (b'{"arguments": []}', "Target"),
        (b'{"target": "", "arguments": []}', "Target"),
        (b'{"target": "x", "arguments": {"a": 1}}', "Arguments"),
        (b'{"target": "x", "arguments": [NaN]}', "$"),
        (b'{"target": "x", "arguments": [18446744073709551616]}', "Arguments"),
        (b"\xff\xfe", "$"),
    ],
)
def test_a_bad_body_is_a_validation_error(fake: Fake, content: bytes, field: str) -> None:
    assert field in errors_of(fake, "/api/hubs/chat/:send", content=content, headers=JSON)


def test_property_names_are_case_insensitive(fake: Fake) -> None:
    response = fake.rest("POST", "/api/hubs/chat/:send", {"Target": "x", "Arguments": [1]})
    assert response.status_code == 202


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_unsupported(fake: Fake, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = fake.rest("POST", "/api/hubs/chat/:send", content=b'{"target":"x"}', headers=headers)
    assert response.status_code == 415
    assert response.json()["title"] == "Unsupported Media Type"


def test_limits_on_body_and_headers(fake: Fake) -> None:
    at_limit = b'{"target":"x","arguments":["' + b"a" * (1024 * 1024 - 31) + b'"]}'
    assert len(at_limit) == 1024 * 1024
    assert (
        fake.rest("POST", "/api/hubs/chat/:send", content=at_limit, headers=JSON).status_code == 202
    )
    too_big = fake.rest("POST", "/api/hubs/chat/:send", content=at_limit + b" ", headers=JSON)
    assert (too_big.status_code, too_big.content) == (413, b"")
    big_headers = {"X-Padding": "p" * (16 * 1024)}
    assert (
        fake.rest("POST", "/api/hubs/chat/:send", {"target": "x"}, headers=big_headers).status_code
        == 431
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/hubs/1chat/:send", "hub"),
        ("/api/hubs/chat-room/:send", "hub"),
        (f"/api/hubs/{'h' * 129}/:send", "hub"),
        (f"/api/hubs/chat/groups/{'g' * 1025}/:send", "group"),
        ("/api/hubs/chat/groups/%20%20/:send", "group"),
        (f"/api/hubs/chat/users/{'u' * 1025}/:send", "user"),
        ("/api/hubs/chat/:send?application=9app", "application"),
        ("/api/v1/hubs/bad-hub", "hub"),
    ],
)
def test_invalid_names_are_validation_errors(fake: Fake, path: str, field: str) -> None:
    assert field in errors_of(fake, path, body={"target": "x"})


@pytest.mark.parametrize("ttl", ["-1", "soon", "2147483648"])
def test_an_invalid_ttl_is_a_validation_error(fake: Fake, ttl: str) -> None:
    response = fake.rest("PUT", f"/api/hubs/chat/users/u/groups/g?ttl={ttl}")
    assert response.status_code == 400
    assert "ttl" in response.json()["errors"]


def test_unknown_routes_and_methods(fake: Fake) -> None:
    assert status(fake, "POST", "/api/hubs/chat/:shout") == 404
    assert status(fake, "POST", "/api/hubs/chat/groups//:send") == 404
    wrong = fake.rest("GET", "/api/hubs/chat/:send")
    assert wrong.status_code == 405
    assert "POST" in wrong.headers["allow"]


def _token(claims: dict[str, Any], key: str = KEY) -> str:
    return jwt.encode(claims, key.encode(), algorithm="HS256")


def test_tokens_are_checked_like_the_service_does(fake: Fake) -> None:
    url = f"{fake.endpoint}/api/hubs/chat/:send"
    in_an_hour = int(time.time()) + 3600
    body = {"target": "x"}

    def answer(token: str | None, path: str = "/api/hubs/chat/:send") -> tuple[int, str]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = httpx.post(f"{fake.endpoint}{path}", json=body, headers=headers)
        return response.status_code, response.headers.get("www-authenticate", "")

    assert answer(issue_token(KEY, url)) == (202, "")
    assert (
        answer(issue_token(KEY, f"{url}?api-version=2022-06-01"), f"/api/hubs/chat/:send{V}")[0]
        == 202
    )
    assert answer(None) == (401, "Bearer")
    expired = answer(_token({"aud": url, "exp": int(time.time()) - 60}))
    assert expired[0] == 401
    assert "expired" in expired[1]
    assert answer(_token({"aud": url, "exp": in_an_hour}, key="x" * 44))[0] == 401
    assert (
        answer(_token({"aud": f"{fake.endpoint}/api/hubs/other/:send", "exp": in_an_hour}))[0]
        == 401
    )
    assert answer(_token({"aud": url}))[0] == 401
    assert answer(fake.client_token())[0] == 401
    as_query = httpx.post(f"{url}?access_token={issue_token(KEY, url)}", json=body)
    assert as_query.status_code == 401


def test_the_fake_keeps_serving_through_bad_input(fake: Fake) -> None:
    hub = unique_hub()
    with raw_client(fake, hub) as client:
        fake.rest("POST", f"/api/hubs/{hub}/:send", content=b"{", headers=JSON)
        fake.rest("POST", f"/api/hubs/{hub}/:send", content=b"x" * (2 * 1024 * 1024), headers=JSON)
        fake.rest("POST", f"/api/hubs/{hub}/:send", {"target": "x"}, token="garbage")
        fake.send(f"/api/hubs/{hub}/:send", "news", "still here")
        assert client.next_message()["arguments"] == ["still here"]
