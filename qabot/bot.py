"""The Discord bot: slash commands, mentions and DMs answered by the same `Answerer` as the CLI.

Shape (discord.py's examples/advanced_startup.py): `QABot` is a `commands.Bot` whose `setup_hook` does the
one-time work (load the index, add the cog, register the buttons, sync commands only when asked), so a
reconnect reloads nothing. Every handler answers Discord within its 3 seconds by deferring first, then
runs model and index work in a thread, a few at a time. Nothing sent can mention anyone: the client
default and every send pass `AllowedMentions.none()`, and `discord_render` escapes what is quoted.

What a user typed wrong (an empty question, a date that is not one, an empty date range, filters no
document passes) is found before the defer, so its explanation is private: a deferred public answer
cannot become an ephemeral one. Limits (concurrency, cooldown, conversations) come from `Settings`;
time comes from an injectable clock, so tests can expire conversations without sleeping.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import MISSING

from qabot import library, store
from qabot.answer import (
    MAX_QUESTION_CHARS,
    Answer,
    Answerer,
    Filters,
    QuestionError,
    RankedDocument,
    Source,
    clean_question,
    parse_filters,
)
from qabot.audit import Event
from qabot.config import Settings
from qabot.corpus import load_corpus
from qabot.discord_render import (
    answer_embeds,
    content,
    context_embeds,
    page_count,
    sanitize,
    search_embeds,
    sources_embed,
    status_embed,
)
from qabot.feedback import FeedbackStore
from qabot.store import StoreError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
SEARCH_RESULTS = 5
WARM_UP_QUESTION = "What do the documents say?"  # any question: it runs the whole answering path
MORE_QUOTES = 5  # extra quotes the "More quotes" button asks for
CONTEXT_SENTENCES = 3  # sentences each side of a quote under "Show context"
REMEMBERED = 1000  # answers whose buttons still work
FEEDBACK_FILE = "feedback.sqlite"
DATE_OPTION_CHARS = 32  # since/until: YYYY-MM-DD with room for stray spaces
SOURCE_OPTION_CHARS = 200
AUTOCOMPLETE_CHOICES = 25  # Discord's maximum
CHOICE_CHARS = 100  # Discord's limit on a choice's name and value

SINCE_HELP = "Only documents dated on or after: YYYY, YYYY-MM or YYYY-MM-DD (leaves undated ones out)"
UNTIL_HELP = "Only documents dated on or before: YYYY, YYYY-MM or YYYY-MM-DD (leaves undated ones out)"
SOURCE_HELP = "Only this document (id or file name) or folder"

BUSY = "I'm answering other questions right now; please try again in a few seconds."
EXPIRED = "This answer is no longer in memory (the bot restarted or it is too old); please ask again."

ANSWERABLE = (discord.MessageType.default, discord.MessageType.reply)  # not joins, pins, thread notices...
Asked = tuple[str, ...]  # the questions of a conversation so far, oldest first
Clock = Callable[[], float]  # seconds, monotonic
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class BotError(RuntimeError):
    """The bot cannot run (for example the token is rejected); the message says what to fix."""


@dataclass(frozen=True)
class Conversation:
    """A thread or reply chain: its questions so far, and the filters of the /ask that started it."""

    asked: Asked
    filters: Filters | None = None


@dataclass(frozen=True)
class Shown:
    """An answer as posted, for its buttons: what was asked, how, with how many quotes, on which index."""

    answer: Answer
    k: int
    generation: str
    history: Asked = ()
    filters: Filters | None = None
    timeline: bool | None = None


class Recent(Generic[K, V]):
    """A mapping that forgets its oldest entries beyond `size` (memory stays bounded however long it runs)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class Expiring(Generic[K, V]):
    """A mapping whose entries lapse `idle` seconds after they were last stored, and that keeps at most
    `size` of them (the least recently stored go first), so memory stays bounded by count and by time."""

    def __init__(self, size: int, idle: float, clock: Clock = time.monotonic) -> None:
        self.size = size
        self.idle = idle
        self.clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()  # oldest first

    def put(self, key: K, value: V) -> None:
        self._items[key] = (self.clock(), value)
        self._items.move_to_end(key)
        self._prune()
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if self._expired(entry[0]):
            del self._items[key]
            return None
        return entry[1]

    def __contains__(self, key: object) -> bool:
        entry = self._items.get(cast(K, key))
        return entry is not None and not self._expired(entry[0])

    def __len__(self) -> int:
        self._prune()
        return len(self._items)

    def _expired(self, stamp: float) -> bool:
        return self.clock() - stamp > self.idle

    def _prune(self) -> None:
        # Stored in time order (put moves a key to the end), so the expired ones are at the front.
        while self._items:
            key, (stamp, _) = next(iter(self._items.items()))
            if not self._expired(stamp):
                return
            del self._items[key]


