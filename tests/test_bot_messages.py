"""Mentions, DMs and follow-ups in threads: MESSAGE_CREATE payloads in, REST requests out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from qabot import bot as qabot_bot
from qabot.config import Settings
from tests.test_bot_discord import (
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    CONFIDENCE,
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


def asked(h: Harness, key: int) -> tuple[str, ...] | None:
    """The questions of the conversation kept under a thread or answer message id, if it is still kept."""
    conversation = h.bot.conversations.get(key)
    return None if conversation is None else conversation.asked


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
    assert re.match(rf"\*\*\[1\]\*\*{CONFIDENCE}\n> ", reply.json["embeds"][0]["description"])
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
        assert asked(h, thread) == (QUESTION,)
        h.post("", channel=thread)  # without the message content intent Discord sends no text
        await h.settle()
        assert posts(h.fake) == []
        h.post(f"{MENTION} {follow_up}", channel=thread, mention_bot=True)
        await h.settle()
        assert asked(h, thread) == (QUESTION, follow_up)
        h.post("And who commands it?", channel=thread)  # text arrives when the intent is enabled
        await h.settle()
        assert asked(h, thread) == (QUESTION, follow_up, "And who commands it?")

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
        assert asked(h, answer_id) == (QUESTION,)
        h.post("Who built it?", mention_bot=True, reference=answer_id)  # a reply pings the bot
        await h.settle()
        [_, reply] = posts(h.fake)
        assert reply.json["embeds"][0]["title"] == "Who built it?"
        assert asked(h, int(reply.response["id"])) == (QUESTION, "Who built it?")

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

    fake = drive(bot_settings, scenario, monkeypatch, discord_max_concurrency=1, discord_cooldown_seconds=60)
    answer, cooldown, busy = posts(fake)
    assert answer.json["embeds"]
    assert cooldown.json["content"].startswith("Slow down: you can ask again in ")
    assert busy.json["content"] == qabot_bot.BUSY


# ---------------------------------------------------------------- conversations expire and are bounded


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


def test_expiring_forgets_idle_entries_and_keeps_at_most_size() -> None:
    clock = FakeClock()
    kept: qabot_bot.Expiring[int, str] = qabot_bot.Expiring(size=2, idle=60, clock=clock)
    kept.put(1, "a")
    clock.advance(0.5)
    kept.put(2, "b")
    clock.advance(0.5)  # 1 is exactly 60 s old: still kept
    assert kept.get(1) == "a" and 1 in kept and len(kept) == 2
    clock.advance(1 / 60)  # 61 s
    assert 1 not in kept and kept.get(1) is None and kept.get(2) == "b" and len(kept) == 1
    kept.put(2, "b2")  # storing again restarts the idle time
    kept.put(3, "c")
    kept.put(4, "d")  # over the size: the least recently stored (2) goes
    assert kept.get(2) is None and kept.get(3) == "c" and kept.get(4) == "d"
    clock.advance(2)
    assert len(kept) == 0


def test_a_conversation_expires_after_the_idle_time(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    histories: list[tuple[str, tuple[str, ...]]] = []
    follow_up, later = "When was it established?", "Who commands it?"

    async def scenario(h: Harness) -> None:
        answerer = h.bot.service.answerer
        real = answerer.answer

        def spy(question: str, k: int = 3, history: Any = (), **kw: Any) -> Any:
            histories.append((question, tuple(history)))
            return real(question, k, history=history, **kw)

        monkeypatch.setattr(answerer, "answer", spy)
        h.command("ask", question=QUESTION, since="2021")
        await h.settle()
        thread = int(h.fake.by("webhook")[-1].response["id"])
        clock.advance(29)  # within the idle time
        h.post(f"{MENTION} {follow_up}", channel=thread, mention_bot=True)
        await h.settle()
        assert asked(h, thread) == (QUESTION, follow_up)
        conversation = h.bot.conversations.get(thread)
        assert conversation is not None and conversation.filters is not None  # follow-ups keep the filters
        assert conversation.filters.since == "2021-01-01"
        clock.advance(31)  # 31 minutes after the last question: the conversation has ended
        assert asked(h, thread) is None
        h.post("And who commands it?", channel=thread)  # not addressed: no longer answered
        await h.settle()
        h.post(f"{MENTION} {later}", channel=thread, mention_bot=True)  # addressed: answered on its own
        await h.settle()
        assert asked(h, int(posts(h.fake)[-1].response["id"])) == (later,)
        assert asked(h, thread) is None

    fake = drive(bot_settings, scenario, monkeypatch, clock=clock, discord_conversation_idle_minutes=30)
    assert histories == [(QUESTION, ()), (follow_up, (QUESTION,)), (later, ())]
    first, second = posts(fake)
    assert first.json["embeds"][0]["title"] == follow_up
    assert first.json["embeds"][0]["description"].startswith("*Only documents since 2021-01-01.*")
    assert second.json["embeds"][0]["title"] == later
    assert not second.json["embeds"][0]["description"].startswith("*Only documents")


def test_conversations_are_bounded_oldest_first(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["Where is the base?", "Who is the ambassador?", "How many troops?"]

    async def scenario(h: Harness) -> None:
        for question in questions:
            h.post(f"{MENTION} {question}", mention_bot=True)
            await h.settle()
        first, second, third = (int(p.response["id"]) for p in posts(h.fake))
        assert asked(h, first) is None  # evicted: only the two most recent are kept
        assert asked(h, second) == (questions[1],) and asked(h, third) == (questions[2],)
        assert len(h.bot.conversations) == 2
        h.post(f"{MENTION} Who built it?", mention_bot=True, reference=first)  # a reply to the forgotten one
        await h.settle()
        assert asked(h, int(posts(h.fake)[-1].response["id"])) == ("Who built it?",)

    drive(bot_settings, scenario, monkeypatch, discord_max_conversations=2)


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in [
        ("QABOT_DISCORD_MAX_CONCURRENCY", "3"),
        ("QABOT_DISCORD_COOLDOWN_SECONDS", "1.5"),
        ("QABOT_DISCORD_CONVERSATION_IDLE_MINUTES", "5"),
        ("QABOT_DISCORD_MAX_CONVERSATIONS", "7"),
    ]:
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, corpus_dir="corpus", index_dir="index")
    bot = qabot_bot.create_bot(settings)
    assert bot.slots._value == 3
    assert bot.cooldowns.seconds == 1.5
    assert bot.conversations.idle == 300 and bot.conversations.size == 7
    for name in ("MAX_CONCURRENCY", "COOLDOWN_SECONDS", "CONVERSATION_IDLE_MINUTES", "MAX_CONVERSATIONS"):
        monkeypatch.delenv(f"QABOT_DISCORD_{name}")
    defaults = Settings(_env_file=None, corpus_dir="corpus", index_dir="index")
    assert (
        defaults.discord_max_concurrency,
        defaults.discord_cooldown_seconds,
        defaults.discord_conversation_idle_minutes,
        defaults.discord_max_conversations,
    ) == (2, 3.0, 30, 1000)
