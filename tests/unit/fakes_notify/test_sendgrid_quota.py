"""SendGrid's daily credits: one per recipient, an overrunning send uses none, reset daily (UTC)."""

from datetime import UTC, datetime

from fakes.sendgrid.quota import DailyQuota


class Clock:
    def __init__(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def test_credits_run_out_and_an_overrunning_send_uses_none() -> None:
    quota = DailyQuota(3, Clock("2026-11-24T10:00:00"))
    assert quota.take(2)
    assert not quota.take(2)
    assert quota.used == 2
    assert quota.take(1)
    assert not quota.take(1)


def test_credits_come_back_at_utc_midnight() -> None:
    clock = Clock("2026-11-24T23:59:59")
    quota = DailyQuota(1, clock)
    assert quota.take(1)
    assert not quota.take(1)
    clock.now += 1
    assert quota.take(1)
