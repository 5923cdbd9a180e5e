"""Three bot replicas against real Redis, the gateway, SignalR, SendGrid and Telegram fakes.

One topology for the module; each test publishes its own signals. The failover test runs last
(it kills the leader)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from system.domain.contracts import OptionContract, Right
from system.domain.signals import Signal
from tests.integration.edge import rig

pytestmark = pytest.mark.integration

AUTHORISED_CHAT = 1001
TELEGRAM_TOKEN = "123456:edge-test-token"
SENDGRID_KEY = "SG.edge-test"


@dataclass
class Topology:
    tmp: Path
    gateway: rig.Gateway
    cloud: rig.Cloud
    bots: list[rig.Service]
    strategy: Path
    telegram: str
    sendgrid: str

    def publish(self, *signals: Signal) -> None:
        for s in signals:
            self.cloud.publish(s)

    def outcome(self, bot: rig.Service, signal: Signal) -> tuple[str, str] | None:
        return bot.outcomes().get(signal.id)

    def decided(self, signals: list[Signal], bots: list[rig.Service] | None = None) -> None:
        """Every live bot's ledger closes every one of these signals."""
        alive = [b for b in (bots or self.bots) if b.proc.alive()]
        rig.until(
            lambda: all(s.id in b.outcomes() for b in alive for s in signals),
            30,
            "every signal decided in every live ledger",
        )

    def telegram_messages(self) -> list[dict[str, Any]]:
        base = self.telegram.removesuffix("/bot")
        return list(httpx.get(f"{base}/__admin/messages", timeout=5).json()["messages"])

    def emails(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.sendgrid}/__admin/messages", timeout=5).json()["messages"])

    def say(self, chat_id: int, text: str) -> None:
        base = self.telegram.removesuffix("/bot")
        httpx.post(
            f"{base}/__admin/updates",
            json={"chat_id": chat_id, "text": text, "username": f"user{chat_id}"},
            timeout=5,
        ).raise_for_status()


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    tmp = tmp_path_factory.mktemp("edge")
    with rig.edge(tmp, "edge-signalr-key-0123456789abcdef") as edge:
        telegram, telegram_url = rig.http_fake(tmp, "telegram", "--token", TELEGRAM_TOKEN)
        edge.procs.append(telegram)
        sendgrid, sendgrid_url = rig.http_fake(tmp, "sendgrid", "--api-key", SENDGRID_KEY)
        edge.procs.append(sendgrid)
        secrets = tmp / "secrets"
        secrets.mkdir()
        (secrets / "telegram-token").write_text(TELEGRAM_TOKEN)
        (secrets / "sendgrid-key").write_text(SENDGRID_KEY)
        bots = edge.start_bots(
            "bot-1",
            "bot-2",
            "bot-3",
            SPY_BOT_TELEGRAM_TOKEN_SECRET="telegram-token",
            SPY_BOT_TELEGRAM_BASE_URL=telegram_url.removesuffix("/bot"),
            SPY_BOT_TELEGRAM_CHAT_IDS=f"[{AUTHORISED_CHAT}]",
            SPY_BOT_TELEGRAM_POLL_S="1",
            SPY_BOT_SENDGRID_API_KEY_SECRET="sendgrid-key",
            SPY_BOT_SENDGRID_BASE_URL=sendgrid_url,
            SPY_BOT_EMAIL_TO='["ops@example.com"]',
        )
        rig.leader_of(bots)
        rig.subscribed(bots)
        yield Topology(
            tmp, edge.gateway, edge.cloud, bots, edge.strategy, telegram_url, sendgrid_url
        )


def test_a_signal_becomes_exactly_one_order_with_its_id_as_order_ref(topo: Topology) -> None:
    signals = [rig.make_signal() for _ in range(5)]
    topo.publish(*signals)
    topo.publish(signals[0])  # re-published: recognised by its id
    topo.decided(signals)
    refs = topo.gateway.refs()
    assert [refs.get(s.id) for s in signals] == [1] * 5
    for bot in topo.bots:  # the leader decided them; standbys mirrored the outcomes
        assert {topo.outcome(bot, s) for s in signals} == {("filled", "")}
    # Confirmed by email, in digests: each signal's fill exactly once.
    rig.until(lambda: all(s.id in confirmed(topo) for s in signals), 10, "every fill confirmed")
    assert all(confirmed(topo).count(f"Signal {s.id}:") == 1 for s in signals)


def confirmed(topo: Topology) -> str:
    """What the trade confirmations emailed so far say."""
    return "\n".join(
        m["payload"]["content"][0]["value"]
        for m in topo.emails()
        if "] Fill" in m["payload"]["subject"]  # "[info] Filled: ..." or, digested, "Fills: n"
    )


def test_bad_input_is_dropped_counted_or_rejected_with_a_reason(topo: Topology) -> None:
    topo.cloud.send_raw({"target": "signal", "arguments": [{"id": "not a signal"}]})
    topo.cloud.send_raw({"target": "somethingElse", "arguments": [1]})
    unlisted = rig.listed_contract(strike=10)  # outside the gateway's chain
    qqq = OptionContract(
        symbol="QQQ", expiry=unlisted.expiry, strike=unlisted.strike, right=Right.PUT
    )
    expired = rig.make_signal(age_s=40)  # created 40 s ago with a 30 s life
    fine = rig.make_signal()
    bad_contract, other_underlying = rig.make_signal(unlisted), rig.make_signal(qqq)
    topo.publish(bad_contract, other_underlying, expired, fine)
    topo.decided([bad_contract, other_underlying, expired, fine])
    leader = rig.leader_of(topo.bots)
    outcome, reason = topo.outcome(leader, bad_contract) or ("", "")
    assert outcome == "rejected"
    assert "No security definition" in reason
    assert topo.outcome(leader, other_underlying) == (
        "rejected",
        f"unknown contract {qqq.local_symbol!r}: not a traded underlying",
    )
    assert topo.outcome(leader, expired) == ("expired", "expired before it was traded")
    assert topo.outcome(leader, fine) == ("filled", "")
    refs = topo.gateway.refs()
    assert expired.id not in refs
    assert other_underlying.id not in refs
    assert bad_contract.id not in refs  # refused by the gateway before it booked anything
    for bot in topo.bots:
        assert bot.metric('spy_bot_messages_total{result="invalid_signal"}') >= 1
        assert bot.metric('spy_bot_messages_total{result="unknown_target"}') >= 1


