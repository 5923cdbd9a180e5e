import asyncio
from pathlib import Path
from unittest.mock import AsyncMock, Mock

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from system.edge.alerting import AlertGate, Digest, FanOut
from system.edge.held_alerts import HeldAlerts
from system.edge.leadership import Leadership, LeaseTiming
from system.edge.sqlite import connect
from system.ports import Alert, LeaseHeld, Severity

TIMING = LeaseTiming(ttl_s=3.0, renew_every_s=1.0, acquire_every_s=0.2, safety_s=0.5)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def free_lease() -> AsyncMock:
    """A lease no replica holds when the first one asks."""
    lease = AsyncMock()
    lease.held.return_value = False
    return lease


def leadership(lease: Mock, clock: Clock) -> tuple[Leadership, Mock, Mock]:
    gained, lost = Mock(), Mock()
    return Leadership(lease, TIMING, gained, lost, monotonic=clock), gained, lost


class TestLeadership:
    async def test_acquiring_grants_trading_until_ttl_minus_safety(self) -> None:
        clock = Clock()
        lease = free_lease()
        lease.acquire.return_value = 7
        lead, gained, _ = leadership(lease, clock)
        assert not lead.may_trade()
        assert await lead.step() == TIMING.renew_every_s
        gained.assert_called_once_with(7)
        assert lead.may_trade()
        clock.t += 2.49
        assert lead.may_trade()
        clock.t += 0.02  # 2.51 s after the acquire was sent: TTL 3 s minus 0.5 s of safety
        assert not lead.may_trade()

    async def test_a_refused_renewal_ends_leadership_at_once(self) -> None:
        clock = Clock()
        lease = free_lease()
        lease.acquire.return_value = 7
        lease.renew.return_value = False
        lead, _, lost = leadership(lease, clock)
        await lead.step()
        assert await lead.step() == TIMING.acquire_every_s
        lost.assert_called_once()
        assert lead.token is None
        assert not lead.may_trade()

    async def test_an_unreachable_redis_ends_trading_before_the_lease_expires(self) -> None:
        clock = Clock()
        lease = free_lease()
        lease.acquire.return_value = 7
        lease.renew.side_effect = RedisConnectionError("down")
        lead, _, lost = leadership(lease, clock)
        await lead.step()
        clock.t += 1.0
        await lead.step()  # failed, but the deadline has not passed: still leading
        assert lead.may_trade()
        lost.assert_not_called()
        clock.t += 1.6
        assert not lead.may_trade()  # the deadline passes even before the next step runs
        await lead.step()
        lost.assert_called_once()

    async def test_renewal_extends_from_when_it_was_sent(self) -> None:
        clock = Clock()
        lease = free_lease()
        lease.acquire.return_value = 7
        lease.renew.return_value = True
        lead, _, _ = leadership(lease, clock)
        await lead.step()
        clock.t += 2.0
        await lead.step()
        clock.t += 2.4
        assert lead.may_trade()

    async def test_release_gives_the_lease_back(self) -> None:
        lease = free_lease()
        lease.acquire.return_value = 3
        lead, _, lost = leadership(lease, Clock())
        await lead.step()
        await lead.release()
        lease.release.assert_awaited_once_with(3)
        lost.assert_called_once()

    async def test_a_replica_without_its_signals_neither_competes_nor_holds(self) -> None:
        subscribed = False
        lease = free_lease()
        lease.acquire.return_value = 4
        lease.renew.return_value = True
        gained, lost = Mock(), Mock()
        lead = Leadership(
            lease, TIMING, gained, lost, monotonic=Clock(), eligible=lambda: subscribed
        )
        assert await lead.step() == TIMING.acquire_every_s
        lease.acquire.assert_not_awaited()  # not subscribed yet: leaves the lease to others
        subscribed = True
        await lead.step()
        gained.assert_called_once_with(4)
        subscribed = False  # its SignalR session closed: the lease goes back at once
        assert await lead.step() == TIMING.acquire_every_s
        lease.renew.assert_not_awaited()
        lease.release.assert_awaited_once_with(4)
        lost.assert_called_once()
        assert (lead.token, lead.may_trade()) == (None, False)
        await lead.step()
        lease.acquire.assert_awaited_once()

    async def test_a_change_of_eligibility_is_acted_on_without_waiting(self) -> None:
        subscribed = False
        lease = free_lease()
        lease.acquire.return_value = 5
        gained = asyncio.Event()
        slow = LeaseTiming(ttl_s=7200, renew_every_s=3600, acquire_every_s=3600, safety_s=1)
        lead = Leadership(lease, slow, lambda _t: gained.set(), Mock(), eligible=lambda: subscribed)
        running = asyncio.get_running_loop().create_task(lead.run())
        try:
            await asyncio.sleep(0.01)  # the first step found it ineligible: an hour to the next
            subscribed = True
            lead.eligibility_changed()
            await asyncio.wait_for(gained.wait(), 30)
        finally:
            running.cancel()
        assert lead.token == 5

    async def test_a_standby_asks_again_the_moment_the_holders_lease_runs_out(self) -> None:
        lease = free_lease()
        lease.acquire.side_effect = [LeaseHeld(0.05), LeaseHeld(2.5), 6]
        lead, gained, _ = leadership(lease, Clock())
        assert await lead.step() == pytest.approx(0.051)  # not a whole poll (0.2 s) later
        assert await lead.step() == TIMING.acquire_every_s  # far off: polls meanwhile
        assert await lead.step() == TIMING.renew_every_s
        gained.assert_called_once_with(6)

    async def test_a_replica_started_while_the_lease_is_held_defers_for_one_ttl(self) -> None:
        clock = Clock()
        lease = AsyncMock()
        lease.held.return_value = True  # its killed predecessor's, or a leader's
        lease.acquire.return_value = 9
        subscribed = False
        lead = Leadership(lease, TIMING, gained := Mock(), Mock(), clock, lambda: subscribed)
        await lead.step()  # as it starts, at t = 100: held, by its killed predecessor
        lease.held.return_value = False  # which has expired by the time it has subscribed
        clock.t += 1.7
        subscribed = True
        assert await lead.step() == TIMING.acquire_every_s
        clock.t += 1.29
        await lead.step()
        lease.acquire.assert_not_awaited()  # the standbys get the expired lease first
        clock.t += 0.01  # one TTL from its start: alone, it leads
        await lead.step()
        gained.assert_called_once_with(9)
        lease.held.assert_awaited_once()

    async def test_a_replica_that_cannot_tell_whether_the_lease_is_held_asks_again(
        self,
    ) -> None:
        lease = free_lease()
        lease.held.side_effect = [RedisConnectionError("down"), False]
        lease.acquire.return_value = 2
        lead, gained, _ = leadership(lease, Clock())
        await lead.step()
        lease.acquire.assert_not_awaited()
        await lead.step()
        gained.assert_called_once_with(2)

    def test_renewal_must_beat_the_deadline(self) -> None:
        with pytest.raises(ValueError, match="renewal must come sooner"):
            LeaseTiming(ttl_s=1.0, renew_every_s=0.9, acquire_every_s=0.1, safety_s=0.2)


