"""python-telegram-bot 22 against the fake: alerts recorded, commands delivered, errors, faults."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.integration.notify.support import TOKEN, Fake

OPERATOR = 4242  # a user's private chat with the bot has the user's id


def base_url(fake: Fake) -> str:
    return f"{fake.url}/bot"


@pytest.fixture
async def bot(telegram: Fake) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=base_url(telegram)) as bot:
        yield bot


def say(fake: Fake, text: str, chat_id: int = OPERATOR) -> int:
    """The operator sends `text` to the bot; returns the update's id."""
    update_id: int = fake.admin("POST", "/updates", json={"chat_id": chat_id, "text": text}).json()[
        "update_id"
    ]
    return update_id


async def test_the_bot_knows_itself(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "spyh_123456_bot")


async def test_a_sent_alert_is_recorded(telegram: Fake, bot: Bot) -> None:
    sent = await bot.send_message(
        OPERATOR, r"*Halted* at 14:02\.", parse_mode=ParseMode.MARKDOWN_V2
    )
    assert (sent.chat.id, sent.text, sent.from_user and sent.from_user.id) == (
        OPERATOR,
        r"*Halted* at 14:02\.",
        123456,
    )
    [recorded] = telegram.messages()
    assert recorded["chat_id"] == OPERATOR
    assert recorded["parse_mode"] == "MarkdownV2"
    assert recorded["message"]["message_id"] == sent.message_id


async def test_json_and_query_parameters_work_like_form_bodies(telegram: Fake) -> None:
    url = f"{base_url(telegram)}{TOKEN}/sendMessage"
    async with httpx.AsyncClient() as http:
        as_json = (await http.post(url, json={"chat_id": OPERATOR, "text": "json body"})).json()
        as_query = (await http.get(url, params={"chat_id": "@spyh_alerts", "text": "q"})).json()
    assert as_json["ok"]
    assert as_json["result"]["text"] == "json body"
    assert as_query["result"]["chat"]["type"] == "channel"
    assert [m["text"] for m in telegram.messages()] == ["json body", "q"]


async def test_an_inline_keyboard_is_echoed_back(bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Resume", callback_data="resume")]])
    sent = await bot.send_message(OPERATOR, "Halted", reply_markup=keyboard)
    assert sent.reply_markup == keyboard


@pytest.mark.parametrize(
    ("text", "error"),
    [("", "Message text is empty"), ("x" * 4097, "Message is too long")],
)
async def test_bad_messages_are_refused_in_telegrams_words(bot: Bot, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        await bot.send_message(OPERATOR, text)


async def test_a_wrong_token_is_unauthorized(telegram: Fake) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("123456:wrong", base_url=base_url(telegram)):
            pass


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "description"),
    [
        ("sendMessage", {"content": b"{", "headers": {"Content-Type": "application/json"}},
         400, "Bad Request: can't parse JSON object"),
        ("sendMessage", {"content": b"chat_id=1", "headers": {"Content-Type": "text/plain"}},
         400, "Bad Request: chat_id is empty"),
        ("sendMessage", {"content": bytes(50 * 1024 * 1024 + 1),
                         "headers": {"Content-Type": "application/json"}},
         413, "Request Entity Too Large"),
        ("noSuchMethod", {}, 404, "Not Found"),
    ],
    ids=["malformed-json", "wrong-content-type", "oversize", "unknown-method"],
)  # fmt: skip
async def test_bad_input_is_answered_in_telegrams_shape_and_others_are_served(
    telegram: Fake, bot: Bot, path: str, kwargs: dict[str, object], status: int, description: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{base_url(telegram)}{TOKEN}/{path}", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}
    assert (await bot.send_message(OPERATOR, "still here")).text == "still here"


async def test_flood_control_reaches_the_bot_as_retry_after(
    telegram: Fake, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB's coming retry_after type
    telegram.admin("POST", "/faults/reject", json={"status": 429, "retry_after": 5})
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(OPERATOR, "alert")
    assert raised.value.retry_after == timedelta(seconds=5)
    assert (await bot.send_message(OPERATOR, "alert")).text == "alert"


@pytest.mark.parametrize(
    ("status", "description", "error", "seen_as"),
    [
        (403, "Forbidden: bot was blocked by the user", Forbidden, "bot was blocked by the user"),
        (400, "Bad Request: chat not found", BadRequest, "Chat not found"),
    ],
)
async def test_injected_telegram_errors_reach_the_bot(
    telegram: Fake, bot: Bot, status: int, description: str, error: type[Exception], seen_as: str
) -> None:
    telegram.admin("POST", "/faults/reject", json={"status": status, "message": description})
    with pytest.raises(error, match=seen_as):
        await bot.send_message(OPERATOR, "alert")
    assert telegram.messages() == []


async def test_a_long_poll_returns_the_command_a_user_sends(telegram: Fake, bot: Bot) -> None:
    polling = asyncio.create_task(bot.get_updates(timeout=20, read_timeout=30))
    await asyncio.sleep(0.2)
    update_id = say(telegram, "/status")
    [update] = await asyncio.wait_for(polling, 30)
    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "/status"
    assert update.message.chat.id == OPERATOR
    # Confirmed by the next offset, it is not delivered again.
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_unconfirmed_updates_are_delivered_again(telegram: Fake, bot: Bot) -> None:
    first, second = say(telegram, "/halt"), say(telegram, "/resume")
    updates = await bot.get_updates(offset=first, timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=second, timeout=0)] == [second]
    await bot.get_updates(offset=second + 1, timeout=0)


async def test_a_second_poller_makes_the_first_fail_with_conflict(telegram: Fake) -> None:
    async with (
        Bot(TOKEN, base_url=base_url(telegram)) as replica_a,
        Bot(TOKEN, base_url=base_url(telegram)) as replica_b,
    ):
        first = asyncio.create_task(replica_a.get_updates(timeout=20, read_timeout=30))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(replica_b.get_updates(timeout=1, read_timeout=30))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 30)
        assert await asyncio.wait_for(second, 30) == ()


async def test_an_application_answers_an_injected_command(telegram: Fake) -> None:
    asked: asyncio.Queue[str] = asyncio.Queue()

    async def status(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await asked.put(update.message.text or "")
        await update.message.reply_text("1 position, risk OK")

    app = Application.builder().token(TOKEN).base_url(base_url(telegram)).build()
    app.add_handler(CommandHandler("status", status))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        say(telegram, "/status")
        assert await asyncio.wait_for(asked.get(), 30) == "/status"
        await app.updater.stop()
        await app.stop()
    [reply] = telegram.messages()
    assert (reply["chat_id"], reply["text"]) == (OPERATOR, "1 position, risk OK")