def test_telegram_commands_for_authorised_chats_only(topo: Topology) -> None:
    seen = len(topo.telegram_messages())

    def replies() -> list[str]:
        return [m["text"] for m in topo.telegram_messages()[seen:]]

    topo.say(666, "/halt")
    rig.until(lambda: "Not authorised." in replies(), 15, "the refusal")
    topo.say(AUTHORISED_CHAT, "/halt fat finger")
    rig.until(lambda: any("Trading halted" in r for r in replies()), 15, "the halt reply")
    blocked = rig.make_signal()
    topo.publish(blocked)
    topo.decided([blocked])
    leader = rig.leader_of(topo.bots)
    assert topo.outcome(leader, blocked) == ("rejected", "kill switch is on")
    topo.say(AUTHORISED_CHAT, "/status")
    rig.until(lambda: any("halted: halted via Telegram" in r for r in replies()), 15, "status")
    topo.say(AUTHORISED_CHAT, "/positions")
    rig.until(lambda: any("SPY" in r for r in replies()), 15, "positions")
    topo.say(AUTHORISED_CHAT, "/resume")
    rig.until(lambda: "Trading resumed." in replies(), 15, "the resume reply")
    after = rig.make_signal()
    topo.publish(after)
    topo.decided([after])
    assert topo.outcome(leader, after) == ("filled", "")
    assert blocked.id not in topo.gateway.refs()
    assert "refused command '/halt' from unauthorised chat 666" in leader.proc.log_text()


def test_a_bad_strategy_file_is_refused_and_alerted_then_a_good_one_applies(
    topo: Topology,
) -> None:
    seen_mail = len(topo.emails())
    topo.strategy.write_text("limits: [unclosed\n")
    rig.until(
        lambda: any(
            "Strategy config rejected" in m["payload"]["subject"] for m in topo.emails()[seen_mail:]
        ),
        15,
        "the config alert by email",
    )
    kept = rig.make_signal()
    topo.publish(kept)
    topo.decided([kept])
    rig.write_strategy(topo.strategy, quantity=2)
    rig.until(
        lambda: any("Resolved:" in m["payload"]["subject"] for m in topo.emails()[seen_mail:]),
        15,
        "the recovery notice",
    )
    # Each replica reloads on its own: the notice may come from a standby before the leader.
    leader = rig.leader_of(topo.bots)
    rig.until(lambda: leader.status().get("quantity") == 2, 15, "the leader on the new config")
    doubled = rig.make_signal()
    topo.publish(doubled)
    topo.decided([doubled])
    by_ref = {o["orderRef"]: o for o in topo.gateway.orders()}
    assert (by_ref[kept.id]["quantity"], by_ref[doubled.id]["quantity"]) == (1, 2)
    rig.write_strategy(topo.strategy)
    assert any("Strategy config rejected" in m["text"] for m in topo.telegram_messages())


def test_leader_failover_without_duplicates(topo: Topology) -> None:
    leader = rig.leader_of(topo.bots)
    standbys = [b for b in topo.bots if b is not leader]
    before = [rig.make_signal() for _ in range(10)]
    during = [rig.make_signal() for _ in range(20)]
    topo.publish(*before)
    leader.proc.signal(signal.SIGKILL)
    for s in during:  # through the gap: no leader until the lease expires
        topo.publish(s)
        time.sleep(0.1)
    new_leader = rig.leader_of(standbys)
    topo.decided(before + during, standbys)
    refs = topo.gateway.refs()
    assert [refs.get(s.id) for s in before + during] == [1] * 30
    assert all(count == 1 for count in refs.values())
    for bot in standbys:
        assert {topo.outcome(bot, s)[0] for s in before + during} == {"filled"}  # type: ignore[index]
    assert new_leader.metric("spy_lease_acquired_total") == 1

    # A graceful stop hands the lease over at once, and exits 0.
    last = next(b for b in standbys if b is not new_leader)
    assert new_leader.proc.stop() == 0
    assert "leadership lost: released" in new_leader.proc.log_text()
    # One trace from the detector to the order: the bot's span is a child of the signal's.
    spans = (topo.tmp / "telemetry" / f"bot-{new_leader.data.name}.spans.jsonl").read_text()
    _, trace_id, parent_id, _ = rig.TRACEPARENT.split("-")
    orders = [s for s in map(json.loads, spans.splitlines()) if s["name"] == "bot.order"]
    assert orders
    assert {(s["context"]["trace_id"], s["parent_id"]) for s in orders} == {
        (f"0x{trace_id}", f"0x{parent_id}")
    }
    rig.until(lambda: last.status().get("trading"), 10, "the last replica trading")
    final = rig.make_signal()
    topo.publish(final)
    topo.decided([final], [last])
    assert topo.gateway.refs()[final.id] == 1
