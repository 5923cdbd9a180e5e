"""@microsoft/signalr (the JavaScript client, on Node), unchanged, against the fake: the
browser dashboard and any JS consumer use exactly this client."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.signalr.auth import issue_token
from harness.process import ProcessSpec, RunningProcess, log_line, running
from harness.toolchain import SIGNALR_JS, tool_path
from tests.integration.signalr.backend import Backend
from tests.integration.signalr.conftest import KEY, Fake, eventually

SCRIPT = Path(__file__).with_name("js_client.js")
_hubs = itertools.count()
_names = itertools.count()

Event = dict[str, Any]


def unique_hub() -> str:
    return f"js{next(_hubs)}"


class JsClient:
    def __init__(self, proc: RunningProcess) -> None:
        self.proc = proc

    def events(self) -> list[Event]:
        lines = self.proc.log_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, what: str, match: Callable[[Event], bool]) -> Event:
        return eventually(lambda: next((e for e in self.events() if match(e)), None), what)

    def messages(self) -> list[list[Any]]:
        return [e["args"] for e in self.events() if e["event"] == "message"]

    def received(self, *args: Any) -> None:
        """Wait until these arguments arrived; they must be the latest message."""
        eventually(lambda: self.messages() and self.messages()[-1] == list(args), f"{args}")

    @property
    def connection_id(self) -> str:
        connected = [e for e in self.events() if e["event"] in ("connected", "reconnected")]
        return str(connected[-1]["connectionId"])


@contextmanager
def js_client(log_dir: Path, url: str, **options: Any) -> Iterator[JsClient]:
    node_modules = tool_path(SIGNALR_JS).parents[2]
    spec = ProcessSpec(
        name=f"js-client-{next(_names)}",
        argv=["node", str(SCRIPT), url, json.dumps(options)],
        ready=log_line(r'"event":"connected"'),
        env={"NODE_PATH": str(node_modules)},
        start_timeout_s=20,
        stop_grace_s=5,
    )
    with running(spec, log_dir) as proc:
        yield JsClient(proc)


def test_js_client_receives_broadcast_user_and_group_messages(
    fake: Fake, backend: Backend, tmp_path: Path
) -> None:
    hub = unique_hub()
    with js_client(tmp_path, f"{backend.url}/api?hub={hub}&user=frank") as client:
        api = f"/api/hubs/{hub}"
        fake.send(f"{api}/:send", "news", "to everyone", {"n": 1})
        client.received("to everyone", {"n": 1})

        fake.send(f"{api}/users/someone-else/:send", "news", "not for you")
        fake.send(f"{api}/users/frank/:send", "news", "for you")
        client.received("for you")

        joined = fake.rest("PUT", f"{api}/groups/desk/connections/{client.connection_id}")
        assert joined.status_code == 200
        fake.send(f"{api}/groups/desk/:send", "news", "to the desk")
        client.received("to the desk")

        assert fake.rest("PUT", f"{api}/users/frank/groups/traders").status_code == 200
        fake.send(f"{api}/groups/traders/:send", "news", "to the traders")
        client.received("to the traders")

        assert client.messages() == [
            ["to everyone", {"n": 1}],
            ["for you"],
            ["to the desk"],
            ["to the traders"],
        ]
        # The connection id the JS client was given is the one the REST API addresses.
        assert fake.connection_of("frank") == client.connection_id


def test_js_client_renegotiates_and_keeps_user_groups_after_a_drop(
    fake: Fake, backend: Backend, tmp_path: Path
) -> None:
    hub = unique_hub()
    with js_client(tmp_path, f"{backend.url}/api?hub={hub}&user=gina") as client:
        first = client.connection_id
        assert fake.rest("PUT", f"/api/hubs/{hub}/users/gina/groups/desk").status_code == 200
        negotiations = backend.negotiations
        fake.admin("POST", "faults/drop", {"mode": "abort"})
        client.wait_for("reconnecting", lambda e: e["event"] == "reconnecting")
        reconnected = client.wait_for("reconnected", lambda e: e["event"] == "reconnected")
        # A fresh negotiate (app, then service) and a new connection id; the user's group
        # membership is the service's, so it still holds.
        assert backend.negotiations == negotiations + 1
        assert reconnected["connectionId"] != first
        fake.send(f"/api/hubs/{hub}/groups/desk/:send", "news", "after the drop")
        client.received("after the drop")


def test_a_close_allowing_reconnect_brings_the_js_client_back(
    fake: Fake, backend: Backend, tmp_path: Path
) -> None:
    hub = unique_hub()
    with js_client(tmp_path, f"{backend.url}/api?hub={hub}&user=hal") as client:
        fake.admin("POST", "faults/drop", {"mode": "close", "allowReconnect": True})
        client.wait_for("reconnected", lambda e: e["event"] == "reconnected")
        fake.send(f"/api/hubs/{hub}/:send", "news", "back")
        client.received("back")


def test_a_close_with_an_error_is_final_for_the_js_client(
    fake: Fake, backend: Backend, tmp_path: Path
) -> None:
    hub = unique_hub()
    with js_client(tmp_path, f"{backend.url}/api?hub={hub}") as client:
        fake.admin(
            "POST",
            "faults/drop",
            {"mode": "close", "error": "maintenance", "allowReconnect": False},
        )
        closed = client.wait_for("closed", lambda e: e["event"] == "closed")
        assert "maintenance" in closed["error"]
        assert not any(e["event"] == "reconnecting" for e in client.events())


def test_serverless_closes_a_js_client_that_invokes_a_hub_method(
    fake: Fake, backend: Backend, tmp_path: Path
) -> None:
    hub = unique_hub()
    with js_client(tmp_path, f"{backend.url}/api?hub={hub}", invoke="SendMessage") as client:
        closed = client.wait_for("closed", lambda e: e["event"] == "closed")
        assert "serverless" in closed["error"]


def test_js_client_straight_to_the_service_without_negotiate(fake: Fake, tmp_path: Path) -> None:
    hub = unique_hub()
    url = f"{fake.endpoint}/client/?hub={hub}"
    token = fake.client_token(hub, user="ivy")
    with js_client(tmp_path, url, skipNegotiation=True, token=token) as client:
        fake.send(f"/api/hubs/{hub}/users/ivy/:send", "news", "direct")
        client.received("direct")


@pytest.mark.parametrize("origin", ["http://127.0.0.1:5173", "null"])
def test_negotiate_answers_cors_as_the_service_does(fake: Fake, origin: str) -> None:
    """The dashboard's browser preflights the service negotiate and sends credentials."""
    url = f"{fake.endpoint}/client/negotiate?hub=chat&negotiateVersion=1"
    preflight = httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-requested-with,x-signalr-user-agent",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    response = httpx.post(
        url, headers={"Origin": origin, "Authorization": f"Bearer {fake.client_token()}"}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"


def test_messages_arrive_in_the_order_the_rest_calls_were_made(
    fake: Fake, backend: Backend, tmp_path: Path
) -> None:
    hub = unique_hub()
    with js_client(tmp_path, f"{backend.url}/api?hub={hub}") as client, httpx.Client() as http:
        url = f"{fake.endpoint}/api/hubs/{hub}/:send"
        headers = {"Authorization": f"Bearer {issue_token(KEY, url)}"}
        for n in range(200):
            sent = http.post(url, json={"target": "news", "arguments": [n]}, headers=headers)
            assert sent.status_code == 202
        client.received(199)
        assert client.messages() == [[n] for n in range(200)]