def alert(key: str = "vpn") -> Alert:
    return Alert(key, Severity.CRITICAL, "VPN heartbeat lost", "no answer for 90 s")


class TestAlertGate:
    async def test_repeats_are_suppressed_then_resolved_once(self) -> None:
        notifier = AsyncMock()
        clock = Clock()
        gate = AlertGate(notifier, remind_after_s=600, monotonic=clock)
        assert await gate.raise_(alert())
        assert not await gate.raise_(alert())
        assert await gate.raise_(alert("redis"))
        clock.t += 30
        assert await gate.resolve("vpn", "VPN heartbeat is back")
        assert not await gate.resolve("vpn", "VPN heartbeat is back")
        sent = [call.args[0] for call in notifier.notify.await_args_list]
        assert [(a.key, a.title) for a in sent] == [
            ("vpn", "VPN heartbeat lost"),
            ("redis", "VPN heartbeat lost"),
            ("vpn", "Resolved: VPN heartbeat is back"),
        ]
        assert sent[-1].severity is Severity.INFO
        assert "open 30 s" in sent[-1].body

    async def test_a_long_incident_is_reminded(self) -> None:
        notifier = AsyncMock()
        clock = Clock()
        gate = AlertGate(notifier, remind_after_s=600, monotonic=clock)
        await gate.raise_(alert())
        clock.t += 601
        assert await gate.raise_(alert())
        assert notifier.notify.await_args_list[-1].args[0].title == "Still: VPN heartbeat lost"

    async def test_a_failing_channel_does_not_raise(self) -> None:
        notifier = AsyncMock()
        notifier.notify.side_effect = OSError("smtp down")
        gate = AlertGate(notifier)
        assert await gate.raise_(alert())

    async def test_fan_out_reaches_every_channel_even_if_one_fails(self) -> None:
        broken, working = AsyncMock(), AsyncMock()
        broken.notify.side_effect = OSError("down")
        await FanOut([broken, working]).notify(alert())
        working.notify.assert_awaited_once()


