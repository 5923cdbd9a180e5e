"""The Redis lease and the leader board against a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from system.domain.orders import OrderStatus
from system.edge.board_redis import RedisBoard
from system.edge.lease_redis import RedisLease
from system.ports import Decision, LeaseHeld
from tests.integration.edge import rig

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    proc, port = rig.redis_server(tmp_path_factory.mktemp("redis"))
    yield port
    proc.stop()


@pytest.fixture
async def redis(redis_server: int) -> AsyncIterator[Redis]:
    client = Redis.from_url(f"redis://127.0.0.1:{redis_server}/0")
    await client.flushdb()
    yield client
    await client.aclose()


async def test_one_holder_at_a_time_with_growing_fencing_tokens(redis: Redis) -> None:
    first = RedisLease(redis, "lease", "bot-1", ttl_ms=300)
    second = RedisLease(redis, "lease", "bot-2", ttl_ms=300)
    assert not await second.held()
    token = await first.acquire()
    assert token == 1
    assert await second.held()
    refused = await second.acquire()
    assert isinstance(refused, LeaseHeld)
    assert 0.2 < refused.remaining_s <= 0.3  # how long the holder's lease still runs
    assert await first.renew(token)
    assert not await second.renew(token)  # a renewal needs the holder's own value
    await asyncio.sleep(0.4)  # the holder died: its lease expires
    assert not await second.held()
    taken = await second.acquire()
    assert taken == 2
    assert not await first.renew(token)  # the deposed holder learns it at its next renewal
    await first.release(token)  # and cannot release someone else's lease
    assert await second.renew(taken)
    await second.release(taken)
    assert await first.acquire() == 3


async def test_the_board_takes_only_the_current_leaders_first_decision(redis: Redis) -> None:
    lease = RedisLease(redis, "lease", "bot-1", ttl_ms=5000)
    board = RedisBoard(redis, lease, "edge")
    token = await lease.acquire()
    assert isinstance(token, int)
    rejected = Decision(OrderStatus.REJECTED, "order rate limit reached", "bot-1")
    assert await board.publish("sig-a", rejected, token)
    assert not await board.publish("sig-b", rejected, token + 1)  # a stale or foreign token
    await board.publish("sig-a", Decision(OrderStatus.FILLED, "", "bot-1"), token)  # first wins
    assert await board.decisions(["sig-a", "sig-b"]) == {"sig-a": rejected}
    assert await board.halted() is None
    await board.set_halted("halted via Telegram")
    assert await board.halted() == "halted via Telegram"
    await board.set_halted(None)
    assert await board.halted() is None
