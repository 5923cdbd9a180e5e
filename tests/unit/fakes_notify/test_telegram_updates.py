"""getUpdates semantics: offsets confirm, long polls wake on a new update, a newer poll wins."""

import asyncio

import pytest

from fakes.telegram.updates import Conflict, UpdateQueue, command_entities


async def queue_with(count: int) -> UpdateQueue:
    queue = UpdateQueue()
    for i in range(count):
        await queue.push({"message": {"text": f"m{i}"}})
    return queue


def ids(updates: list[dict[str, object]]) -> list[object]:
    return [u["update_id"] for u in updates]


async def test_updates_stay_until_an_offset_confirms_them() -> None:
    queue = await queue_with(3)
    assert ids(await queue.poll(offset=0, limit=100, timeout_s=0)) == [1, 2, 3]
    assert ids(await queue.poll(offset=0, limit=100, timeout_s=0)) == [1, 2, 3]
    assert ids(await queue.poll(offset=3, limit=100, timeout_s=0)) == [3]
    assert ids(await queue.poll(offset=4, limit=100, timeout_s=0)) == []


async def test_limit_caps_what_one_poll_returns() -> None:
    queue = await queue_with(3)
    assert ids(await queue.poll(offset=0, limit=2, timeout_s=0)) == [1, 2]


async def test_a_negative_offset_keeps_only_the_last_updates() -> None:
    queue = await queue_with(5)
    assert ids(await queue.poll(offset=-2, limit=100, timeout_s=0)) == [4, 5]
    assert ids(await queue.poll(offset=0, limit=100, timeout_s=0)) == [4, 5]


async def test_a_long_poll_returns_as_soon_as_an_update_arrives() -> None:
    queue = UpdateQueue()
    waiting = asyncio.create_task(queue.poll(offset=0, limit=100, timeout_s=50))
    await asyncio.sleep(0)
    assert not waiting.done()
    await queue.push({"message": {"text": "/status"}})
    assert ids(await asyncio.wait_for(waiting, 5)) == [1]


async def test_a_newer_poll_ends_the_waiting_one_with_conflict() -> None:
    queue = UpdateQueue()
    first = asyncio.create_task(queue.poll(offset=0, limit=100, timeout_s=50))
    await asyncio.sleep(0)
    second = asyncio.create_task(queue.poll(offset=0, limit=100, timeout_s=50))
    with pytest.raises(Conflict):
        await asyncio.wait_for(first, 5)
    await queue.push({"message": {"text": "/halt"}})
    assert ids(await asyncio.wait_for(second, 5)) == [1]


async def test_dropping_pending_updates_empties_the_queue() -> None:
    queue = await queue_with(2)
    queue.drop_pending()
    assert queue.pending == 0
    await queue.push({})
    assert ids(await queue.poll(offset=0, limit=100, timeout_s=0)) == [3]


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("/status", [(0, 7)]),
        ("/positions@spyh_1_bot now", [(0, 21)]),
        ("please /halt and /resume", [(7, 5), (17, 7)]),
        ("📈 /status", [(3, 7)]),  # offsets count UTF-16 units, as Telegram's do
        ("a/b is not a command", []),
    ],
)
def test_bot_commands_are_marked_as_telegram_marks_them(
    text: str, entities: list[tuple[int, int]]
) -> None:
    assert command_entities(text) == [
        {"type": "bot_command", "offset": offset, "length": length} for offset, length in entities
    ]
