"""The Discord bot driven through real discord.py objects, with only Discord's side of HTTP faked.

Events enter the way the gateway delivers them (`ConnectionState.parse_interaction_create` and
`parse_message_create` with raw payload dicts); every request discord.py makes leaves through its lowest
layer (`HTTPClient.request` for the REST API, `AsyncWebhookAdapter.request` for interaction callbacks and
follow-ups), where `FakeDiscord` records the route and JSON payload and answers like Discord would.
Login is real too (against the fake), so `setup_hook` loads the real index built from the seed corpus.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.webhook.async_ import AsyncWebhookAdapter
from pydantic import SecretStr

from qabot import bot as qabot_bot
from qabot import store
from qabot.answer import MAX_QUESTION_CHARS, Answerer
from qabot.config import Settings
from qabot.discord_render import (
    BLOCK_LIMIT,
    DESCRIPTION_LIMIT,
    MESSAGE_EMBEDS_TOTAL,
    embed_size,
    marked,
    sanitize,
)
from qabot.render import NOT_IN_CORPUS, UNSURE_NOTICE

APP_ID = 900000000000000001
# a quote's confidence in words after its number, "likely answers it (78 %)"
CONFIDENCE = r"(?: [a-z ]+ \(\d+ %\))?"
BOT_ID = 900000000000000002
OWNER_ID = 100000000000000009
GUILD_ID = 300000000000000001
CHANNEL_ID = 400000000000000001
DM_CHANNEL_ID = 400000000000000002
TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAy.fake.never-shown-token-value"
MANAGE_GUILD = 1 << 5
EPHEMERAL = 64
DEFERRED = 5  # interaction callback type: DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
MESSAGE = 4  # CHANNEL_MESSAGE_WITH_SOURCE
UPDATE = 7  # UPDATE_MESSAGE
QUESTION = "Where is the 102nd Russian military base located?"

BOT_USER = {"id": str(BOT_ID), "username": "qabot", "discriminator": "0", "avatar": None, "bot": True}


def user_payload(user_id: int) -> dict[str, Any]:
    return {"id": str(user_id), "username": f"user{user_id % 1000}", "discriminator": "0", "avatar": None}


@dataclass
class Sent:
    """One request discord.py made: which layer, the route, and the JSON it would have sent."""

    via: str  # "http" (REST) or "webhook" (interaction callbacks and follow-ups)
    method: str
    path: str  # the route template, e.g. /channels/{channel_id}/messages
    params: dict[str, Any]  # the route's parameters, e.g. {"channel_id": ...}
    json: Any
    response: Any = None  # what the fake answered: for a new message, the message as Discord stored it
    at: float = field(default_factory=time.perf_counter)  # when discord.py made the request

    @property
    def callback_type(self) -> int | None:
        return self.json["type"] if self.path.endswith("/callback") else None

    @property
    def flags(self) -> int:
        data = self.json.get("data") or {} if self.path.endswith("/callback") else self.json
        return int(data.get("flags", 0) or 0)

    @property
    def message(self) -> dict[str, Any]:
        """The message part: a callback's `data`, or the whole payload of a follow-up or channel message."""
        return dict(self.json.get("data") or {}) if self.path.endswith("/callback") else dict(self.json)

    @property
    def text(self) -> str:
        return json.dumps(self.message, ensure_ascii=False)


@dataclass
class FakeResponse:
    """What discord.HTTPException reads from an aiohttp response."""

    status: int
    reason: str = "Not Found"


