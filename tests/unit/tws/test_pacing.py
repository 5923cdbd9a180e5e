"""The 50 messages/s limit: refuse over it, disconnect when it is sustained."""

from __future__ import annotations

from fakes.tws.server import Pacing


def test_within_the_limit_everything_passes() -> None:
    pacing = Pacing(50)
    assert all(pacing.admit(i * 0.021) == "ok" for i in range(500))


def test_a_burst_is_refused_then_recovers() -> None:
    pacing = Pacing(50)
    verdicts = [pacing.admit(0.001 * i) for i in range(60)]
    assert verdicts.count("ok") == 50
    assert verdicts[50:] == ["refuse"] * 10
    assert pacing.admit(1.5) == "ok"


def test_sustained_excess_disconnects() -> None:
    pacing = Pacing(50)
    verdicts = [pacing.admit(i / 80) for i in range(200)]  # 80 messages/s for 2.5 s
    assert "refuse" in verdicts
    assert verdicts[-1] == "disconnect"
    assert verdicts.index("disconnect") > verdicts.index("refuse")
