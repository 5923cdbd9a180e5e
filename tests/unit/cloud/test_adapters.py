"""Adapters' pure logic and wire shapes: SignalR tokens and URLs, the replay file, IB windows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer

from system.adapters.market_ib import IbSettings, strikes_each_side, window
from system.adapters.market_replay import ReplayMarketData, encode, write
from system.adapters.signalr_rest import PublishRejected, SignalRConnection, SignalRRest
from system.adapters.tables import first
from system.detector.synthetic import QuietChain
from system.domain.market import ChainSnapshot, SkippedMessage
from tests.unit.cloud.test_backend_parts import make

KEY = "a-signalr-access-key-of-32-bytes-or-more"


class TestSignalRConnection:
    def test_port_and_client_endpoint_are_honoured(self) -> None:
        parsed = SignalRConnection.parse(
            f"Endpoint=http://localhost;Port=8888;AccessKey={KEY};Version=1.0;"
            "ClientEndpoint=http://127.0.0.1:9999/;"
        )
        assert parsed.endpoint == "http://localhost:8888"
        assert parsed.client_endpoint == "http://127.0.0.1:9999"
        assert KEY not in repr(parsed)

    def test_a_missing_key_is_named_and_the_string_not_echoed(self) -> None:
        with pytest.raises(ValueError, match="no 'accesskey'") as refused:
            SignalRConnection.parse("Endpoint=https://x.service.signalr.net;Version=1.0;")
        assert "signalr.net" not in str(refused.value)


def test_negotiate_addresses_the_client_url_and_the_user() -> None:
    connection = SignalRConnection.parse(
        f"Endpoint=http://127.0.0.1:7000;AccessKey={KEY};ClientEndpoint=http://127.0.0.1:7001"
    )
    access = SignalRRest(connection, "Signals", "signal").negotiate("edge-1")
    assert access.url == "http://127.0.0.1:7001/client/?hub=signals"
    claims = jwt.decode(
        access.access_token,
        KEY.encode(),
        algorithms=["HS256"],
        audience="http://127.0.0.1:7000/client/?hub=signals",
    )
    assert claims["nameid"] == claims["asrs.s.uid"] == "edge-1"


@dataclass
class Seen:
    """What a loopback HTTP server standing in for the service was sent."""

    port: int
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
async def service() -> AsyncIterator[Seen]:
    async def answer(request: web.BaseRequest) -> web.Response:
        body = await request.read()
        seen.requests.append((request.method, str(request.url), dict(request.headers), body))
        return web.Response(status=202)

    server = RawTestServer(answer, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    seen = Seen(server.port)
    yield seen
    await server.close()


async def test_a_broadcast_is_the_rest_call_the_service_expects(service: Seen) -> None:
    connection = SignalRConnection.parse(
        f"Endpoint=http://127.0.0.1:{service.port};AccessKey={KEY};"
    )
    bus = SignalRRest(connection, "Signals", "signal")
    signal = make(1)
    await bus.publish(signal)
    await bus.aclose()
    ((method, url, headers, content),) = service.requests
    assert method == "POST"
    sent_to = f"http://127.0.0.1:{service.port}/api/hubs/signals/:send"
    assert url == f"{sent_to}?api-version=2022-06-01"
    assert headers["Content-Type"] == "application/json"
    body = json.loads(content)
    assert body["target"] == "signal"
    assert body["arguments"] == [json.loads(signal.model_dump_json())]
    token = headers["Authorization"].removeprefix("Bearer ")
    jwt.decode(token, KEY.encode(), algorithms=["HS256"], audience=sent_to)


async def test_a_quote_is_broadcast_as_the_dashboard_reads_it(service: Seen) -> None:
    connection = SignalRConnection.parse(
        f"Endpoint=http://127.0.0.1:{service.port};AccessKey={KEY};"
    )
    bus = SignalRRest(connection, "signals", "signal")
    await bus.publish_quote("SPY", 601.25, datetime(2026, 11, 24, 15, tzinfo=UTC))
    await bus.aclose()
    assert json.loads(service.requests[0][3]) == {
        "target": "quote",
        "arguments": [{"symbol": "SPY", "price": 601.25, "at": "2026-11-24T15:00:00+00:00"}],
    }


async def test_a_refused_broadcast_names_the_status() -> None:
    async def refuse(_request: web.BaseRequest) -> web.Response:
        return web.Response(status=403)

    server = RawTestServer(refuse, host="127.0.0.1")
    await server.start_server()
    connection = SignalRConnection.parse(
        f"Endpoint=http://127.0.0.1:{server.port};AccessKey={KEY};"
    )
    bus = SignalRRest(connection, "signals", "signal")
    try:
        with pytest.raises(PublishRejected, match="broadcast answered 403"):
            await bus.publish(make(1))
    finally:
        await bus.aclose()
        await server.close()


class TestIbWindow:
    def test_the_window_is_cut_to_fit_the_line_limit(self) -> None:
        settings = IbSettings("h", 1, 1, expiries=3, strikes_each_side=10, max_lines=100,
                              recentre_strikes=2, snapshot_interval_s=1)  # fmt: skip
        each = strikes_each_side(settings)
        assert 1 + 2 * 2 * settings.expiries * each <= settings.max_lines
        assert each == 8

    def test_the_window_centres_on_spot_and_stays_inside_the_chain(self) -> None:
        strikes = [float(s) for s in range(500, 701)]
        assert window(strikes, 600.4, 3) == [598.0, 599.0, 600.0, 601.0, 602.0, 603.0]
        assert window(strikes, 501, 3) == [500.0, 501.0, 502.0, 503.0, 504.0, 505.0]
        assert window(strikes, 699.5, 3)[-1] == 700.0


def snapshots(count: int) -> list[ChainSnapshot]:
    chain = QuietChain(expiries=1, strikes=4)
    start = datetime(2026, 11, 24, 15, tzinfo=UTC)
    return [chain.next(start + timedelta(seconds=i)) for i in range(count)]


async def collect(source: ReplayMarketData, count: int) -> list[ChainSnapshot | SkippedMessage]:
    items: list[ChainSnapshot | SkippedMessage] = []
    async for item in source.snapshots():
        items.append(item)
        if len(items) == count:
            break
    return items


class TestReplay:
    async def test_a_recording_replays_to_equal_snapshots_sharing_one_chain(
        self, tmp_path: Path
    ) -> None:
        recorded = snapshots(3)
        recorded[1].implied_vol[2] = np.nan
        write(tmp_path / "chain.jsonl", recorded)
        replayed = await collect(ReplayMarketData(tmp_path / "chain.jsonl"), 10)
        assert len(replayed) == 3
        for got, want in zip(replayed, recorded, strict=True):
            assert isinstance(got, ChainSnapshot)
            assert (got.taken_at, got.contracts) == (want.taken_at, want.contracts)
            np.testing.assert_array_equal(got.implied_vol, want.implied_vol)
        assert replayed[0].contracts is replayed[2].contracts  # type: ignore[union-attr]

    async def test_bad_lines_are_skipped_with_a_reason(self, tmp_path: Path) -> None:
        good = encode(snapshots(1)[0])
        broken = json.loads(good) | {"bid": [1.0]}
        lines = ["{nope", json.dumps(broken), '{"contracts": ["SPY 600C"]}', "[1]", good]
        (tmp_path / "chain.jsonl").write_text("\n".join(lines) + "\n")
        items = await collect(ReplayMarketData(tmp_path / "chain.jsonl"), 10)
        assert [type(i).__name__ for i in items] == ["SkippedMessage"] * 4 + ["ChainSnapshot"]
        assert {i.reason for i in items if isinstance(i, SkippedMessage)} == {"malformed"}

    async def test_follow_mode_waits_for_appended_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "chain.jsonl"
        first, second = snapshots(2)
        path.write_text(encode(first) + "\n" + encode(second)[:50])  # the second half-written
        source = ReplayMarketData(path, follow=True, poll_s=0.01)
        reading = asyncio.create_task(collect(source, 2))
        await asyncio.sleep(0.2)
        assert not reading.done()
        with path.open("a") as file:
            file.write(encode(second)[50:] + "\n")
        items = await asyncio.wait_for(reading, 5)
        assert [i.taken_at for i in items] == [first.taken_at, second.taken_at]  # type: ignore[union-attr]


class TestFirst:
    """The table store's paging: a page past the limit is never asked for."""

    @staticmethod
    async def pulled(limit: int | None, available: int = 5) -> tuple[list[int], int]:
        asked = 0

        async def source() -> AsyncIterator[int]:
            nonlocal asked
            for item in range(available):
                asked += 1
                yield item

        taken = [item async for item in first(source(), limit)]
        return taken, asked

    async def test_it_stops_at_the_limit_without_asking_for_one_more(self) -> None:
        assert await self.pulled(3) == ([0, 1, 2], 3)

    async def test_no_limit_takes_everything(self) -> None:
        assert await self.pulled(None) == ([0, 1, 2, 3, 4], 5)

    async def test_a_limit_beyond_the_source_takes_what_there_is(self) -> None:
        assert await self.pulled(9) == ([0, 1, 2, 3, 4], 5)

    async def test_a_limit_of_zero_asks_for_nothing(self) -> None:
        assert await self.pulled(0) == ([], 0)
