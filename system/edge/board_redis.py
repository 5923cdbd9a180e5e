"""The leader board in Redis (the `LeaderBoard` port): outcomes the leader decided, and the halt.

Orders need no board entry to be found again (the gateway holds them, by orderRef), but a
signal closed without an order (rejected by risk, expired, unknown contract) leaves no trace
there: without the board, a new leader would decide it a second time. Standbys also mirror every
outcome from here, so each replica's ledger ends with one outcome per signal it saw.

A decision lands only while the lease still holds the writer's holder:token value, so a deposed
leader's late write is dropped; the first decision for a signal wins. Entries expire after two
days: the board has to outlive signals, not keep history (Table Storage does).
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from system.domain.orders import OrderStatus
from system.edge.lease_redis import RedisLease
from system.ports import Decision

_PUBLISH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3])
  return 1
end
return 0
"""


class RedisBoard:
    def __init__(self, redis: Redis, lease: RedisLease, prefix: str, ttl_s: int = 172_800) -> None:
        self._redis = redis
        self._lease = lease
        self._decisions = f"{prefix}:decision:"
        self._halt = f"{prefix}:halted"
        self._ttl_s = ttl_s
        self._publish = redis.register_script(_PUBLISH)

    async def publish(self, signal_id: str, decision: Decision, token: int) -> bool:
        body = json.dumps(
            {
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "by": decision.decided_by,
            }
        )
        written: Any = await self._publish(
            keys=[self._lease.key, self._decisions + signal_id],
            args=[self._lease.fence(token), body, self._ttl_s],
        )
        return bool(written)

    async def decisions(self, signal_ids: list[str]) -> dict[str, Decision]:
        if not signal_ids:
            return {}
        values: list[Any] = await self._redis.mget([self._decisions + i for i in signal_ids])
        found: dict[str, Decision] = {}
        for signal_id, value in zip(signal_ids, values, strict=True):
            if value is not None:
                body = json.loads(value)
                found[signal_id] = Decision(
                    OrderStatus(body["outcome"]), body["reason"], body["by"]
                )
        return found

    async def halted(self) -> str | None:
        value: Any = await self._redis.get(self._halt)
        return None if value is None else value.decode() if isinstance(value, bytes) else value

    async def set_halted(self, reason: str | None) -> None:
        if reason is None:
            await self._redis.delete(self._halt)
        else:
            await self._redis.set(self._halt, reason)
