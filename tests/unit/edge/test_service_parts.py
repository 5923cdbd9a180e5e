"""Decoding SignalR frames, Telegram commands, metric samples and the daily aggregate."""

from datetime import UTC, datetime
from unittest.mock import AsyncMock

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from pysignalr.messages import InvocationMessage, PingMessage

from system.adapters.signalr_client import TolerantJSONProtocol
from system.edge.backoff import Backoff
from system.ports import StoredRecord
from system.services.bot.commands import Commands, Operator
from system.services.bot.metrics import BotMetrics
from system.services.bot.samples import Sampler
from system.services.forwarder.daily import aggregate

SEP = "\x1e"


class TestSignalRFrames:
    def decode(self, frame: str) -> tuple[list[object], list[str]]:
        dropped: list[str] = []
        protocol = TolerantJSONProtocol(
            frozenset({"signal"}), lambda reason, _detail: dropped.append(reason)
        )
        return list(protocol.decode(frame)), dropped

    def test_good_messages_pass_and_bad_ones_are_dropped_one_by_one(self) -> None:
        frame = SEP.join(
            [
                '{"type":1,"target":"signal","arguments":[{}]}',
                "not json at all",
                '{"type":42}',
                '{"type":1,"target":"other","arguments":[]}',
                '{"type":1,"target":"quote","arguments":[{"symbol":"SPY"}]}',
                '{"type":1,"target":"signal","arguments":[],"surprise":1}',
                "[1, 2]",
                '{"type":6}',
                "",
            ]
        )
        messages, dropped = self.decode(frame)
        assert [type(m) for m in messages] == [InvocationMessage, PingMessage]
        assert dropped == [
            "malformed",
            "unknown_message",
            "unknown_target",
            "other",  # the dashboard's quotes share the hub: known, dropped without a warning
            "unknown_message",
            "malformed",
        ]

    def test_binary_frames_with_bad_utf8_do_not_raise(self) -> None:
        dropped: list[str] = []
        protocol = TolerantJSONProtocol(frozenset({"signal"}), lambda r, _d: dropped.append(r))
        assert protocol.decode(b"\xff\xfe" + SEP.encode()) == []
        assert dropped == ["malformed"]


class TestCommands:
    def commands(self) -> tuple[Commands, Operator]:
        operator = Operator(
            status=lambda: {"leader": True, "halted": None},
            positions=AsyncMock(return_value={"SPY   261204C00590000": 3}),
            halt=AsyncMock(),
            resume=AsyncMock(),
        )
        bot = AsyncMock()
        return (
            Commands(bot, operator, frozenset({1001}), BotMetrics(), 0, Backoff(0.1, 1)),
            operator,
        )

    async def test_authorised_commands(self) -> None:
        commands, operator = self.commands()
        assert await commands.answer(1001, "ann", "/status") == "leader: True\nhalted: None"
        assert await commands.answer(1001, "ann", "/positions") == "SPY   261204C00590000: 3"
        assert "halted" in await commands.answer(1001, "ann", "/halt@spy_bot slipped")
        operator.halt.assert_awaited_once_with("halted via Telegram by ann (1001): slipped")  # type: ignore[attr-defined]
        assert await commands.answer(1001, "ann", "/resume") == "Trading resumed."
        assert "Commands:" in await commands.answer(1001, "ann", "hello")

    async def test_anyone_else_is_refused(self) -> None:
        commands, operator = self.commands()
        assert await commands.answer(666, "mallory", "/halt") == "Not authorised."
        operator.halt.assert_not_awaited()  # type: ignore[attr-defined]


class TestSamples:
    def test_counters_become_deltas_and_the_histogram_quantiles(self) -> None:
        registry = CollectorRegistry()
        orders = Counter("spy_orders", "orders", registry=registry)
        latency = Histogram("spy_lat", "latency", buckets=(0.001, 0.01, 0.1), registry=registry)
        sampler = Sampler(registry, "bot-1")
        orders.inc(3)
        for value in (0.0005,) * 98 + (0.05, 0.05):
            latency.observe(value)
        at = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
        first = {r.fields["name"]: r.fields["value"] for r in sampler.take(at)}
        assert first["spy_orders_total"] == 3
        assert first["spy_lat.count"] == 100
        # Interpolated within the bucket holding the rank, as histogram_quantile does.
        assert first["spy_lat.p50"] == pytest.approx(0.001 * 50 / 98)
        assert first["spy_lat.p99"] == pytest.approx(0.01 + 0.09 * (99 - 98) / (100 - 98))
        orders.inc()
        second = sampler.take(at)
        names = {r.fields["name"]: r.fields["value"] for r in second}
        assert names["spy_orders_total"] == 1
        assert "spy_lat.p50" not in names  # nothing observed in this interval
        assert "spy_lat.count" not in names
        assert second[0].partition_key == "2026-11-24"
        assert second[0].row_key == "153000.bot-1.spy_orders_total"  # in time order in the day


def test_the_daily_aggregate_per_replica_and_metric() -> None:
    now = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)

    def sample(replica: str, name: str, value: float, n: int) -> StoredRecord:
        return StoredRecord(
            "metrics",
            "2026-11-24",
            f"{replica}.{n}.{name}",
            {"replica": replica, "name": name, "value": value},
        )

    rows = aggregate(
        [
            sample("bot-1", "orders", 2, 1),
            sample("bot-1", "orders", 4, 2),
            sample("bot-2", "orders", 1, 1),
        ],
        "2026-11-24",
        now,
    )
    assert [(r.row_key, r.fields["count"], r.fields["sum"], r.fields["max"]) for r in rows] == [
        ("bot-1.orders", 2, 6.0, 4.0),
        ("bot-2.orders", 1, 1.0, 1.0),
    ]
    assert rows[0].table == "metricsdaily"