@dataclass
class FakeDiscord:
    """Discord's side of HTTP: records every request and answers it with a plausible payload."""

    sent: list[Sent] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(700000000000000001))
    channel_of_token: dict[str, int] = field(default_factory=dict)
    cdn: dict[str, bytes] = field(default_factory=dict)  # attachment URL -> its bytes

    async def get_from_cdn(self, url: str) -> bytes:
        """Discord's CDN, where attachments are downloaded from (`Attachment.read`)."""
        self.sent.append(Sent("cdn", "GET", url, {}, None))
        if url not in self.cdn:
            raise discord.NotFound(FakeResponse(404), "asset not found")  # type: ignore[arg-type]
        return self.cdn[url]

    def message(self, channel_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self.ids)),
            "channel_id": str(channel_id),
            "author": BOT_USER,
            "content": payload.get("content") or "",
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": payload.get("embeds", []),
            "components": payload.get("components", []),
            "pinned": False,
            "type": 0,
            "flags": payload.get("flags", 0),
        }

    async def http(self, route: discord.http.Route, **kwargs: Any) -> Any:
        payload = kwargs.get("json")
        sent = Sent("http", route.method, route.path, dict(vars(route)), payload)
        self.sent.append(sent)
        sent.response = self._answer_http(route, payload)
        return sent.response

    def _answer_http(self, route: discord.http.Route, payload: Any) -> Any:
        if route.path == "/users/@me":
            return BOT_USER
        if route.path == "/oauth2/applications/@me":
            return {
                "id": str(APP_ID),
                "name": "qabot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": user_payload(OWNER_ID),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        if route.path.endswith("/commands") and route.method == "PUT":
            return [
                {**c, "id": str(next(self.ids)), "application_id": str(APP_ID), "version": "1"}
                for c in payload
            ]
        if route.path == "/channels/{channel_id}/messages" and route.method == "POST":
            return self.message(int(vars(route)["channel_id"]), payload)
        return None

    async def webhook(
        self, adapter: AsyncWebhookAdapter, route: discord.http.Route, session: Any, **kw: Any
    ) -> Any:
        payload = kw.get("payload") or {}
        params = {"webhook_id": route.webhook_id, "webhook_token": route.webhook_token}
        sent = Sent("webhook", route.method, route.path, params, payload)
        self.sent.append(sent)
        if route.path.endswith("/callback"):
            sent.response = {"interaction": {"id": str(route.webhook_id), "type": 2}}
        elif route.method in ("POST", "PATCH"):
            sent.response = self.message(
                self.channel_of_token.get(str(route.webhook_token), CHANNEL_ID), payload
            )
        return sent.response

    # ------------------------------------------------------------ views onto what was sent

    def by(self, via: str | None = None, path_end: str = "") -> list[Sent]:
        return [s for s in self.sent if (via is None or s.via == via) and s.path.endswith(path_end)]

    def for_interaction(self, interaction_id: int) -> list[Sent]:
        token = f"token-{interaction_id}"
        return [s for s in self.sent if s.via == "webhook" and s.params["webhook_token"] == token]

    def channel_messages(self) -> list[Sent]:
        return [s for s in self.sent if s.path == "/channels/{channel_id}/messages" and s.method == "POST"]


class Harness:
    """A logged-in bot and the fake Discord it talks to; feeds it gateway events as raw payloads."""

    def __init__(self, bot: qabot_bot.QABot, fake: FakeDiscord) -> None:
        self.bot = bot
        self.fake = fake
        self.ids = itertools.count(800000000000000001)

    @property
    def state(self) -> Any:
        return self.bot._connection

    def interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: int,
        guild: bool,
        channel: int,
        permissions: int,
        message: dict[str, Any] | None = None,
    ) -> int:
        iid = next(self.ids)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"token-{iid}",
            "version": 1,
            "attachment_size_limit": 10485760,
            "locale": "en-US",
            "app_permissions": "0",
            "channel_id": str(channel),
            "data": data,
        }
        if guild:
            payload["guild_id"] = str(GUILD_ID)
            payload["member"] = {
                "user": user_payload(user),
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            }
        else:
            payload["user"] = user_payload(user)
        if message is not None:
            payload["message"] = message
        self.fake.channel_of_token[payload["token"]] = channel
        self.state.parse_interaction_create(payload)
        return iid

    def command(
        self,
        name: str,
        *,
        user: int = 100000000000000001,
        guild: bool = True,
        channel: int = CHANNEL_ID,
        permissions: int = 0,
        focused: str | None = None,
        **options: str | int | bool,
    ) -> int:
        """A slash command as Discord delivers it, or, naming the `focused` option, the autocomplete
        request Discord sends while that option is being typed; returns the interaction id."""
        opts = [{"name": k, "type": option_type(v), "value": v} for k, v in options.items()]
        for opt in opts:
            if opt["name"] == focused:
                opt["focused"] = True
        data = {"id": "1", "name": name, "type": 1, "options": opts}
        return self.interaction(
            2 if focused is None else 4,
            data,
            user=user,
            guild=guild,
            channel=channel if guild else DM_CHANNEL_ID,
            permissions=permissions,
        )

    def click(self, message: dict[str, Any], custom_id: str, *, user: int = 100000000000000001) -> int:
        """A button press on a message the bot sent (as the fake answered it)."""
        data = {"custom_id": custom_id, "component_type": 2}
        return self.interaction(
            3, data, user=user, guild=True, channel=int(message["channel_id"]), permissions=0, message=message
        )

    def post(
        self,
        content: str,
        *,
        user: int = 100000000000000001,
        guild: bool = True,
        channel: int = CHANNEL_ID,
        mention_bot: bool = False,
        reference: int | None = None,
        author: dict[str, Any] | None = None,
    ) -> int:
        """A message as MESSAGE_CREATE delivers it (no content unless it mentions the bot or is a DM)."""
        mid = next(self.ids)
        payload: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel),
            "author": author or user_payload(user),
            "content": content,
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [BOT_USER] if mention_bot else [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0 if reference is None else 19,
        }
        if guild:
            payload["guild_id"] = str(GUILD_ID)
        if reference is not None:
            payload["message_reference"] = {"message_id": str(reference), "channel_id": str(channel)}
        self.state.parse_message_create(payload)
        return mid

    async def settle(self) -> None:
        """Wait until everything the events started has finished (timers that outlive a request excepted)."""
        for _ in range(100):
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not _timer(t)]
            if not pending:
                return
            await asyncio.wait(pending, timeout=30)
        raise AssertionError("tasks did not settle")


def option_type(value: str | int | bool) -> int:
    """Discord's application command option type of a value: BOOLEAN 5, INTEGER 4, STRING 3."""
    return 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3


def _timer(task: asyncio.Task[Any]) -> bool:
    """Message auto-deletion and the 15-minute timeout discord.py gives views on ephemeral messages."""
    name: str = getattr(task.get_coro(), "__qualname__", "")
    return name.endswith(("delete.<locals>.delete", "__timeout_task_impl"))


Scenario = Callable[[Harness], Awaitable[None]]


