"""Mentions, DMs and follow-ups in threads: MESSAGE_CREATE payloads in, REST requests out."""

from __future__ import annotations

from typing import Any

import pytest

from qabot import bot as qabot_bot
from qabot.config import Settings
from tests.test_bot_discord import (
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    DM_CHANNEL_ID,
    QUESTION,
    FakeDiscord,
    Harness,
    Sent,
    assert_safe,
    buttons,
    drive,
)

MENTION = f"<@{BOT_ID}>"


@pytest.fixture
def bot_settings(seed_settings: Settings) -> Settings:
    return seed_settings


def posts(fake: FakeDiscord) -> list[Sent]:
    return fake.channel_messages()


def test_a_mention_is_answered_in_its_channel_as_a_reply(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []

    async def scenario(h: Harness) -> None:
        asked.append(h.post(f"{MENTION} {QUESTION}", mention_bot=True))
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    typing = [s for s in fake.sent if s.path.endswith("/typing")]
    assert typing and fake.sent.index(typing[0]) < fake.sent.index(posts(fake)[0])  # typing while working
    [reply] = posts(fake)
    assert reply.params["channel_id"] == CHANNEL_ID
    assert reply.json["message_reference"]["message_id"] == asked[0]
    assert reply.json["message_reference"]["fail_if_not_exists"] is False
    assert reply.json["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert_safe(reply)
    assert reply.json["embeds"][0]["title"] == QUESTION
    assert reply.json["embeds"][0]["description"].startswith("**[1]**\n> ")
    assert list(buttons(reply)) == ["More quotes", "Show context", "👍", "👎"]


def test_a_direct_message_gets_the_same_answer(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(h: Harness) -> None:
        h.post(QUESTION, guild=False, channel=DM_CHANNEL_ID)
        await h.settle()
        h.post(f"{MENTION} {QUESTION}", mention_bot=True, user=100000000000000005)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    dm, mention = posts(fake)
    assert dm.params["channel_id"] == DM_CHANNEL_ID
    assert_safe(dm)
    assert dm.json["embeds"] == mention.json["embeds"]


@pytest.mark.parametrize(
    "author",
    [None, {**BOT_USER, "id": "900000000000000099", "username": "otherbot"}, BOT_USER],
    ids=["not-addressed", "another-bot", "itself"],
)
def test_messages_not_for_the_bot_are_ignored(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, author: dict[str, Any] | None
) -> None:
    async def scenario(h: Harness) -> None:
        mention = author is not None
        h.post(f"{MENTION} {QUESTION}" if mention else "", mention_bot=mention, author=author)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    assert posts(fake) == []


def test_an_empty_mention_is_told_what_to_do(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(h: Harness) -> None:
        h.post(f"{MENTION}  \u200b", mention_bot=True)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    [reply] = posts(fake)
    assert reply.json["content"] == "the question is empty: ask something about the documents"
    assert reply.json["allowed_mentions"]["parse"] == []


def test_a_follow_up_in_the_thread_under_an_answer_is_answered_there(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    follow_up = "When was it established?"

    async def scenario(h: Harness) -> None:
        h.command("ask", question=QUESTION)
        await h.settle()
        answer = h.fake.by("webhook")[-1].response
        thread = int(answer["id"])  # a thread started from a message shares its id
        assert h.bot.conversations.get(thread) == (QUESTION,)
        h.post("", channel=thread)  # without the message content intent Discord sends no text
        await h.settle()
        assert posts(h.fake) == []
        h.post(f"{MENTION} {follow_up}", channel=thread, mention_bot=True)
        await h.settle()
        assert h.bot.conversations.get(thread) == (QUESTION, follow_up)
        h.post("And who commands it?", channel=thread)  # text arrives when the intent is enabled
        await h.settle()
        assert h.bot.conversations.get(thread) == (QUESTION, follow_up, "And who commands it?")

    fake = drive(bot_settings, scenario, monkeypatch)
    first, second = posts(fake)
    assert first.params["channel_id"] == second.params["channel_id"] != CHANNEL_ID
    assert first.json["embeds"][0]["title"] == follow_up
    for reply in (first, second):
        assert_safe(reply)


def test_a_reply_to_an_answer_continues_its_conversation(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(h: Harness) -> None:
        h.post(f"{MENTION} {QUESTION}", mention_bot=True)
        await h.settle()
        [answer] = posts(h.fake)
        answer_id = int(answer.response["id"])
        assert h.bot.conversations.get(answer_id) == (QUESTION,)
        h.post("Who built it?", mention_bot=True, reference=answer_id)  # a reply pings the bot
        await h.settle()
        [_, reply] = posts(h.fake)
        assert reply.json["embeds"][0]["title"] == "Who built it?"
        assert h.bot.conversations.get(int(reply.response["id"])) == (QUESTION, "Who built it?")

    drive(bot_settings, scenario, monkeypatch)


def test_a_malicious_mention_cannot_ping(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(h: Harness) -> None:
        h.post(f"{MENTION} @everyone <@&123456789012345678> @\u2060here where is the base?", mention_bot=True)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    [reply] = posts(fake)
    assert_safe(reply)
    title = reply.json["embeds"][0]["title"]
    assert "@everyone" not in title and "@here" not in title and "<@&" not in title


def test_cooldown_and_busy_for_messages(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(h: Harness) -> None:
        h.post(f"{MENTION} {QUESTION}", mention_bot=True, user=7)
        await h.settle()
        h.post(f"{MENTION} {QUESTION}", mention_bot=True, user=7)
        await h.settle()
        await h.bot.slots.acquire()
        h.post(f"{MENTION} {QUESTION}", mention_bot=True, user=8)
        await h.settle()
        h.bot.slots.release()

    limits = qabot_bot.Limits(concurrency=1, cooldown_seconds=60)
    fake = drive(bot_settings, scenario, monkeypatch, limits=limits)
    answer, cooldown, busy = posts(fake)
    assert answer.json["embeds"]
    assert cooldown.json["content"].startswith("Slow down: you can ask again in ")
    assert busy.json["content"] == qabot_bot.BUSY
