"""Leadership among edge replicas: a Redis key set with NX PX, carrying a fencing token.

The token comes from a counter incremented on every acquisition, so it grows with every new
leader. Renewal and release are compare-and-set scripts: a replica can only extend or delete
the lease while the key still holds its own holder:token value.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from system.ports import LeaseHeld

_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'KEEPTTL')
  return token
end
return {redis.call('PTTL', KEYS[1])}
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    """The `Lease` port. `key` holds "<holder>:<token>"; `key`:fencing counts acquisitions."""

    def __init__(self, redis: Redis, key: str, holder: str, ttl_ms: int) -> None:
        if ":" in holder:
            raise ValueError(f"holder {holder!r} must not contain ':'")
        self.redis = redis
        self.key = key
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def fence(self, token: int) -> str:
        """The lease value while this replica holds `token`: what fenced writes compare."""
        return f"{self.holder}:{token}"

    async def acquire(self) -> int | LeaseHeld:
        answer: Any = await self._acquire(
            keys=[self.key, f"{self.key}:fencing"], args=[self.holder, self.ttl_ms]
        )
        if isinstance(answer, list):  # refused: the holder's time left, in ms
            return LeaseHeld(max(0, int(answer[0])) / 1000)
        return int(answer)

    async def held(self) -> bool:
        return bool(await self.redis.exists(self.key))

    async def renew(self, token: int) -> bool:
        renewed: Any = await self._renew(keys=[self.key], args=[self.fence(token), self.ttl_ms])
        return bool(renewed)

    async def release(self, token: int) -> None:
        await self._release(keys=[self.key], args=[self.fence(token)])