def drive(
    settings: Settings,
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    *,
    sync: bool = False,
    clock: qabot_bot.Clock | None = None,
    **limits: Any,
) -> FakeDiscord:
    """Log a fresh bot in against a fake Discord, run `scenario`, close; returns what was sent.

    `limits` override settings (`discord_max_concurrency=1`, ...); the cooldown is 0 unless given.
    """
    fake = FakeDiscord()
    monkeypatch.setattr(AsyncWebhookAdapter, "request", webhook_adapter_patch(fake))
    settings = settings.model_copy(update={"discord_cooldown_seconds": 0.0, **limits})

    async def main() -> None:
        bot = qabot_bot.create_bot(settings, sync=sync, clock=clock or time.monotonic)
        bot.http.request = fake.http  # type: ignore[method-assign]
        bot.http.get_from_cdn = fake.get_from_cdn  # type: ignore[method-assign]
        await bot.login(TOKEN)
        try:
            await scenario(Harness(bot, fake))
        finally:
            await bot.close()

    asyncio.run(main())
    return fake


def webhook_adapter_patch(fake: FakeDiscord) -> Callable[..., Awaitable[Any]]:
    async def request(
        adapter: AsyncWebhookAdapter, route: discord.http.Route, session: Any, **kw: Any
    ) -> Any:
        return await fake.webhook(adapter, route, session, **kw)

    return request


def assert_safe(sent: Sent) -> None:
    """What every message the bot sends must satisfy."""
    message = sent.message
    assert message["allowed_mentions"]["parse"] == [], sent
    embeds = message.get("embeds", [])
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        e = discord.Embed.from_dict(embed)
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= DESCRIPTION_LIMIT
        assert len(embed.get("fields", [])) <= 25
        assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed.get("fields", []))
        total += embed_size(e)
    assert total <= MESSAGE_EMBEDS_TOTAL
    assert len(message.get("content") or "") <= 2000


def buttons(sent: Sent) -> dict[str, str]:
    """label or emoji -> custom_id of the buttons under a sent message."""
    out = {}
    for row in sent.message.get("components", []):
        for b in row["components"]:
            out[b.get("label") or b["emoji"]["name"]] = b["custom_id"]
    return out


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def bot_settings(seed_settings: Settings) -> Settings:
    """The session's seed index (never rebuilt here), with no votes left over from other tests."""
    for suffix in ("", "-wal", "-shm"):
        (seed_settings.index_dir / (qabot_bot.FEEDBACK_FILE + suffix)).unlink(missing_ok=True)
    return seed_settings