class Cooldowns:
    """At most one request per `seconds` per user."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        last = self._last.get(user_id)
        return 0.0 if last is None else max(0.0, last + self.seconds - self.clock())

    def hit(self, user_id: int) -> None:
        now = self.clock()
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if t + self.seconds > now}
        self._last[user_id] = now


# ---------------------------------------------------------------- library side (blocking: call in a thread)


class Service:
    """Answers, searches and listings over one loaded index generation."""

    def __init__(self, answerer: Answerer, added: Mapping[str, Event] | None = None) -> None:
        self.answerer = answerer
        self.manifest: Mapping[str, Any] = answerer.index.manifest
        self.sources = tuple(Source(d.id, d.title, d.path, d.date, d.url) for d in answerer.index.sources())
        self.source_choices = choice_catalog(self.sources)
        self.added: Mapping[str, Event] = added or {}  # document id -> the /add or `qabot add` that added it

    @classmethod
    def load(cls, settings: Settings) -> Service:
        # sha256 of every artifact whatever the index's size: the bot opens it once and serves it for
        # days, so the seconds a big index costs are paid once, not on every question as in the CLI.
        index = store.open_index(settings, verify=True)
        added = library.audit_log(settings).latest_adds()
        service = cls(
            Answerer(index, min_confidence=settings.min_confidence, threads=settings.threads), added
        )
        service.warm_up()
        return service

    def warm_up(self) -> None:
        """Answer one question before serving, so that what the index sets up on first use (the
        onnxruntime session, the FTS vocabulary tables, the first documents) is ready before the first
        asker waits for it. (Two first answers at once are safe without it: store.Index creates its
        vocabulary tables with IF NOT EXISTS, which a race between them once lacked.)"""
        self.answerer.answer(WARM_UP_QUESTION, 1)

    @property
    def generation(self) -> str:
        return str(self.manifest["generation"])

    def answer(
        self,
        question: str,
        k: int,
        history: Asked = (),
        filters: Filters | None = None,
        timeline: bool | None = None,
    ) -> Answer:
        return self.answerer.answer(question, k, history=history, filters=filters, timeline=timeline)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[RankedDocument]:
        return self.answerer.search(query, k, filters=filters)

    def check(self, filters: Filters | None) -> None:
        """Raise the answerer's QuestionError when no indexed document passes `filters` (cheap: SQL only)."""
        if filters is None or not filters.active:
            return
        if not self.answerer.index.scope(filters.since, filters.until, filters.sources).docs:
            raise QuestionError(f"no documents match the filters ({filters.describe()})")

    def more(self, shown: Shown, k: int) -> Answer:
        """The quotes a wider answer (`k` quotes, same history, filters and timeline) adds to those shown."""
        wider = self.answer(shown.answer.question, k, shown.history, shown.filters, shown.timeline)
        seen = {(q.source.id, q.start) for q in shown.answer.quotes}
        extra = tuple(q for q in wider.quotes if (q.source.id, q.start) not in seen)
        return Answer(shown.answer.question, wider.answered, extra, timeline=wider.timeline)

    def windows(self, answer: Answer, n: int = CONTEXT_SENTENCES) -> list[tuple[str, str]]:
        """The verbatim text of up to `n` sentences before and after each quote in its document."""
        index = self.answerer.index
        out = []
        for q in answer.quotes:
            window = index.window(q.source.id, q.start, q.end, n)
            out.append(window if window is not None else (q.before, q.after))  # the document changed
        return out


