"""Token checks as the service makes them: HS256 over the AccessKey's bytes, exp with a small
leeway, and an audience naming the request (REST) or the hub's client URL (clients)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from fakes.signalr import auth

KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
ENDPOINT = "http://127.0.0.1:8888"
SEND = f"{ENDPOINT}/api/hubs/chat/:send"


def token(claims: dict[str, Any], key: str = KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key.encode(), algorithm=algorithm)


def valid(**overrides: Any) -> dict[str, Any]:
    return {"aud": SEND, "exp": int(time.time()) + 60, **overrides}


def test_a_token_the_sdks_would_build_is_accepted() -> None:
    claims = auth.verify(auth.issue_token(KEY, SEND, user_id="alice"), KEY)
    auth.check_rest_audience(claims, ENDPOINT, "/api/hubs/chat/:send", "")
    assert auth.user_id(claims) == "alice"


def test_the_verifier_takes_the_token_from_where_each_client_puts_it() -> None:
    verifier = auth.Verifier(ENDPOINT, KEY)
    rest = auth.issue_token(KEY, SEND)
    client = auth.issue_token(KEY, f"{ENDPOINT}/client/?hub=chat", user_id="bob")
    verifier.rest_call({"authorization": f"Bearer {rest}"}, "/api/hubs/chat/:send", "")
    assert verifier.client({}, client, "chat")["asrs.s.uid"] == "bob"
    with pytest.raises(auth.Unauthorized):
        verifier.rest_call({}, "/api/hubs/chat/:send", "")  # REST never reads access_token
    with pytest.raises(auth.Unauthorized, match="audience"):
        verifier.client({"authorization": f"Bearer {rest}"}, None, "chat")


def test_a_remembered_token_still_expires() -> None:
    now = [time.time()]
    verifier = auth.Verifier(ENDPOINT, KEY, clock=lambda: now[0])
    headers = {"authorization": f"Bearer {auth.issue_token(KEY, SEND, lifetime_s=60)}"}
    verifier.rest_call(headers, "/api/hubs/chat/:send", "")
    now[0] += 60 + auth.LEEWAY_S - 1
    verifier.rest_call(headers, "/api/hubs/chat/:send", "")
    now[0] += 2
    with pytest.raises(auth.Unauthorized, match="expired"):
        verifier.rest_call(headers, "/api/hubs/chat/:send", "")


@pytest.mark.parametrize(
    ("bad_token", "why"),
    [
        (token(valid(), key="another key, but just as long as the real one"), "signature"),
        (token(valid(exp=int(time.time()) - 60)), "expired"),
        (token(valid(nbf=int(time.time()) + 3600)), "invalid"),  # built at collection time
        (token({"aud": SEND}), "invalid"),
        (token({"exp": int(time.time()) + 60}), "invalid"),
        (token(valid(), key=KEY * 2, algorithm="HS512"), "invalid"),
        (jwt.encode(valid(), "", algorithm="none"), "invalid"),
        ("not.a.token", "invalid"),
    ],
)
def test_bad_tokens_are_refused(bad_token: str, why: str) -> None:
    with pytest.raises(auth.Unauthorized, match=why):
        auth.verify(bad_token, KEY)


def test_expiry_has_a_small_leeway() -> None:
    auth.verify(token(valid(exp=int(time.time()) - 2)), KEY)


def test_the_key_is_the_access_key_text_not_its_base64_decoding() -> None:
    base64_key = "dGhpcyBpcyBhIGJhc2U2NCBlbmNvZGVkIGFjY2VzcyBrZXkh"
    auth.verify(token(valid(), key=base64_key), base64_key)


@pytest.mark.parametrize(
    ("audience", "path", "query"),
    [
        (SEND, "/api/hubs/chat/:send", "api-version=2022-06-01"),
        (f"{SEND}?api-version=2022-06-01", "/api/hubs/chat/:send", "api-version=2022-06-01"),
        (f"{SEND}/", "/api/hubs/chat/:send", ""),
        ("HTTP://127.0.0.1:8888/API/hubs/Chat/:send", "/api/hubs/chat/:send", ""),
        (f"{ENDPOINT}/api/hubs/chat/groups/a%2Fb/:send", "/api/hubs/chat/groups/a/b/:send", ""),
    ],
)
def test_rest_audience_is_the_url_with_or_without_query(
    audience: str, path: str, query: str
) -> None:
    auth.check_rest_audience({"aud": audience}, ENDPOINT, path, query)


def test_default_ports_are_implied() -> None:
    auth.check_rest_audience(
        {"aud": "http://localhost/api/v1/hubs/chat"}, "http://localhost:80", "/api/v1/hubs/chat", ""
    )


@pytest.mark.parametrize(
    ("audience", "path", "query"),
    [
        ("http://127.0.0.1:9999/api/hubs/chat/:send", "/api/hubs/chat/:send", ""),
        ("http://10.0.0.1:8888/api/hubs/chat/:send", "/api/hubs/chat/:send", ""),
        ("https://127.0.0.1:8888/api/hubs/chat/:send", "/api/hubs/chat/:send", ""),
        (SEND, "/api/hubs/other/:send", ""),
        (f"{SEND}?api-version=2021-01-01", "/api/hubs/chat/:send", "api-version=2022-06-01"),
        (f"{ENDPOINT}/client/?hub=chat", "/api/hubs/chat/:send", ""),
        ("http://127.0.0.1:bad/api/hubs/chat/:send", "/api/hubs/chat/:send", ""),
    ],
)
def test_rest_audience_for_another_request_is_refused(audience: str, path: str, query: str) -> None:
    with pytest.raises(auth.Unauthorized, match="audience"):
        auth.check_rest_audience({"aud": audience}, ENDPOINT, path, query)


def test_one_matching_audience_in_a_list_is_enough() -> None:
    auth.check_rest_audience({"aud": ["http://x/", SEND]}, ENDPOINT, "/api/hubs/chat/:send", "")


def test_client_audience_is_the_hubs_client_url() -> None:
    auth.check_client_audience({"aud": f"{ENDPOINT}/client/?hub=Chat"}, ENDPOINT, "chat")


@pytest.mark.parametrize(
    "audience",
    [
        f"{ENDPOINT}/client/?hub=other",
        f"{ENDPOINT}/client/",
        SEND,
        "http://127.0.0.1:1/client/?hub=chat",
    ],
)
def test_client_audience_for_elsewhere_is_refused(audience: str) -> None:
    with pytest.raises(auth.Unauthorized, match="audience"):
        auth.check_client_audience({"aud": audience}, ENDPOINT, "chat")


@pytest.mark.parametrize(
    ("claims", "user"),
    [
        ({"asrs.s.uid": "a", "nameid": "b"}, "a"),
        ({"nameid": "b"}, "b"),
        ({"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": "c"}, "c"),
        ({"sub": "d"}, None),
        ({"asrs.s.uid": ""}, None),
    ],
)
def test_user_id_claims(claims: dict[str, Any], user: str | None) -> None:
    assert auth.user_id(claims) == user


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer abc"}, None, "abc"),
        ({"authorization": "bearer abc"}, "q", "abc"),
        ({}, "q", "q"),
        ({"authorization": "Basic abc"}, "q", "q"),
    ],
)
def test_bearer_token_from_header_or_query(
    headers: dict[str, str], query: str | None, expected: str
) -> None:
    assert auth.bearer_token(headers, query) == expected


def test_no_token_is_a_bare_challenge() -> None:
    with pytest.raises(auth.Unauthorized) as refused:
        auth.bearer_token({"authorization": "Bearer "}, None)
    assert refused.value.description is None
