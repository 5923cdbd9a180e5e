"""Steps for what operators do to a running system: roll out, reconfigure, rotate a secret, and
what they live through: a VPN outage, a storage outage."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from ib_async import IB
from pytest_bdd import given, parsers, then, when

from harness.files import write_whole
from harness.local_topology import release_strategy
from harness.supervisor import Revision
from harness.vpn import end_outage, start_outage
from scenarios.stack import Record, Stack, until
from scenarios.steps.common import Stream
from system.edge.ledger import AUDIT_TABLE, OUTCOMES_TABLE

# Tables whose row key alone names a record (a signal's event, a signal's outcome); the metrics
# table's row keys repeat from one day's partition to the next.
ONE_KEY_PER_RECORD = {AUDIT_TABLE, OUTCOMES_TABLE}


# -- rollouts ----------------------------------------------------------------------------------
@when(
    parsers.parse(
        'the bots are rolled to release "{release}" while signals stream at {rate:d} per second'
    )
)
def roll_out(topology: Stack, stream: Stream, release: str, rate: int) -> None:
    stream.details["before"] = topology.supervisor.instances_of("bot")[0].release
    revision, stream.sent = topology.stream_while(
        rate, lambda: topology.supervisor.rollout("bot", release)
    )
    stream.details["revision"] = revision


@then(parsers.parse('the rollout ends "{outcome}" with every bot replica on release "{release}"'))
def rollout_outcome(topology: Stack, stream: Stream, outcome: str, release: str) -> None:
    revision = stream.details["revision"]
    assert isinstance(revision, Revision)
    assert revision.outcome == outcome, f"the rollout ended {revision.outcome}"
    bots = topology.supervisor.instances_of("bot")
    assert [b.release for b in bots] == [release] * len(bots)
    # ... as the bots themselves say: each runs the strategy file that release ships.
    shipped = hashlib.sha256(release_strategy(release).encode()).hexdigest()
    running = {b.name: topology.bot_status(b.name).get("strategy_sha256") for b in bots}
    assert set(running.values()) == {shipped}, f"strategies in force: {running}"
    assert len(bots) == topology.local.settings.replicas


@then(
    parsers.parse(
        'the rollout ends "{outcome}" with every bot replica on the release it ran before'
    )
)
def rolled_back(topology: Stack, stream: Stream, outcome: str) -> None:
    rollout_outcome(topology, stream, outcome, str(stream.details["before"]))


@then("the operators get an email saying the release was rolled back")
def rollback_email(topology: Stack) -> None:
    until(lambda: any("rolled back" in e for e in topology.emails()), 15, "a rollback email")


# -- strategy hot reload -----------------------------------------------------------------------
def strategy_file(topology: Stack) -> Path:
    release = topology.supervisor.instances_of("bot")[0].release
    return topology.run_dir / "config" / release / "strategy.yaml"


@pytest.fixture
def bot_pids(topology: Stack) -> dict[str, int]:
    return {b.name: b.proc.pid for b in topology.supervisor.instances_of("bot")}


@when(parsers.parse("the strategy's order quantity is changed to {quantity:d}"))
def change_quantity(topology: Stack, bot_pids: dict[str, int], quantity: int) -> None:
    path = strategy_file(topology)
    write_whole(path, path.read_text().replace("quantity: 1\n", f"quantity: {quantity}\n"))


@then(parsers.parse("every bot trades {quantity:d} contracts per order without having restarted"))
def quantity_applied(topology: Stack, bot_pids: dict[str, int], quantity: int) -> None:
    until(
        lambda: all(topology.bot_status(b).get("quantity") == quantity for b in topology.bots()),
        20,
        f"every bot on quantity {quantity}",
    )
    now = {b.name: b.proc.pid for b in topology.supervisor.instances_of("bot")}
    assert now == bot_pids, "a bot restarted to apply its configuration"


@then(parsers.parse("a new signal is ordered with a quantity of {quantity:d}"))
def ordered_quantity(topology: Stack, quantity: int) -> None:
    sent = topology.send(1, rate_per_s=1)
    assert not topology.orders_for(sent, 0).missing
    assert topology.orders_by_ref()[sent[0].id][0]["quantity"] == quantity


@when("an invalid strategy is written over it")
def invalid_strategy(topology: Stack) -> None:
    write_whole(strategy_file(topology), "limits: [this is not a strategy\n")


@then(parsers.parse("every bot still trades {quantity:d} contracts per order"))
def quantity_kept(topology: Stack, quantity: int) -> None:
    time.sleep(2)  # give the watchers time to see the bad file and refuse it
    assert all(topology.bot_status(b).get("quantity") == quantity for b in topology.bots())


@then("the operators get an email saying the strategy was rejected")
def rejected_email(topology: Stack) -> None:
    until(
        lambda: any("Strategy config rejected" in e for e in topology.emails()),
        15,
        "a strategy-rejected email",
    )
    write_whole(
        strategy_file(topology),
        release_strategy(topology.supervisor.instances_of("bot")[0].release),
    )


# -- secret rotation ---------------------------------------------------------------------------
@when(
    parsers.parse(
        "the IBKR credential is rotated in Key Vault while signals stream at {rate:d} per second"
    )
)
def rotate_credential(topology: Stack, stream: Stream, bot_pids: dict[str, int], rate: int) -> None:
    leader = topology.leader()
    new = secrets.token_urlsafe(16)
    stream.details.update(leader=leader, old=topology.local.credentials.ibkr_credential, new=new)

    def rotate() -> None:
        time.sleep(2)
        topology.vault_admin("/secrets/ibkr-credential/rotate", {"value": new})
        httpx.post(f"{topology.gateway_admin}/credential", json={"credential": new}, timeout=5)
        until(
            lambda: topology.metric(leader, "spy_bot_credential_rotations_total") >= 1,
            30,
            "the leader to pick up the new credential",
        )
        time.sleep(2)

    _, stream.sent = topology.stream_while(rate, rotate)


@then("the leader reconnected to the gateway with the new credential without restarting")
def reconnected(topology: Stack, stream: Stream, bot_pids: dict[str, int]) -> None:
    leader = str(stream.details["leader"])
    assert topology.supervisor.instance(leader).proc.pid == bot_pids[leader], "the leader restarted"
    until(lambda: topology.bot_status(leader).get("broker_connected"), 30, "the gateway session")


@then("the gateway refuses a client presenting the old credential")
def old_credential_refused(topology: Stack, stream: Stream) -> None:
    def connect(credential: str) -> list[int]:
        """The IB error codes a client presenting `credential` got, raising if refused."""

        async def attempt() -> list[int]:
            ib, errors = IB(), []
            ib.errorEvent += lambda _req, code, *_rest: errors.append(code)
            ib.client.optCapab = credential
            port = topology.supervisor.instance("tws").ports["api"]
            try:
                await ib.connectAsync("127.0.0.1", port, clientId=990, timeout=5)
            except (ConnectionError, TimeoutError):
                errors.append(-1)  # refused
            finally:
                ib.disconnect()
            return errors

        return asyncio.run(attempt())

    # Refused for its credential (IB's error 321 at startApi), where the new one is admitted.
    refused = connect(str(stream.details["old"]))
    assert -1 in refused, f"the old credential was admitted: {refused}"
    assert 321 in refused, f"the old credential was refused, but not for itself: {refused}"
    admitted = connect(str(stream.details["new"]))
    assert -1 not in admitted, f"the new credential got {admitted}"


# -- outages -----------------------------------------------------------------------------------
@given("signals have been traded before the outage")
def traded_before(topology: Stack) -> None:
    assert not topology.orders_for(topology.send(10, rate_per_s=10), 0).missing


@pytest.fixture
def told_before() -> dict[str, int]:
    """How many emails and Telegram messages the operators had before the outage."""
    return {}


@when(parsers.parse("the VPN link is down for {seconds:d} seconds"))
def vpn_down(topology: Stack, stream: Stream, told_before: dict[str, int], seconds: int) -> None:
    told_before.update(email=len(topology.emails()), telegram=len(topology.telegram_messages()))
    stream.details["sessions"] = {
        bot: int(topology.bot_status(bot)["signalr_sessions"]) for bot in topology.bots()
    }
    supervisor = topology.supervisor
    start_outage(supervisor.api, supervisor.links)
    try:
        time.sleep(seconds)
    finally:
        end_outage(supervisor.api, supervisor.links)


@then(parsers.parse("every bot's SignalR session is back within {seconds:d} seconds"))
def signalr_back(topology: Stack, stream: Stream, seconds: int) -> None:
    before: dict[str, int] = stream.details["sessions"]

    def reopened() -> bool:
        # Connected on a session opened since the outage began, not one that looks alive only
        # because the bot has not noticed the outage yet.
        statuses = {bot: topology.bot_status(bot) for bot in before}
        return all(
            s.get("signalr_connected") and int(s["signalr_sessions"]) > before[bot]
            for bot, s in statuses.items()
        )

    until(reopened, seconds, "a new SignalR session on every bot")


@then("a signal sent after the outage gives exactly one order at the gateway")
def order_after_outage(topology: Stack) -> None:
    result = topology.orders_for(topology.send(1, rate_per_s=1), 0)
    assert not result.missing
    assert not result.duplicated


@then("the watchdog told the operators by email and Telegram that the link was lost, then back")
def watchdog_alerts(topology: Stack, told_before: dict[str, int]) -> None:
    def told() -> tuple[list[str], list[str]] | None:
        email = topology.emails()[told_before["email"] :]
        telegram = topology.telegram_messages()[told_before["telegram"] :]
        for messages in (email, telegram):
            lost = [i for i, m in enumerate(messages) if "VPN heartbeat lost" in m]
            back = [i for i, m in enumerate(messages) if "VPN heartbeat is back" in m]
            if not (lost and back and lost[0] < back[-1]):
                return None
        return email, telegram

    email, telegram = until(told, 60, "the watchdog's VPN alert and its recovery notice")
    for messages in (email, telegram):
        down = [title for m in messages if " is down" in (title := m.splitlines()[0])]
        assert not down, f"the watchdog reported edge components down: {down}"


@then("every record in the edge outboxes is in Table Storage exactly once")
def outbox_delivered(topology: Stack) -> None:
    def delivered() -> tuple[set[Record], list[Record]] | None:
        produced = topology.outbox_records()
        stored = topology.table_records({table for table, _, _ in produced})
        return (produced, stored) if produced and produced <= set(stored) else None

    _, stored = until(delivered, 90, "every outbox record in Table Storage")
    # Only the edge outboxes write these tables, each record under one key: a record stored
    # that no outbox holds, or one event stored under two partitions, is a double. The outboxes
    # are read again after the tables: the bots keep queueing (metric samples every minute), and
    # one queued and delivered between the two reads is in the tables but not in `produced`.
    unknown = set(stored) - topology.outbox_records()
    assert not unknown, f"{len(unknown)} stored records no outbox holds: {sorted(unknown)[:3]}"
    keys = Counter((table, row) for table, _, row in stored if table in ONE_KEY_PER_RECORD)
    twice = [key for key, count in keys.items() if count > 1]
    assert not twice, f"{len(twice)} records stored under two partitions: {twice[:3]}"


@when(
    parsers.parse(
        "Table Storage is stopped for {seconds:d} seconds"
        " while signals stream at {rate:d} per second"
    )
)
def storage_down(topology: Stack, stream: Stream, seconds: int, rate: int) -> None:
    backend = topology.supervisor.instance("backend").ports["http"]
    probes: list[tuple[int, int]] = []

    tables = ONE_KEY_PER_RECORD  # what the stream's signals add
    initially = len(topology.table_records(tables))

    def grown() -> list[Record] | None:
        stored = topology.table_records(tables)
        return stored if len(stored) > initially else None

    def outage() -> None:
        # What is stored before the stop must be there after it: the stream's first records
        # land first, so that the outage has something to lose.
        stream.details["stored_before"] = sorted(
            until(grown, 30, "the stream's first records in Table Storage before the outage")
        )
        topology.supervisor.stop("azurite")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            health = httpx.get(f"http://127.0.0.1:{backend}/health", timeout=5).status_code
            ready = httpx.get(f"http://127.0.0.1:{backend}/ready", timeout=5).status_code
            probes.append((health, ready))
            time.sleep(1)
        topology.supervisor.start("azurite")

    _, stream.sent = topology.stream_while(rate, outage)
    stream.details["probes"] = probes


@then("what Table Storage held before the outage is still there")
def stored_before_kept(topology: Stack, stream: Stream) -> None:
    before = {tuple(record) for record in stream.details["stored_before"]}
    now = set(topology.table_records({table for table, _, _ in before}))
    lost = before - now
    assert not lost, f"{len(lost)} of {len(before)} records stored before the outage are gone"


@then("the backend answered its liveness probe throughout and reported not ready during the outage")
def backend_probes(stream: Stream) -> None:
    probes = stream.details["probes"]
    assert isinstance(probes, list)
    assert all(health == 200 for health, _ in probes), f"liveness failed: {probes}"
    assert any(ready != 200 for _, ready in probes), (
        "readiness never noticed Table Storage was gone"
    )