def choice_catalog(sources: tuple[Source, ...]) -> tuple[tuple[str, str, str], ...]:
    """What the `source` option can suggest: (name shown, value passed, text matched), documents first
    (by id), then the folders that hold documents. Ids longer than a choice allows can still be typed."""
    out: list[tuple[str, str, str]] = []
    folders: dict[str, int] = {}
    for s in sources:
        if len(s.id) <= CHOICE_CHARS:
            name = _choice_name(s.title, f" ({s.date or 'undated'}) — {s.id}")
            out.append((name, s.id, f"{s.id} {s.path} {s.title}".casefold()))
        parts = Path(s.path).parts[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            folders[folder] = folders.get(folder, 0) + 1
    for folder, count in sorted(folders.items()):
        if len(folder) <= CHOICE_CHARS:
            name = _choice_name(f"folder {folder}/", f" ({count} documents)")
            out.append((name, folder, folder.casefold()))
    return tuple(out)


def _choice_name(label: str, tail: str) -> str:
    """`label` + `tail` on one line within Discord's 100 characters, the label shortened first."""
    label, tail = (" ".join("".join(c if c.isprintable() else " " for c in t).split()) for t in (label, tail))
    room = CHOICE_CHARS - len(tail) - 1
    if len(label) > room:
        label = label[: max(room - 1, 0)].rstrip() + "…"
    return f"{label} {tail}"[:CHOICE_CHARS].strip() or "?"


def source_choices(service: Service, typed: str) -> list[app_commands.Choice[str]]:
    """Up to 25 documents or folders whose id, path or title contains what was typed so far."""
    wanted = typed.strip().casefold()
    found = [(n, v) for n, v, text in service.source_choices if wanted in text]
    return [app_commands.Choice(name=n, value=v) for n, v in found[:AUTOCOMPLETE_CHOICES]]


def discord_filters(since: str | None, until: str | None, source: str | None) -> Filters | None:
    """The slash-command options as answerer filters (None when none is given); a bad date or an empty
    range raises QuestionError worded for Discord's option names."""
    try:
        filters = parse_filters(since, until, [source] if source else [])
    except QuestionError as exc:
        raise QuestionError(re.sub(r"--(since|until)\b", r"\1", str(exc))) from None
    return filters if filters.active else None


@dataclass(frozen=True)
class CorpusChanges:
    added: int
    changed: int
    removed: int
    skipped: int


def corpus_changes(corpus_dir: Path, manifest: Mapping[str, Any]) -> CorpusChanges:
    """How the documents on disk differ from those the index was built from (by content sha256)."""
    loaded = load_corpus(corpus_dir)
    now = {d.id: d.sha256 for d in loaded.documents}
    built: Mapping[str, str] = manifest.get("documents", {})
    return CorpusChanges(
        added=len(now.keys() - built.keys()),
        changed=sum(1 for doc in now.keys() & built.keys() if now[doc] != built[doc]),
        removed=len(built.keys() - now.keys()),
        skipped=len(loaded.problems),
    )


def rebuild(settings: Settings) -> tuple[store.BuildReport, Service]:
    """Build and publish a new generation (readers keep the old one meanwhile), then load it."""
    library.settle(settings)  # finish or undo an add or remove that was interrupted
    built = store.build(settings)
    return built, Service.load(settings)


def reindexed(built: store.BuildReport) -> str:
    return (
        f"Reindexed: generation {built.generation}, {built.documents} documents "
        f"({built.embedded_documents} embedded, {built.reused_documents} unchanged, "
        f"{built.removed_documents} removed, {len(built.problems)} files skipped) in {built.seconds:.1f} s."
    )


# ---------------------------------------------------------------- helpers for any interaction


async def send_ephemeral(interaction: discord.Interaction[Any], text: str) -> None:
    """A short private reply, whether or not the interaction was already answered or deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(content(text), ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(content(text), ephemeral=True, allowed_mentions=NO_MENTIONS)


def error_message(exc: BaseException) -> str:
    """What a user is told about `exc`: the message of a question error, else a reference to the log."""
    if isinstance(exc, QuestionError):
        return sanitize(str(exc))  # it may repeat what the user typed (a date, a source)
    ref = secrets.token_hex(4)
    log.error("request failed (ref %s)", ref, exc_info=exc)
    if isinstance(exc, StoreError):
        return f"The index is not available right now (ref {ref}); an admin can check the bot's log."
    return f"Sorry, something went wrong (ref {ref}); an admin can find the details in the bot's log."


async def report(interaction: discord.Interaction[Any], exc: BaseException) -> None:
    text = error_message(exc)
    try:
        await send_ephemeral(interaction, text)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (the interaction expired?)")


def may_reindex(interaction: discord.Interaction[Any], owner_ids: list[int]) -> bool:
    """Bot owners anywhere; in a server, members allowed to manage it (as Discord resolved it)."""
    if interaction.user.id in owner_ids:
        return True
    return interaction.guild_id is not None and interaction.permissions.manage_guild


def question_in(message: discord.Message, me: int, conversations: Expiring[int, Conversation]) -> str | None:
    """The question a message asks the bot, or None when it is not for the bot.

    For the bot: direct messages, messages that mention it (replies to it do), and messages in a thread
    started from one of its answers. Without the privileged message content intent Discord only sends
    the text of the first two kinds, so a follow-up in a thread is answered when it mentions or replies
    to the bot.
    """
    if message.author.bot or message.webhook_id is not None or message.type not in ANSWERABLE:
        return None
    direct = isinstance(message.channel, discord.DMChannel)  # (message.guild is None in uncached guilds too)
    addressed = direct or any(user.id == me for user in message.mentions)
    if not addressed and message.channel.id not in conversations:
        return None
    text = re.sub(rf"<@!?{me}>", " ", message.content)
    if not addressed and not text.strip():
        return None
    return text


def continued(message: discord.Message, conversations: Expiring[int, Conversation]) -> Conversation | None:
    """The (unexpired) conversation a message continues: its thread's, else the one of the answer it
    replies to."""
    reference = message.reference.message_id if message.reference is not None else None
    for key in (message.channel.id, reference):
        conversation = conversations.get(key) if key is not None else None
        if conversation is not None:
            return conversation
    return None


# ---------------------------------------------------------------- buttons


def _button(
    label: str, emoji: str | None, style: discord.ButtonStyle, custom_id: str
) -> discord.ui.Button[Any]:
    return discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id)


ANSWER_ACTIONS: dict[str, tuple[str, str | None, discord.ButtonStyle]] = {
    "more": ("More quotes", None, discord.ButtonStyle.secondary),
    "ctx": ("Show context", None, discord.ButtonStyle.secondary),
    "up": ("", "👍", discord.ButtonStyle.secondary),
    "down": ("", "👎", discord.ButtonStyle.secondary),
}


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"qabot:a:(?P<action>more|ctx|up|down):(?P<key>[0-9a-f]{12})",
):
    """A button under an answer; its custom id names the action and the remembered answer."""

    def __init__(self, action: str, key: str) -> None:
        label, emoji, style = ANSWER_ACTIONS[action]
        super().__init__(_button(label, emoji, style, f"qabot:a:{action}:{key}"))
        self.action = action
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(match["action"], match["key"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).on_answer_button(interaction, self.action, self.key)


class SourcesButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"qabot:src:(?P<page>\d{1,6})"):
    """Previous/next under /sources: the page to show is in the custom id, so it survives restarts."""

    def __init__(self, page: int, label: str = "", disabled: bool = False) -> None:
        button = _button(label or f"Page {page}", None, discord.ButtonStyle.secondary, f"qabot:src:{page}")
        button.disabled = disabled
        super().__init__(button)
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SourcesButton:
        return cls(int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).on_sources_button(interaction, self.page)


def _cog(interaction: discord.Interaction[Any]) -> Questions:
    bot = interaction.client
    if not isinstance(bot, QABot):
        raise TypeError("qabot buttons only work with the QABot client")
    return bot.questions


def answer_view(key: str, answered: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("more", "ctx", "up", "down") if answered else ("up", "down"):
        view.add_item(AnswerButton(action, key))
    return view


def sources_view(page: int, pages: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(SourcesButton(page - 1, "◀ Previous", disabled=page <= 1))
    view.add_item(SourcesButton(page + 1, "Next ▶", disabled=page >= pages))
    return view


# ---------------------------------------------------------------- the bot


class QATree(app_commands.CommandTree["QABot"]):
    async def on_error(
        self, interaction: discord.Interaction[QABot], error: app_commands.AppCommandError
    ) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await report(interaction, original)


class QABot(commands.Bot):
    """The bot, built without connecting; `setup_hook` (run once, at login) loads everything."""

    def __init__(self, settings: Settings, *, sync: bool = False, clock: Clock = time.monotonic) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents.default(),  # no privileged intent: no message content, no members
            allowed_mentions=NO_MENTIONS,
            tree_cls=QATree,
        )
        self.settings = settings
        self.sync_on_start = sync
        self.slots = asyncio.Semaphore(settings.discord_max_concurrency)
        self.cooldowns = Cooldowns(settings.discord_cooldown_seconds, clock)
        self.reindexing = asyncio.Lock()
        self.shown: Recent[str, Shown] = Recent(REMEMBERED)
        # Answer messages (and threads started from them, which share their id) -> their conversation.
        self.conversations: Expiring[int, Conversation] = Expiring(
            settings.discord_max_conversations, settings.discord_conversation_idle_minutes * 60, clock
        )
        self._service: Service | None = None
        self._feedback: FeedbackStore | None = None

    @property
    def service(self) -> Service:
        if self._service is None:
            raise StoreError("the index is not loaded yet")
        return self._service

    @service.setter
    def service(self, service: Service) -> None:
        # In-flight requests keep the Service they started with; the old index closes when they drop it.
        self._service = service

    @property
    def feedback(self) -> FeedbackStore:
        if self._feedback is None:
            raise RuntimeError("the feedback store is opened in setup_hook")
        return self._feedback

    @property
    def questions(self) -> Questions:
        cog = self.get_cog(Questions.__cog_name__)
        if not isinstance(cog, Questions):
            raise RuntimeError("the Questions cog is added in setup_hook")
        return cog

    async def setup_hook(self) -> None:
        from qabot.discord_library import Library  # (it imports this module)

        await asyncio.to_thread(library.settle, self.settings)  # an add or remove cut short by a restart
        self._service = await asyncio.to_thread(Service.load, self.settings)
        self._feedback = await asyncio.to_thread(FeedbackStore, self.settings.index_dir / FEEDBACK_FILE)
        self.add_dynamic_items(AnswerButton, SourcesButton)
        await self.add_cog(Questions(self))
        await self.add_cog(Library(self))
        await self.sync_commands()
        log.info("serving index generation %s", self.service.generation)

    async def sync_commands(self) -> None:
        """Publish the slash commands only when asked: to the dev guild if one is set, else globally."""
        guild_id = self.settings.discord_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), guild_id)
        elif self.sync_on_start:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (Discord may take a while to show them)", len(synced))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the cog answers mentions and DMs."""

    async def reload(self) -> None:
        """Serve the newest published generation (after an add or remove). Two adds at once reload twice;
        the one that finishes last must not put back the older generation, hence the comparison (names
        are UTC timestamps)."""
        service = await asyncio.to_thread(Service.load, self.settings)
        if self._service is None or service.generation >= self._service.generation:
            self.service = service

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s)", self.user, self.user.id if self.user else "?")

    # ------------------------------------------------------------ shared request plumbing

    async def admit(self, user_id: int) -> str | None:
        """Take a work slot for the user, or say why not (cooldown, busy); release it with `slots`."""
        wait = self.cooldowns.retry_after(user_id)
        if wait > 0:
            return f"Slow down: you can ask again in {math.ceil(wait)} s."
        if self.slots.locked():
            return BUSY
        self.cooldowns.hit(user_id)
        await self.slots.acquire()  # a slot is free, so this does not wait and nobody can take it first
        return None

    async def limited(
        self, interaction: discord.Interaction[Any], work: Callable[[], T], *, ephemeral: bool = False
    ) -> T | None:
        """`work()` in a thread, after admission and a defer; None when refused (the user is told)."""
        refusal = await self.admit(interaction.user.id)
        if refusal is not None:
            await send_ephemeral(interaction, refusal)
            return None
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            return await asyncio.to_thread(work)
        finally:
            self.slots.release()

    def remember(
        self,
        answer: Answer,
        k: int,
        history: Asked,
        filters: Filters | None = None,
        timeline: bool | None = None,
    ) -> str:
        """A key for the buttons under `answer` (random: custom ids are visible to every client)."""
        key = secrets.token_hex(6)
        self.shown.put(key, Shown(answer, k, self.service.generation, history, filters, timeline))
        return key

    async def send_embeds(
        self,
        interaction: discord.Interaction[Any],
        batches: list[list[discord.Embed]],
        *,
        view: discord.ui.View | None = None,
        ephemeral: bool = False,
        conversation: Conversation | None = None,
    ) -> None:
        """Follow-ups, one per batch, the view under the last; each public one continues `conversation`
        (a thread started from it, or a reply to it)."""
        for number, embeds in enumerate(batches, start=1):
            last = number == len(batches)
            sent = await interaction.followup.send(
                embeds=embeds,
                view=view if (last and view is not None) else MISSING,
                ephemeral=ephemeral,
                allowed_mentions=NO_MENTIONS,
                wait=True,
            )
            if conversation is not None and not ephemeral:
                self.conversations.put(sent.id, conversation)


