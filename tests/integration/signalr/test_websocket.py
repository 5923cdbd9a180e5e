"""The client endpoint at the wire: negotiate, the three upgrade forms, tokens, the handshake,
keep-alive and timeouts, MessagePack framing, and where the service closes a misbehaving
client (without disturbing the others)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator

import httpx
import jwt
import msgpack
import pytest
from websockets.exceptions import InvalidStatus

from fakes.signalr.auth import issue_token
from tests.integration.signalr.conftest import (
    KEY,
    RECORD,
    TIMEOUT_S,
    Fake,
    RawClient,
    open_socket,
    raw_client,
    start_fake,
)

_hubs = itertools.count()


def unique_hub() -> str:
    return f"ws{next(_hubs)}"


def negotiate(fake: Fake, hub: str, query: str = "", token: str | None = None) -> httpx.Response:
    bearer = token or fake.client_token(hub, user="neo")
    return httpx.post(
        f"{fake.endpoint}/client/negotiate?hub={hub}{query}",
        headers={"Authorization": f"Bearer {bearer}"},
    )


def upgrade_status(fake: Fake, query: str, headers: dict[str, str] | None = None) -> int:
    try:
        with open_socket(f"{fake.endpoint}/client/?{query}", headers):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_negotiate_versions(fake: Fake) -> None:
    v1 = negotiate(fake, "chat", "&negotiateVersion=1").json()
    assert set(v1) == {"negotiateVersion", "connectionId", "connectionToken", "availableTransports"}
    assert v1["negotiateVersion"] == 1
    assert v1["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]
    v0 = negotiate(fake, "chat").json()
    assert set(v0) == {"negotiateVersion", "connectionId", "availableTransports"}
    assert v0["negotiateVersion"] == 0
    assert negotiate(fake, "chat", "&negotiateVersion=7").json()["negotiateVersion"] == 1


@pytest.mark.parametrize("version", ["0", "1"])
def test_the_negotiated_id_opens_that_connection_once(fake: Fake, version: str) -> None:
    hub = unique_hub()
    answer = negotiate(fake, hub, f"&negotiateVersion={version}").json()
    presented = answer.get("connectionToken", answer["connectionId"])
    with raw_client(fake, hub, user="neo", query=f"&id={presented}"):
        assert [c["connectionId"] for c in fake.connections("neo")] == [answer["connectionId"]]
    headers = {"Authorization": f"Bearer {fake.client_token(hub)}"}
    assert upgrade_status(fake, f"hub={hub}&id={presented}", headers) == 404


def test_an_unknown_or_foreign_id_is_not_found(fake: Fake) -> None:
    token = negotiate(fake, "chat", "&negotiateVersion=1").json()["connectionToken"]
    headers = {"Authorization": f"Bearer {fake.client_token('other')}"}
    assert upgrade_status(fake, f"hub=other&id={token}", headers) == 404
    assert upgrade_status(fake, "hub=other&id=made-up", headers) == 404


def test_the_token_may_come_as_access_token(fake: Fake) -> None:
    hub = unique_hub()
    token = fake.client_token(hub, user="q")
    with open_socket(f"{fake.endpoint}/client/?hub={hub}&access_token={token}") as socket:
        client = RawClient(socket)
        client.send('{"protocol":"json","version":1}')
        assert socket.recv(timeout=TIMEOUT_S) == "{}" + RECORD
        fake.send(f"/api/hubs/{hub}/users/q/:send", "news", "by query token")
        assert client.next_message()["arguments"] == ["by query token"]


def test_bad_tokens_and_hubs_are_refused_before_the_upgrade(fake: Fake) -> None:
    expired = jwt.encode(
        {"aud": f"{fake.endpoint}/client/?hub=chat", "exp": int(time.time()) - 60},
        KEY.encode(),
        algorithm="HS256",
    )
    other_hub = fake.client_token("other")
    rest = issue_token(KEY, f"{fake.endpoint}/api/hubs/chat/:send")
    for token in (expired, other_hub, rest, "garbage"):
        assert upgrade_status(fake, "hub=chat", {"Authorization": f"Bearer {token}"}) == 401
        assert negotiate(fake, "chat", token=token).status_code == 401
    assert upgrade_status(fake, "hub=chat") == 401
    ok = {"Authorization": f"Bearer {fake.client_token()}"}
    assert upgrade_status(fake, "hub=1bad", ok) == 400
    assert upgrade_status(fake, "", ok) == 400
    assert negotiate(fake, "bad-hub", token=fake.client_token()).status_code == 400
    assert negotiate(fake, "chat", "&negotiateVersion=x").status_code == 400


@pytest.mark.parametrize(
    ("handshake", "error"),
    [
        ('{"protocol":"xml","version":1}', "The protocol 'xml' is not supported."),
        ('{"protocol":"json","version":9}', "The server does not support version 9"),
        ("hello", "An unexpected error occurred during connection handshake."),
    ],
)
def test_a_failed_handshake_is_answered_then_closed(fake: Fake, handshake: str, error: str) -> None:
    with raw_client(fake, unique_hub(), handshake=False) as client:
        client.send(handshake)
        answer = json.loads(client.socket.recv(timeout=TIMEOUT_S).rstrip(RECORD))
        assert error in answer["error"]
        assert client.closed_with() == 1000


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ("{not json", "Connection closed with an error."),
        ('{"type":42}', "Connection closed with an error."),
        ('{"type":1,"target":"Send","arguments":[]}', "serverless"),
        ('{"type":4,"invocationId":"1","target":"Stream","arguments":[]}', "serverless"),
    ],
)
def test_the_service_closes_a_client_that_breaks_the_rules(
    fake: Fake, record: str, error: str
) -> None:
    hub = unique_hub()
    with raw_client(fake, hub) as bystander, raw_client(fake, hub) as offender:
        offender.send(record)
        close = offender.next_message()
        assert close["type"] == 7
        assert error in close["error"]
        assert "allowReconnect" not in close
        assert offender.closed_with() == 1000
        fake.send(f"/api/hubs/{hub}/:send", "news", "others still served")
        assert bystander.next_message()["arguments"] == ["others still served"]


def test_a_client_message_over_the_limit_closes_the_socket(fake: Fake) -> None:
    with raw_client(fake, unique_hub()) as client:
        client.socket.send("x" * (1024 * 1024 + 1))
        assert client.closed_with() == 1009


def test_pings_and_ignored_messages_keep_the_connection(fake: Fake) -> None:
    hub = unique_hub()
    with raw_client(fake, hub) as client:
        client.send('{"type":6}', '{"type":3,"invocationId":"1","result":1}', '{"type":6}')
        fake.send(f"/api/hubs/{hub}/:send", "news", "fine")
        assert client.next_message()["arguments"] == ["fine"]


def test_an_idle_client_is_pinged(fake: Fake) -> None:
    with raw_client(fake, unique_hub()) as client:
        assert client.socket.recv(timeout=TIMEOUT_S) == '{"type":6}' + RECORD


def test_a_client_close_ends_the_connection(fake: Fake) -> None:
    with raw_client(fake, unique_hub(), user="leaver") as client:
        client.send('{"type":7}')
        assert client.closed_with() == 1000
    assert fake.connections("leaver") == []


def test_messagepack_after_a_binary_handshake(fake: Fake) -> None:
    hub = unique_hub()
    headers = {"Authorization": f"Bearer {fake.client_token(hub)}"}
    with open_socket(f"{fake.endpoint}/client/?hub={hub}", headers) as socket:
        socket.send(b'{"protocol":"messagepack","version":1}\x1e')
        assert socket.recv(timeout=TIMEOUT_S) == b"{}\x1e"
        fake.send(f"/api/hubs/{hub}/:send", "news", "packed", {"n": 1})
        frame = socket.recv(timeout=TIMEOUT_S)
        while frame == b"\x02\x91\x06":  # a ping
            frame = socket.recv(timeout=TIMEOUT_S)
        assert isinstance(frame, bytes)
        assert frame[0] == len(frame) - 1  # one message behind its VarInt length
        assert msgpack.unpackb(frame[1:]) == [1, {}, None, "news", ["packed", {"n": 1}], []]


# --- timeouts (a fake of their own with short ones) ------------------------------------------


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    options = ("--keepalive", "0.3", "--client-timeout", "1", "--handshake-timeout", "0.5")
    with start_fake(tmp_path_factory.mktemp("impatient"), *options) as running_fake:
        yield running_fake


def test_a_silent_client_is_closed_and_may_reconnect(impatient: Fake) -> None:
    with raw_client(impatient, "chat", user="mute") as client:
        assert client.next_message() == {"type": 7, "allowReconnect": True}
        assert client.closed_with() == 1000


def test_a_socket_without_a_handshake_is_closed(impatient: Fake) -> None:
    with raw_client(impatient, "chat", handshake=False) as client:
        assert client.closed_with() == 1000


def test_an_unused_negotiation_expires(impatient: Fake) -> None:
    token = negotiate(impatient, "chat", "&negotiateVersion=1").json()["connectionToken"]
    # Not a timing check: the fake reserved the id before it answered, so by its own clock
    # more than the handshake timeout (0.5 s) has passed when the upgrade arrives.
    time.sleep(0.6)
    headers = {"Authorization": f"Bearer {impatient.client_token()}"}
    assert upgrade_status(impatient, f"hub=chat&id={token}", headers) == 404