@pytest.fixture
def own_index(seed_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the seed corpus and of its built index, for tests that change either.

    The model export is linked, not copied, and the generation is copied rather than rebuilt, so a
    rebuild here only embeds what a test adds.
    """
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_settings.corpus_dir, corpus)
    shutil.copytree(seed_settings.index_dir / "generations", index_dir / "generations")
    shutil.copy(seed_settings.index_dir / "CURRENT", index_dir / "CURRENT")
    (index_dir / "models").symlink_to(seed_settings.index_dir / "models")
    return seed_settings.model_copy(update={"corpus_dir": corpus, "index_dir": index_dir})


# ---------------------------------------------------------------- construction and startup


def test_create_bot_builds_without_connecting() -> None:
    settings = Settings(corpus_dir=Path("corpus"), index_dir=Path("index"), discord_token=SecretStr(TOKEN))
    bot = qabot_bot.create_bot(settings)
    assert isinstance(bot, discord.ext.commands.Bot)
    assert bot.user is None and bot.http.token is None
    assert not bot.intents.message_content and not bot.intents.members and not bot.intents.presences
    assert bot.intents.guilds and bot.intents.guild_messages and bot.intents.dm_messages
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}
    assert TOKEN not in repr(settings) and TOKEN not in str(settings) and TOKEN not in repr(bot.settings)
    assert TOKEN not in settings.model_dump_json()


def test_setup_hook_loads_once_and_does_not_sync(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(h: Harness) -> None:
        service = h.bot.service
        assert service.generation == store.open_index(bot_settings).manifest["generation"]
        assert {c.name for c in h.bot.tree.get_commands()} == {
            "ask",
            "search",
            "sources",
            "status",
            "reindex",
            "add",
            "remove",
        }
        for event in ("ready", "resumed", "ready"):  # reconnects
            h.bot.dispatch(event)
        await h.settle()
        assert h.bot.service is service

    fake = drive(bot_settings, scenario, monkeypatch)
    assert [s.path for s in fake.sent] == ["/users/@me", "/oauth2/applications/@me"]


def test_sync_only_when_asked(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async def nothing(h: Harness) -> None:
        pass

    fake = drive(bot_settings, nothing, monkeypatch, sync=True)
    [put] = [s for s in fake.sent if s.method == "PUT"]
    assert put.path == "/applications/{application_id}/commands"
    assert sorted(c["name"] for c in put.json) == [
        "add",
        "ask",
        "reindex",
        "remove",
        "search",
        "sources",
        "status",
    ]
    for gated in ("reindex", "add", "remove"):
        [command] = [c for c in put.json if c["name"] == gated]
        assert int(command["default_member_permissions"]) == MANAGE_GUILD
    [ask] = [c for c in put.json if c["name"] == "ask"]
    assert ask["options"][0]["max_length"] == MAX_QUESTION_CHARS
    options = {o["name"]: o for o in ask["options"]}
    assert list(options) == ["question", "since", "until", "source", "timeline"]
    assert [o.get("required", False) for o in options.values()] == [True, False, False, False, False]
    assert [o["type"] for o in options.values()] == [3, 3, 3, 3, 5]  # timeline is a BOOLEAN
    assert options["source"]["autocomplete"] is True and not options["since"].get("autocomplete")
    assert all(len(o["description"]) <= 100 for c in put.json for o in c.get("options", []))
    [search] = [c for c in put.json if c["name"] == "search"]
    assert [o["name"] for o in search["options"]] == ["query", "since", "until", "source"]

    dev = bot_settings.model_copy(update={"discord_guild_id": GUILD_ID})
    fake = drive(dev, nothing, monkeypatch)
    [put] = [s for s in fake.sent if s.method == "PUT"]
    assert put.path == "/applications/{application_id}/guilds/{guild_id}/commands"
    assert put.params["guild_id"] == GUILD_ID


def test_the_bot_checks_checksums_at_start_whatever_the_index_size(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot opens the index once and serves it for days, so it always checks sha256: with the CLI's
    limit at 0 (every index counts as big, so `open_index` checks sizes only), a same-size change inside
    a stored text still stops the bot at login, before it serves anything."""
    monkeypatch.setattr(store, "VERIFY_MAX_BYTES", 0)
    path = store.current_generation(own_index.index_dir) / "store.sqlite"
    data = path.read_bytes()
    assert b"approximately 10,000" in data
    path.write_bytes(data.replace(b"approximately 10,000", b"approximately 90,000"))
    store.open_index(own_index).close()  # the CLI's path, over the limit, does not see it

    async def serve(h: Harness) -> None:
        raise AssertionError("the bot logged in on a corrupted index")

    with pytest.raises(store.StoreError, match=r"store\.sqlite is corrupted \(checksum mismatch\)"):
        drive(own_index, serve, monkeypatch)


# ---------------------------------------------------------------- /ask and its buttons


def ask(h: Harness, question: str = QUESTION, **kw: Any) -> int:
    return h.command("ask", question=question, **kw)


def test_ask_defers_then_answers_with_quotes_and_citations(
    bot_settings: Settings, answerer: Answerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = answerer.answer(QUESTION, bot_settings.top_k)

    async def scenario(h: Harness) -> None:
        ask(h)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    defer, answer = fake.by("webhook")
    assert defer.callback_type == DEFERRED and defer.flags == 0  # public "thinking…", sent first
    assert answer.path == "/webhooks/{webhook_id}/{webhook_token}" and answer.method == "POST"
    assert_safe(answer)
    [embed] = answer.message["embeds"]
    assert embed["title"] == QUESTION
    assert expected.answered and len(embed["fields"]) == len(expected.quotes) == bot_settings.top_k
    blocks = embed["description"].split("\n\n")
    for n, (quote, block, citation) in enumerate(
        zip(expected.quotes, blocks, embed["fields"], strict=True), 1
    ):
        assert re.match(rf"\*\*\[{n}\]\*\*{CONFIDENCE}\n> ", block), block
        after = f"*{sanitize(quote.after)}*" if quote.answer else sanitize(quote.after)
        assert block.endswith(f"{marked(quote, BLOCK_LIMIT)} {after}")  # the answer in bold inside
        assert citation["name"] == f"[{n}] {sanitize(quote.source.title)}"
        where = f"{quote.source.path} · chars {quote.start}–{quote.end}"
        date = f"as of {quote.source.date}" if quote.source.date else "undated"
        assert citation["value"] == f"{date} · {where}"  # no score in the public embed
    assert list(buttons(answer)) == ["More quotes", "Show context", "👍", "👎"]
    assert answer.flags & EPHEMERAL == 0


def test_ask_outside_the_corpus_says_so_and_lists_nearest(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(h: Harness) -> None:
        ask(h, "What is the capital of France?")
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    _, answer = fake.by("webhook")
    assert_safe(answer)
    [embed] = answer.message["embeds"]
    assert embed["description"].startswith(NOT_IN_CORPUS + "\n\n**Nearest documents:**\n\n• ")
    assert ".txt" in embed["description"]
    assert list(buttons(answer)) == ["👍", "👎"]


def test_ask_never_pings_whatever_the_question_says(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = (
        "@everyone <@123456789012345678> @\u200bhere [click](https://evil.example) where is the 102nd base?"
    )

    async def scenario(h: Harness) -> None:
        ask(h, question)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    _, answer = fake.by("webhook")
    assert_safe(answer)
    title = answer.message["embeds"][0]["title"]
    assert "@everyone" not in title and "<@123" not in title and "@here" not in title
    assert "\\[click\\]\\(https://evil.example\\)" in title


@pytest.mark.parametrize(("question", "expected"), [("x" * 1001, "too long"), ("\u200b\x00 ", "empty")])
def test_bad_question_gets_an_ephemeral_reply_without_deferring(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, question: str, expected: str
) -> None:
    async def scenario(h: Harness) -> None:
        ask(h, question)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    [reply] = fake.by("webhook")
    assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
    assert expected in reply.message["content"] and "ref " not in reply.message["content"]
    assert_safe(reply)


def test_more_quotes_and_context_are_ephemeral(
    bot_settings: Settings, answerer: Answerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_quote = answerer.answer(QUESTION, bot_settings.top_k).quotes[0]
    clicks: dict[str, int] = {}

    async def scenario(h: Harness) -> None:
        ask(h)
        await h.settle()
        answer = h.fake.by("webhook")[-1]
        message = answer.response
        for label in ("More quotes", "Show context"):
            clicks[label] = h.click(message, buttons(answer)[label], user=100000000000000002)
            await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    defer, *more = fake.for_interaction(clicks["More quotes"])
    assert defer.callback_type == DEFERRED and defer.flags == EPHEMERAL
    assert more and all(m.flags == EPHEMERAL for m in more)
    for m in more:
        assert_safe(m)
    first = more[0].message["embeds"][0]
    assert first["title"].startswith("More: ") and first["description"].startswith("**[4]**")

    defer, context = fake.for_interaction(clicks["Show context"])
    assert defer.callback_type == DEFERRED and defer.flags == EPHEMERAL
    assert context.flags == EPHEMERAL
    assert_safe(context)
    description = context.message["embeds"][0]["description"]
    date = f"as of {first_quote.source.date}" if first_quote.source.date else "undated"
    where = f"{first_quote.source.path} · chars {first_quote.start}–{first_quote.end}"
    header = re.escape(f" {date} · {where} · score {first_quote.score:.2f}\n> ")
    assert re.match(rf"\*\*\[1\]\*\*{CONFIDENCE}{header}", description), description
    assert sanitize(first_quote.text) in description.replace("**", "")


def test_votes_are_stored_once_per_person(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    voter = 100000000000000003
    clicks: list[int] = []

    async def scenario(h: Harness) -> None:
        ask(h)
        await h.settle()
        answer = h.fake.by("webhook")[-1]
        message = answer.response
        for label in ("👍", "👎", "👍"):
            clicks.append(h.click(message, buttons(answer)[label], user=voter))
            await h.settle()
        clicks.append(h.click(message, buttons(answer)["👎"], user=voter + 1))
        await h.settle()
        votes = h.bot.feedback.votes()
        assert [(v.vote, v.user_sha256) for v in votes] == [
            (1, hashlib.sha256(str(voter).encode()).hexdigest()),
            (-1, hashlib.sha256(str(voter + 1).encode()).hexdigest()),
        ]
        assert all(v.question == QUESTION and v.generation == h.bot.service.generation for v in votes)
        stored = json.loads(votes[0].answer_json)
        assert stored["answered"] is True and "102nd" in json.dumps(stored["quotes"])
        assert str(voter) not in (h.bot.settings.index_dir / qabot_bot.FEEDBACK_FILE).read_bytes().decode(
            "latin-1"
        )

    fake = drive(bot_settings, scenario, monkeypatch)
    for click in clicks:
        defer, thanks = fake.for_interaction(click)
        assert defer.flags == EPHEMERAL and thanks.flags == EPHEMERAL
        assert thanks.message["content"].startswith("Thanks, your ")


def test_buttons_of_a_forgotten_answer_say_so(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ask(h)
        await h.settle()
        answer = h.fake.by("webhook")[-1]
        message = answer.response
        h.bot.shown = qabot_bot.Recent(10)  # as after a restart
        ids.append(h.click(message, buttons(answer)["More quotes"]))
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    [reply] = fake.for_interaction(ids[0])
    assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
    assert reply.message["content"] == qabot_bot.EXPIRED


# ---------------------------------------------------------------- filters, timelines, syndicated copies

AMBASSADOR = "Who is the Russian ambassador to Armenia?"


def dates(sent: Sent) -> list[str]:
    """The date part of each citation field of a sent answer ("as of YYYY-MM-DD" or "undated")."""
    return [f["value"].split(" · ")[0] for e in sent.message["embeds"] for f in e.get("fields", [])]


def test_ask_filters_reach_the_answer_its_buttons_and_its_votes(
    bot_settings: Settings, answerer: Answerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    unfiltered = answerer.answer(AMBASSADOR, bot_settings.top_k)
    assert any(q.source.date is None or q.source.date < "2023-11-01" for q in unfiltered.quotes)  # it matters
    ids: dict[str, int] = {}

    async def scenario(h: Harness) -> None:
        ids["ask"] = ask(h, AMBASSADOR, since="2023-11")
        await h.settle()
        answer = h.fake.for_interaction(ids["ask"])[-1]
        ids["more"] = h.click(answer.response, buttons(answer)["More quotes"])
        await h.settle()
        ids["vote"] = h.click(answer.response, buttons(answer)["👍"])
        await h.settle()
        [vote] = h.bot.feedback.votes()
        assert json.loads(vote.answer_json)["filters"] == {
            "since": "2023-11-01",
            "until": None,
            "sources": [],
        }

    fake = drive(bot_settings, scenario, monkeypatch)
    defer, answer = fake.for_interaction(ids["ask"])
    assert defer.callback_type == DEFERRED and defer.flags == 0
    assert_safe(answer)
    [embed] = answer.message["embeds"]
    assert re.match(
        rf"\*Only documents since 2023-11-01\.\*\n\n\*\*\[1\]\*\*{CONFIDENCE}\n> ", embed["description"]
    )
    # the answer words are bold inside the quote
    assert "Sergei Kopyrkin, the Russian ambassador to Armenia" in embed["description"].replace("**", "")
    quoted = dates(answer)
    assert quoted and all(d.startswith("as of ") and d[6:] >= "2023-11-01" for d in quoted), quoted
    _, *more = fake.for_interaction(ids["more"])
    more_dates = [d for m in more for d in dates(m)]
    assert all(d.startswith("as of ") and d[6:] >= "2023-11-01" for d in more_dates), more_dates
    assert all(m.flags == EPHEMERAL for m in more)


def test_search_filters_reach_the_ranking(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(
            h.command("search", query="Russian military base", source="armenia-invites-more-russian-troops")
        )
        ids.append(h.command("search", query="Russian military base", until="2023-10-31"))
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    _, by_source = fake.for_interaction(ids[0])
    [embed] = by_source.message["embeds"]
    assert embed["description"] == (
        "*Only documents from armenia-invites-more-russian-troops.*"
        "\n\n**1.** Armenia Invites More Russian Troops to Its Territory (as of 2021-02-23) — "
        "armenia-invites-more-russian-troops.txt"
    )
    _, by_date = fake.for_interaction(ids[1])
    lines = by_date.message["embeds"][0]["description"].split("\n\n")
    assert lines[0] == "*Only documents until 2023-10-31.*"
    assert len(lines) == 3 and all("(as of 2021-02-23)" in x or "(as of 2023-10-31)" in x for x in lines[1:])


@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        (
            "ask",
            {"since": "2024", "until": "2023"},
            "the date range is empty: since 2024-01-01 is after until 2023-12-31",
        ),
        ("ask", {"since": "2023-13"}, "since '2023-13' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"),
        ("ask", {"until": "yesterday"}, "until 'yesterday' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD"),
        ("ask", {"since": "2030"}, "no documents match the filters (since 2030-01-01)"),
        ("ask", {"source": "nowhere", "timeline": True}, "no documents match the filters (from nowhere)"),
        (
            "search",
            {"since": "2023-12-29", "until": "2023-12"},
            "no documents match the filters (since 2023-12-29 until 2023-12-31)",
        ),
        (
            "search",
            {"since": "2024-02-01", "until": "2024-01"},
            "the date range is empty: since 2024-02-01 is after until 2024-01-31",
        ),
        ("search", {"source": "@everyone"}, "no documents match the filters (from @everyone)"),
    ],
)
def test_bad_filters_get_a_private_error_and_no_answer(
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    options: dict[str, str | bool],
    message: str,
) -> None:
    async def scenario(h: Harness) -> None:
        field = "question" if command == "ask" else "query"
        h.command(command, **{field: AMBASSADOR}, **options)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    [reply] = fake.by("webhook")  # no defer, no public answer: only the private explanation
    assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
    assert reply.message["content"] == sanitize(message)
    assert_safe(reply)


def timeline_headers(sent: Sent) -> list[str]:
    """The date each quote block of a timeline is headed with, in the order shown."""
    blocks = [b for e in sent.message["embeds"] for b in e["description"].split("\n\n")]
    return [b.split("\n")[0].split(" · ", 1)[1] for b in blocks if b.startswith("**[")]


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("How have relations between Russia and Armenia changed?", {}),
        ("Where are Russian troops stationed in Armenia?", {"timeline": True}),
    ],
    ids=["asks-about-change", "timeline-option"],
)
def test_a_timeline_answer_is_dated_oldest_first(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, question: str, options: dict[str, bool]
) -> None:
    async def scenario(h: Harness) -> None:
        ask(h, question, **options)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    _, answer = fake.by("webhook")
    assert_safe(answer)
    description = answer.message["embeds"][0]["description"]
    # a broad question may be answered with low confidence: the notice then comes first
    unsure = re.escape(UNSURE_NOTICE + "\n\n")
    timeline = re.escape("*Timeline: one quote per document, oldest first.*\n\n**[1]**")
    assert re.match(rf"(?:{unsure})?{timeline}{CONFIDENCE} · ", description), description
    headers = timeline_headers(answer)
    assert len(headers) >= 2 and headers == dates(answer)  # each quote's header repeats its citation's date
    dated = [h.removeprefix("as of ") for h in headers if h != "undated"]
    assert dated == sorted(dated) and len(dated) >= 2
    assert headers[len(dated) :] == ["undated"] * (len(headers) - len(dated))  # undated ones last
    assert len({f["name"] for f in answer.message["embeds"][0]["fields"]}) == len(headers)  # one per document


def test_timeline_false_keeps_the_best_quotes(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(h: Harness) -> None:
        ask(h, "How have relations between Russia and Armenia changed?", timeline=False)
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    _, answer = fake.by("webhook")
    assert not answer.message["embeds"][0]["description"].startswith("*Timeline")


def test_syndicated_copies_are_cited_once_with_also_in(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = own_index.corpus_dir / "armenian-pm-sees-no-advantage-in-russian-troops.txt"
    text = original.read_text()
    copy = text.replace('date: "2023-10-31"', 'date: "2023-11-02"').replace(
        'title: "', 'title: "Reprint: ', 1
    )
    (own_index.corpus_dir / "syndicated-reprint.txt").write_text(copy)
    store.build(own_index)

    async def scenario(h: Harness) -> None:
        ask(h, "How many Russian troops does Armenia host?")
        await h.settle()

    fake = drive(own_index, scenario, monkeypatch)
    _, answer = fake.by("webhook")
    assert_safe(answer)
    fields = answer.message["embeds"][0]["fields"]
    dated = {
        "armenian-pm-sees-no-advantage-in-russian-troops.txt": "as of 2023-10-31",
        "syndicated-reprint.txt": "as of 2023-11-02",
    }
    from_either = [f["value"] for f in fields if f["value"].split(" · ")[1] in dated]
    assert from_either  # the question is answered from the article, and each copy is cited once
    for value in from_either:
        date, cited = value.split(" · ")[:2]
        [other] = set(dated) - {cited}
        assert date == dated[cited]
        assert "\nalso in: " in value and value.endswith(f" ({dated[other]}) — {other}")


def test_source_option_autocompletes_documents_and_folders(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (own_index.corpus_dir / "news" / "2024").mkdir(parents=True)
    (own_index.corpus_dir / "news" / "2024" / "brief.md").write_text(
        "---\ntitle: A brief\ndate: 2024-03-01\n---\nThe pillar of the alliance held.\n"
    )
    store.build(own_index)
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("ask", focused="source", question="q", source="PILLAR"))
        ids.append(h.command("search", focused="source", query="q", source="news"))
        ids.append(h.command("ask", focused="source", question="q", source=""))
        await h.settle()

    fake = drive(own_index, scenario, monkeypatch)
    replies = [fake.for_interaction(i) for i in ids]
    assert all(
        len(r) == 1 and r[0].callback_type == 8 for r in replies
    )  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    pillar, news, everything = ([c["value"] for c in r[0].json["data"]["choices"]] for r in replies)
    assert pillar == ["russia-military-presence-pillar-of-stability"]
    assert news == ["news/2024/brief", "news", "news/2024"]
    assert len(everything) == 8  # 6 documents, 2 folders
    names = [c["name"] for r in replies for c in r[0].json["data"]["choices"]]
    assert all(len(n) <= 100 for n in names)
    assert (
        replies[0][0]
        .json["data"]["choices"][0]["name"]
        .endswith("(undated) — russia-military-presence-pillar-of-stability")
    )


def test_the_bot_reads_the_index_through_public_methods(answerer: Answerer) -> None:
    index = answerer.index
    rows = index.sources()
    assert [r.row for r in rows] == list(range(index.document_count()))
    assert {r.id for r in rows} == set(index.manifest["documents"])
    by_id = {r.id: r for r in rows}
    assert by_id["armenia-invites-more-russian-troops"].date == "2021-02-23"
    assert by_id["russia-military-presence-pillar-of-stability"].date is None
    quote = answerer.answer(QUESTION, 1).quotes[0]
    before, after = index.window(quote.source.id, quote.start, quote.end, 1) or ("", "")
    assert before.strip() == quote.before.strip() and after.strip() == quote.after.strip()
    wide = index.window(quote.source.id, quote.start, quote.end, 3)
    assert wide is not None and wide[0].endswith(before) and wide[1].startswith(after)
    assert index.window(quote.source.id, quote.start, quote.end, 0) == ("", "")
    assert index.window(quote.source.id, quote.start + 1, quote.end, 1) is None  # not a sentence of it
    assert index.window("no-such-document", quote.start, quote.end, 1) is None
    source = Path(qabot_bot.__file__).read_text()
    assert ".db." not in source and "execute(" not in source  # no SQL in the bot


# ---------------------------------------------------------------- /search, /sources, /status


def test_search_ranks_documents(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(h: Harness) -> None:
        h.command("search", query="Russian military base Gyumri")
        await h.settle()

    fake = drive(bot_settings, scenario, monkeypatch)
    defer, result = fake.by("webhook")
    assert defer.callback_type == DEFERRED
    assert_safe(result)
    [embed] = result.message["embeds"]
    assert embed["title"] == "Search: Russian military base Gyumri"
    lines = embed["description"].split("\n\n")
    assert len(lines) == 5 and all(line.startswith(f"**{n}.** ") for n, line in enumerate(lines, 1))
    assert all(" (as of " in line or " (undated) — " in line for line in lines) and "score" not in lines[0]


@pytest.fixture
def many_documents(own_index: Settings) -> Settings:
    """The seed corpus plus 20 one-line documents: more than one page of /sources."""
    for n in range(20):
        (own_index.corpus_dir / f"note-{n:02d}.md").write_text(
            f"---\ntitle: Note {n:02d} @everyone\ndate: 2024-02-{n + 1:02d}\n---\nNote {n} is short.\n"
        )
    store.build(own_index)
    return own_index


def test_sources_are_paged_with_buttons(many_documents: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("sources"))
        await h.settle()
        [first] = h.fake.for_interaction(ids[0])
        message = h.fake.message(CHANNEL_ID, first.message)
        ids.append(h.click(message, buttons(first)["Next ▶"]))
        await h.settle()

    fake = drive(many_documents, scenario, monkeypatch)
    [first] = fake.for_interaction(ids[0])
    assert first.callback_type == MESSAGE and first.flags == EPHEMERAL
    assert_safe(first)
    embed = first.message["embeds"][0]
    assert embed["footer"]["text"] == "page 1/2 · 25 documents"
    assert embed["description"].count("\n") == 14 and "@\u200beveryone" in embed["description"]
    components = first.message["components"][0]["components"]
    assert [(b["label"], b.get("disabled", False)) for b in components] == [
        ("◀ Previous", True),
        ("Next ▶", False),
    ]

    [update] = fake.for_interaction(ids[1])
    assert update.callback_type == UPDATE
    assert_safe(update)
    assert update.message["embeds"][0]["footer"]["text"] == "page 2/2 · 25 documents"
    assert update.message["embeds"][0]["description"].startswith("**16.** ")


def test_status_tells_whether_the_corpus_changed(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("status"))
        await h.settle()
        corpus = h.bot.settings.corpus_dir
        first = sorted(corpus.glob("*.txt"))[0]
        first.write_text(first.read_text() + "\nA new closing sentence.\n")
        (corpus / "added.txt").write_text("A brand new document about something else entirely.\n")
        ids.append(h.command("status"))
        await h.settle()

    fake = drive(own_index, scenario, monkeypatch)
    manifest = store.open_index(own_index).manifest
    for iid, corpus in zip(
        ids,
        ["unchanged since the build", "changed since the build: 1 new, 1 modified, 0 removed; run /reindex"],
        strict=True,
    ):
        defer, status = fake.for_interaction(iid)
        assert defer.callback_type == DEFERRED and defer.flags == EPHEMERAL
        assert status.flags == EPHEMERAL
        fields = {f["name"]: f["value"] for f in status.message["embeds"][0]["fields"]}
        assert fields["Generation"] == manifest["generation"]
        assert fields["Built at"] == manifest["built_at"]
        assert fields["Documents"] == "5" and fields["Chunks"] == str(manifest["counts"]["chunks"])
        assert fields["Model"] == manifest["model"]
        assert fields["Corpus"] == corpus


# ---------------------------------------------------------------- /reindex


def test_reindex_is_refused_without_manage_server(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("reindex", permissions=0))
        ids.append(h.command("reindex", guild=False))  # a DM from someone who is not an owner
        await h.settle()

    fake = drive(own_index, scenario, monkeypatch)
    for iid in ids:
        [reply] = fake.for_interaction(iid)
        assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
        assert reply.message["content"].startswith("Only members who can manage this server")
    assert len(list((own_index.index_dir / "generations").iterdir())) == 1


def test_reindex_swaps_in_the_new_index_and_refuses_a_second_run(
    own_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (own_index.corpus_dir / "added.txt").write_text("The new base will be built in Meghri next year.\n")
    ids: dict[str, int] = {}
    generations: list[str] = []

    async def scenario(h: Harness) -> None:
        old = h.bot.service
        generations.append(old.generation)
        ids["first"] = h.command("reindex", permissions=MANAGE_GUILD)
        while not h.fake.for_interaction(ids["first"]):  # until the first has deferred and is building
            await asyncio.sleep(0.001)
        ids["second"] = h.command("reindex", permissions=MANAGE_GUILD)
        ids["ask"] = ask(h)  # the old index keeps serving meanwhile
        await h.settle()
        assert h.bot.service is not old
        generations.append(h.bot.service.generation)
        ids["owner"] = h.command("reindex", guild=False, user=OWNER_ID)
        await h.settle()

    owner = own_index.model_copy(update={"discord_owner_ids": [OWNER_ID]})
    fake = drive(owner, scenario, monkeypatch)
    defer, done = fake.for_interaction(ids["first"])
    assert defer.callback_type == DEFERRED and defer.flags == EPHEMERAL
    assert done.flags == EPHEMERAL
    assert done.message["content"].startswith(
        f"Reindexed: generation {generations[1]}, 6 documents (1 embedded"
    )
    [refused] = fake.for_interaction(ids["second"])
    assert refused.flags == EPHEMERAL and refused.message["content"].startswith(
        "A reindex is already running"
    )
    _, answered = fake.for_interaction(ids["ask"])
    assert answered.message["embeds"][0]["title"] == QUESTION
    assert generations[0] != generations[1]
    _, by_owner = fake.for_interaction(ids["owner"])
    assert by_owner.message["content"].startswith("Reindexed: generation ")


# ---------------------------------------------------------------- load, errors and secrets


def test_cooldown_and_busy_replies_are_ephemeral(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(ask(h, user=1))
        await h.settle()
        ids.append(ask(h, user=1))  # within the cooldown
        await h.settle()
        await h.bot.slots.acquire()  # the only slot is taken by someone else's question
        ids.append(ask(h, user=2))
        await h.settle()
        h.bot.slots.release()

    fake = drive(bot_settings, scenario, monkeypatch, discord_max_concurrency=1, discord_cooldown_seconds=60)
    assert [s.callback_type for s in fake.for_interaction(ids[0])] == [DEFERRED, None]
    [cooldown] = fake.for_interaction(ids[1])
    assert cooldown.callback_type == MESSAGE and cooldown.flags == EPHEMERAL
    assert cooldown.message["content"].startswith("Slow down: you can ask again in ")
    [busy] = fake.for_interaction(ids[2])
    assert (
        busy.callback_type == MESSAGE
        and busy.flags == EPHEMERAL
        and busy.message["content"] == qabot_bot.BUSY
    )


def test_errors_reach_the_user_as_a_reference_only(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail /srv/secret/path")

    async def scenario(h: Harness) -> None:
        monkeypatch.setattr(h.bot.service.answerer, "answer", broken)
        ask(h)
        await h.settle()

    caplog.set_level(logging.ERROR, logger="qabot.bot")
    fake = drive(bot_settings, scenario, monkeypatch)
    defer, reply = fake.by("webhook")
    assert defer.callback_type == DEFERRED
    assert reply.flags == EPHEMERAL
    text = reply.message["content"]
    assert (
        text.startswith("Sorry, something went wrong (ref ")
        and "secret" not in text
        and "Traceback" not in text
    )
    ref = text.split("(ref ")[1].split(")")[0]
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.exc_info is not None and "internal detail" in str(record.exc_info[1])


def test_the_token_never_appears_in_logs_or_requests(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(h: Harness) -> None:
        assert h.bot.http.token == TOKEN  # it did log in with it
        ask(h)
        await h.settle()

    with_token = bot_settings.model_copy(update={"discord_token": SecretStr(TOKEN)})
    fake = drive(with_token, scenario, monkeypatch)
    assert TOKEN not in caplog.text and TOKEN not in repr(with_token) and TOKEN not in str(with_token)
    assert all(TOKEN not in json.dumps(s.json) for s in fake.sent)


def test_cli_discord_needs_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qabot.cli import main

    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("QABOT_DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    result = CliRunner().invoke(main, ["discord", "--index", str(tmp_path)])
    assert result.exit_code == 1
    assert "no Discord token: set DISCORD_TOKEN" in result.output
    assert "Traceback" not in result.output