class Questions(commands.Cog):
    """The commands; each is thin: check, defer, call the library in a thread, render, send."""

    def __init__(self, bot: QABot) -> None:
        self.bot = bot

    @app_commands.command(description="Answer a question with verbatim quotes from the documents.")
    @app_commands.describe(
        question="What you want to know",
        since=SINCE_HELP,
        until=UNTIL_HELP,
        source=SOURCE_HELP,
        timeline="One quote per document, oldest first (default: when the question asks about change)",
    )
    async def ask(
        self,
        interaction: discord.Interaction[QABot],
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        since: app_commands.Range[str, 1, DATE_OPTION_CHARS] | None = None,
        until: app_commands.Range[str, 1, DATE_OPTION_CHARS] | None = None,
        source: app_commands.Range[str, 1, SOURCE_OPTION_CHARS] | None = None,
        timeline: bool | None = None,
    ) -> None:
        text = clean_question(question)
        filters = discord_filters(since, until, source)
        service, k = self.bot.service, self.bot.settings.top_k
        earlier = self.bot.conversations.get(interaction.channel_id or 0)  # /ask inside a conversation
        history = earlier.asked if earlier is not None else ()
        if filters is None and earlier is not None:
            filters = earlier.filters
        await asyncio.to_thread(service.check, filters)  # before the defer: the error stays private
        work = functools.partial(service.answer, text, k, history, filters, timeline)
        answer = await self.bot.limited(interaction, work)
        if answer is None:
            return
        conversation = Conversation((*history, answer.question), filters)
        if earlier is not None and interaction.channel_id is not None:
            self.bot.conversations.put(interaction.channel_id, conversation)
        key = self.bot.remember(answer, k, history, filters, timeline)
        view = answer_view(key, answer.answered)
        embeds = answer_embeds(answer, filters=filters)
        await self.bot.send_embeds(interaction, embeds, view=view, conversation=conversation)

    @app_commands.command(description="Rank the documents for a query.")
    @app_commands.describe(
        query="Words or a question to rank the documents by",
        since=SINCE_HELP,
        until=UNTIL_HELP,
        source=SOURCE_HELP,
    )
    async def search(
        self,
        interaction: discord.Interaction[QABot],
        query: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        since: app_commands.Range[str, 1, DATE_OPTION_CHARS] | None = None,
        until: app_commands.Range[str, 1, DATE_OPTION_CHARS] | None = None,
        source: app_commands.Range[str, 1, SOURCE_OPTION_CHARS] | None = None,
    ) -> None:
        text = clean_question(query)
        filters = discord_filters(since, until, source)
        service = self.bot.service
        await asyncio.to_thread(service.check, filters)  # before the defer: the error stays private
        work = functools.partial(service.search, text, SEARCH_RESULTS, filters)
        found = await self.bot.limited(interaction, work)
        if found is not None:
            await self.bot.send_embeds(interaction, search_embeds(text, found, filters))

    @ask.autocomplete("source")
    @search.autocomplete("source")
    async def complete_source(
        self, interaction: discord.Interaction[QABot], current: str
    ) -> list[app_commands.Choice[str]]:
        return source_choices(self.bot.service, current)

    @app_commands.command(description="List the indexed documents.")
    @app_commands.describe(page="Page to show")
    async def sources(
        self, interaction: discord.Interaction[QABot], page: app_commands.Range[int, 1] = 1
    ) -> None:
        embed, view = self.sources_page(page)
        await interaction.response.send_message(
            embed=embed, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(description="Show the index generation and whether the corpus changed since.")
    async def status(self, interaction: discord.Interaction[QABot]) -> None:
        service = self.bot.service
        work = functools.partial(corpus_changes, self.bot.settings.corpus_dir, service.manifest)
        changes = await self.bot.limited(interaction, work, ephemeral=True)  # it hashes the whole corpus
        if changes is None:
            return
        embed = status_embed(
            service.manifest,
            changes.added,
            changes.changed,
            changes.removed,
            changes.skipped,
            reindexing=self.bot.reindexing.locked(),
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(description="Rebuild the index from the corpus (Manage Server or bot owners).")
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction[QABot]) -> None:
        # default_permissions only hides the command; server admins can change that, so check here too.
        if not may_reindex(interaction, self.bot.settings.discord_owner_ids):
            await send_ephemeral(
                interaction, "Only members who can manage this server, or bot owners, can reindex."
            )
            return
        if self.bot.reindexing.locked():
            await send_ephemeral(
                interaction, "A reindex is already running; the current index keeps serving."
            )
            return
        async with self.bot.reindexing:
            await interaction.response.defer(ephemeral=True, thinking=True)
            try:
                built, service = await asyncio.to_thread(rebuild, self.bot.settings)
            except StoreError as exc:  # e.g. `qabot index` running: for admins, so the message is useful
                await send_ephemeral(interaction, f"Reindex failed: {exc}")
                return
            self.bot.service = service
        await send_ephemeral(interaction, reindexed(built))

    # ------------------------------------------------------------ buttons

    async def on_answer_button(self, interaction: discord.Interaction[Any], action: str, key: str) -> None:
        try:
            shown = self.bot.shown.get(key)
            if shown is None:
                await send_ephemeral(interaction, EXPIRED)
            elif action in ("up", "down"):
                await self.vote(interaction, key, shown, 1 if action == "up" else -1)
            elif action == "more":
                await self.more_quotes(interaction, shown)
            else:
                await self.show_context(interaction, shown)
        except Exception as exc:
            await report(interaction, exc)

    async def vote(self, interaction: discord.Interaction[Any], key: str, shown: Shown, vote: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        record = functools.partial(
            self.bot.feedback.record,
            key,
            shown.answer,
            vote,
            interaction.user.id,
            shown.generation,
            shown.filters,
        )
        await asyncio.to_thread(record)
        await send_ephemeral(interaction, f"Thanks, your {'👍' if vote > 0 else '👎'} is recorded.")

    async def more_quotes(self, interaction: discord.Interaction[Any], shown: Shown) -> None:
        service = self.bot.service
        work = functools.partial(service.more, shown, shown.k + MORE_QUOTES)
        more = await self.bot.limited(interaction, work, ephemeral=True)
        if more is None:
            return
        if not more.quotes:
            await send_ephemeral(interaction, "No further quotes are close enough to the question.")
            return
        first = len(shown.answer.quotes) + 1
        batches = answer_embeds(more, first=first, prefix="More: ", filters=shown.filters)
        await self.bot.send_embeds(interaction, batches, ephemeral=True)

    async def show_context(self, interaction: discord.Interaction[Any], shown: Shown) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        windows = await asyncio.to_thread(self.bot.service.windows, shown.answer)
        await self.bot.send_embeds(interaction, context_embeds(shown.answer, windows), ephemeral=True)

    def sources_page(self, page: int) -> tuple[discord.Embed, discord.ui.View]:
        service = self.bot.service
        sources = service.sources
        pages = page_count(len(sources))
        page = min(max(page, 1), pages)
        added = {doc: f"added by {e.user_name} on {e.at[:10]}" for doc, e in service.added.items()}
        return sources_embed(sources, page, notes=added), sources_view(page, pages)

    async def on_sources_button(self, interaction: discord.Interaction[Any], page: int) -> None:
        try:
            embed, view = self.sources_page(page)
            await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        except Exception as exc:
            await report(interaction, exc)

    # ------------------------------------------------------------ mentions, DMs, follow-ups

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is None:
            return
        question = question_in(message, self.bot.user.id, self.bot.conversations)
        if question is None:
            return
        try:
            await self.answer_message(message, question)
        except Exception as exc:
            await self.reply(message, error_message(exc))

    async def answer_message(self, message: discord.Message, question: str) -> None:
        text = clean_question(question)
        refusal = await self.bot.admit(message.author.id)
        if refusal is not None:
            await self.reply(message, refusal, delete_after=10)  # no ephemeral replies to messages
            return
        service, k = self.bot.service, self.bot.settings.top_k
        earlier = continued(message, self.bot.conversations)
        history, filters = (earlier.asked, earlier.filters) if earlier is not None else ((), None)
        try:
            async with message.channel.typing():
                answer = await asyncio.to_thread(service.answer, text, k, history, filters)
        finally:
            self.bot.slots.release()
        conversation = Conversation((*history, answer.question), filters)
        if message.channel.id in self.bot.conversations:
            self.bot.conversations.put(message.channel.id, conversation)
        key = self.bot.remember(answer, k, history, filters)
        await self.post_answer(message, answer, key, conversation)

    async def post_answer(
        self, message: discord.Message, answer: Answer, key: str, conversation: Conversation
    ) -> None:
        """The answer as replies in the message's channel (its thread, if any), buttons under the last."""
        batches = answer_embeds(answer, filters=conversation.filters)
        for number, embeds in enumerate(batches, start=1):
            # Messageable.send treats a passed MISSING as a value, so only pass what applies.
            extra: dict[str, Any] = {}
            if number == 1:
                extra["reference"] = message.to_reference(fail_if_not_exists=False)
                extra["mention_author"] = False
            if number == len(batches):
                extra["view"] = answer_view(key, answer.answered)
            sent = await message.channel.send(embeds=embeds, allowed_mentions=NO_MENTIONS, **extra)
            self.bot.conversations.put(sent.id, conversation)

    async def reply(self, message: discord.Message, text: str, delete_after: float | None = None) -> None:
        """A short reply in the message's channel (its thread, if any); deleted later when it is noise."""
        extra: dict[str, Any] = {} if delete_after is None else {"delete_after": delete_after}
        try:
            await message.channel.send(
                content(text),
                reference=message.to_reference(fail_if_not_exists=False),
                mention_author=False,
                allowed_mentions=NO_MENTIONS,
                **extra,
            )
        except discord.HTTPException:
            log.warning("could not reply in channel %s", message.channel.id)


def create_bot(
    settings: Settings | None = None, *, sync: bool = False, clock: Clock = time.monotonic
) -> QABot:
    """The bot, configured but not connected (tests and tools can inspect it; `run` connects it).

    `clock` (monotonic seconds) times cooldowns and conversation expiry.
    """
    return QABot(settings or default_settings(), sync=sync, clock=clock)


def default_settings() -> Settings:
    """Settings from the environment and .env, as the CLI reads them."""
    none: dict[str, Any] = {}  # (typed so that mypy, without pydantic's plugin, accepts the defaults)
    return Settings(**none)


def run(settings: Settings, *, sync: bool = False) -> None:
    """Connect and serve until interrupted; the token is read from the settings only here."""
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise BotError("no Discord token: set DISCORD_TOKEN (in the environment or .env)")
    bot = create_bot(settings, sync=sync)
    try:
        bot.run(settings.discord_token.get_secret_value(), root_logger=True)
    except discord.LoginFailure:
        raise BotError("Discord rejected the token: check DISCORD_TOKEN") from None