def held(path: Path) -> HeldAlerts:
    return HeldAlerts(connect(path / "ledger.sqlite"))


class TestDigest:
    async def test_held_alerts_go_out_as_one_message_at_flush(self, tmp_path: Path) -> None:
        notifier = AsyncMock()
        digest = Digest(notifier, interval_s=60, title="Fills", held=held(tmp_path))
        await digest.notify(Alert("fill:a", Severity.INFO, "Filled: BUY 1 A", "1 @ 2.55"))
        await digest.notify(Alert("fill:b", Severity.WARNING, "Filled: SELL 2 B", "2 @ 1.10"))
        notifier.notify.assert_not_awaited()
        await digest.flush()
        [sent] = [call.args[0] for call in notifier.notify.await_args_list]
        assert (sent.key, sent.severity, sent.title) == ("fill:a+1", Severity.WARNING, "Fills: 2")
        assert sent.body == "Filled: BUY 1 A\n1 @ 2.55\n\nFilled: SELL 2 B\n2 @ 1.10"
        await digest.flush()  # nothing held: nothing sent
        assert notifier.notify.await_count == 1

    async def test_a_single_alert_goes_out_as_it_is_and_a_repeated_key_once(
        self, tmp_path: Path
    ) -> None:
        notifier = AsyncMock()
        digest = Digest(notifier, interval_s=60, title="Fills", held=held(tmp_path))
        await digest.notify(alert())
        await digest.notify(alert())
        await digest.flush()
        notifier.notify.assert_awaited_once_with(alert())

    async def test_a_digest_that_could_not_be_sent_goes_out_with_the_next(
        self, tmp_path: Path
    ) -> None:
        notifier = AsyncMock()
        notifier.notify.side_effect = [OSError("down"), None]
        digest = Digest(notifier, interval_s=60, title="Fills", held=held(tmp_path))
        await digest.notify(alert("first"))
        await digest.flush()
        await digest.notify(alert("second"))
        await digest.flush()
        await digest.flush()
        assert [c.args[0].key for c in notifier.notify.await_args_list] == ["first", "first+1"]

    async def test_alerts_held_during_a_send_wait_for_the_next(self, tmp_path: Path) -> None:
        sent: list[str] = []

        async def send(message: Alert) -> None:
            sent.append(message.key)
            await digest.notify(alert("late"))

        digest = Digest(AsyncMock(notify=send), interval_s=60, title="Fills", held=held(tmp_path))
        await digest.notify(alert("early"))
        await digest.flush()
        await digest.flush()
        assert sent == ["early", "late"]

    async def test_what_a_killed_replica_held_goes_out_when_it_starts_again(
        self, tmp_path: Path
    ) -> None:
        before = Digest(AsyncMock(), interval_s=60, title="Fills", held=held(tmp_path))
        await before.notify(alert("held"))  # ... and the process dies before its next digest
        notifier = AsyncMock()
        after = Digest(notifier, interval_s=60, title="Fills", held=held(tmp_path))
        running = asyncio.create_task(after.run())
        await asyncio.sleep(0.05)  # well before its first interval ends
        running.cancel()
        notifier.notify.assert_awaited_once_with(alert("held"))

    async def test_a_backlog_goes_out_as_several_capped_messages_oldest_first(
        self, tmp_path: Path
    ) -> None:
        notifier = AsyncMock()
        notifier.notify.side_effect = [None, OSError("down"), None, None]
        digest = Digest(notifier, 60, "Fills", held(tmp_path), max_per_message=2)
        for name in "abcde":
            await digest.notify(alert(name))
        await digest.flush()  # "a+1" sent, then "c+1" refused: c, d and e stay held
        await digest.flush()
        assert [c.args[0].key for c in notifier.notify.await_args_list] == [
            "a+1",
            "c+1",
            "c+1",
            "e",
        ]
