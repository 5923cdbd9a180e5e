"""Holding the lease over time: acquire, renew, and stop trading before the TTL can run out.

A replica may trade only while `may_trade()` is true: it holds a token and the monotonic clock is
still short of (start of the last successful acquire/renew call + TTL - safety margin). The
deadline is measured from when the call was *sent*, so however slow Redis answers, the lease on
the server outlives this replica's permission to trade. Lost renewals (another holder, or Redis
unreachable past the deadline) end leadership at once.

Only an eligible replica leads: one that would see the signals it is to trade (the bot: its
SignalR session is open). An ineligible replica does not compete for the lease, and a leader
that becomes ineligible gives the lease back at once, so that a standby which does receive the
signals takes over (a successor that won the lease in a rolling update before it had subscribed
once missed a signal). If no replica is eligible (a VPN outage closes every session), no one
leads until a session opens again; what arrived meanwhile is reconciled by the next leader.

A replica that starts while the lease is held defers to the standbys already running: it does
not compete until one TTL after its start. A killed leader restarted in place would otherwise
race the standbys for its own expiring lease and, once in three, win it with a cold process
(the standbys have watched the leader's outcomes all along); alone, it still leads within the
TTL of its start. A replica that finds no lease (a fresh deployment) competes at once. It looks
at its first step, as it starts, not once it is first eligible: subscribing takes a restarted
bot about 1.7 s, long enough for its predecessor's lease to have expired by then.

A standby refused the lease asks again the moment the holder's lease runs out (the refusal says
how long it runs), not at its next poll: a restarted leader whose first look came after its
lease expired, and before a standby's poll, took the lease back (once in a full scenario run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from system.ports import Lease, LeaseHeld

log = logging.getLogger(__name__)
_AFTER_EXPIRY_S = 0.001  # Redis counts the TTL in ms: ask once it has surely run out


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    ttl_s: float
    renew_every_s: float
    acquire_every_s: float
    safety_s: float

    def __post_init__(self) -> None:
        if not 0 < self.renew_every_s < self.ttl_s - self.safety_s:
            raise ValueError("renewal must come sooner than the TTL minus the safety margin")


class Leadership:
    def __init__(
        self,
        lease: Lease,
        timing: LeaseTiming,
        on_gain: Callable[[int], None],
        on_loss: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
        eligible: Callable[[], bool] = lambda: True,
    ) -> None:
        self._lease = lease
        self._timing = timing
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._monotonic = monotonic
        self._eligible = eligible
        self._changed = asyncio.Event()
        self._started = monotonic()
        self._defer_until: float | None = None  # decided at the first step Redis answers
        self.token: int | None = None
        self.reachable = False  # the last lease call got an answer
        self._valid_until = 0.0

    def may_trade(self) -> bool:
        return self.token is not None and self._monotonic() < self._valid_until

    async def _call(self, sent: float, attempt: Callable[[], object]) -> object:
        """Run one Redis call bounded by the time left; errors count as 'no answer'."""
        left = max(self._valid_until - sent, self._timing.renew_every_s)
        try:
            answer: object = await asyncio.wait_for(attempt(), timeout=left)  # type: ignore[arg-type]
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("lease call failed: %s: %s", type(error).__name__, error)
            self.reachable = False
            return None
        self.reachable = True
        return answer

    def eligibility_changed(self) -> None:
        """Step now, not when the current pause ends: compete, or give the lease back."""
        self._changed.set()

    async def step(self) -> float:
        """One acquire or renew (or, for an ineligible replica, none, or a release); returns
        how long to wait before the next."""
        sent = self._monotonic()
        if self._defer_until is None:
            await self._judge_deferral(sent)
        if not self._eligible():
            if self.token is not None:
                await self._release("not eligible to lead")
            return self._timing.acquire_every_s
        if self.token is None:
            if self._defer_until is None or sent < self._defer_until:
                return self._timing.acquire_every_s
            token = await self._call(sent, self._lease.acquire)
            if isinstance(token, int):
                self.token = token
                self._valid_until = sent + self._timing.ttl_s - self._timing.safety_s
                log.info("leader with fencing token %d", token)
                self._on_gain(token)
                return self._timing.renew_every_s
            if isinstance(token, LeaseHeld):
                # Ask again the moment the holder's lease runs out, not up to a poll later: in
                # that gap a restarted replica that looked just then took a dead leader's lease
                # from the standbys (and a takeover waited half a poll on average).
                return min(self._timing.acquire_every_s, token.remaining_s + _AFTER_EXPIRY_S)
            return self._timing.acquire_every_s
        token = self.token
        renewed = await self._call(sent, lambda: self._lease.renew(token))
        if renewed is True:
            self._valid_until = sent + self._timing.ttl_s - self._timing.safety_s
        elif renewed is False or self._monotonic() >= self._valid_until:
            self._lose("lease taken over" if renewed is False else "lease renewal timed out")
            return self._timing.acquire_every_s
        return self._timing.renew_every_s

    async def _judge_deferral(self, sent: float) -> None:
        held = await self._call(sent, self._lease.held)
        if held is None:  # no answer: ask again at the next step
            return
        self._defer_until = self._started + self._timing.ttl_s if held else 0.0
        if held:
            log.info("the lease is held: deferring to the standbys for one TTL from start")

    def _lose(self, why: str) -> None:
        log.warning("leadership lost: %s", why)
        self.token = None
        self._valid_until = 0.0
        self._on_loss()

    async def run(self) -> None:
        while True:
            self._changed.clear()
            pause = await self.step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), pause)

    async def release(self) -> None:
        """Give the lease back (graceful shutdown), so a standby takes over at once."""
        await self._release("released")

    async def _release(self, why: str) -> None:
        token = self.token
        if token is None:
            return
        self._lose(why)
        try:
            await asyncio.wait_for(self._lease.release(token), timeout=self._timing.renew_every_s)
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("lease release failed (it will expire): %s", error)
