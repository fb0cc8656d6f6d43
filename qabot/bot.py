"""The Discord bot: slash commands, mentions and DMs answered by the same `Answerer` as the CLI.

Shape (discord.py's examples/advanced_startup.py): `QABot` is a `commands.Bot` whose `setup_hook` does the
one-time work (load the index, add the cog, register the buttons, sync commands only when asked), so a
reconnect reloads nothing. Every handler answers Discord within its 3 seconds by deferring first, then
runs model and index work in a thread, a few at a time. Nothing sent can mention anyone: the client
default and every send pass `AllowedMentions.none()`, and `discord_render` escapes what is quoted.
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
from typing import Any, Generic, TypeVar

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import MISSING

from qabot import store
from qabot.answer import (
    MAX_QUESTION_CHARS,
    Answer,
    Answerer,
    QuestionError,
    Quote,
    RankedDocument,
    Source,
    clean_question,
)
from qabot.config import Settings
from qabot.corpus import load_corpus
from qabot.discord_render import (
    answer_embeds,
    content,
    context_embeds,
    page_count,
    search_embeds,
    sources_embed,
    status_embed,
)
from qabot.feedback import FeedbackStore
from qabot.store import StoreError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
SEARCH_RESULTS = 5
MORE_QUOTES = 5  # extra quotes the "More quotes" button asks for
CONTEXT_SENTENCES = 3  # sentences each side of a quote under "Show context"
REMEMBERED = 1000  # answers whose buttons still work (and answer messages that start follow-up threads)
FEEDBACK_FILE = "feedback.sqlite"

BUSY = "I'm answering other questions right now; please try again in a few seconds."
EXPIRED = "This answer is no longer in memory (the bot restarted or it is too old); please ask again."

ANSWERABLE = (discord.MessageType.default, discord.MessageType.reply)  # not joins, pins, thread notices...
Asked = tuple[str, ...]  # the questions of a conversation so far, oldest first
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class BotError(RuntimeError):
    """The bot cannot run (for example the token is rejected); the message says what to fix."""


@dataclass(frozen=True)
class Limits:
    """How much work the bot takes on: the design machine has two cores."""

    concurrency: int = 2
    cooldown_seconds: float = 3.0


@dataclass(frozen=True)
class Shown:
    """An answer as posted, for its buttons: what was asked, with how many quotes, on which index."""

    answer: Answer
    k: int
    generation: str
    history: Asked = ()


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


class Cooldowns:
    """At most one request per `seconds` per user."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        last = self._last.get(user_id)
        return 0.0 if last is None else max(0.0, last + self.seconds - time.monotonic())

    def hit(self, user_id: int) -> None:
        now = time.monotonic()
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if t + self.seconds > now}
        self._last[user_id] = now


# ---------------------------------------------------------------- library side (blocking: call in a thread)


class Service:
    """Answers, searches and listings over one loaded index generation."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer
        self.manifest: Mapping[str, Any] = answerer.index.manifest
        self.sources = catalog(answerer.index)

    @classmethod
    def load(cls, settings: Settings) -> Service:
        index = store.open_index(settings)
        return cls(Answerer(index, min_score=settings.min_score, threads=settings.threads))

    @property
    def generation(self) -> str:
        return str(self.manifest["generation"])

    def answer(self, question: str, k: int, history: Asked = ()) -> Answer:
        return self.answerer.answer(question, k, history=history)

    def search(self, query: str, k: int) -> list[RankedDocument]:
        return self.answerer.search(query, k)

    def more(self, shown: Answer, k: int, history: Asked = ()) -> Answer:
        """The quotes a wider answer (`k` quotes) adds to those already shown."""
        wider = self.answerer.answer(shown.question, k, history=history)
        seen = {(q.source.id, q.start) for q in shown.quotes}
        extra = tuple(q for q in wider.quotes if (q.source.id, q.start) not in seen)
        return Answer(shown.question, wider.answered, extra, timeline=wider.timeline)

    def windows(self, answer: Answer, n: int = CONTEXT_SENTENCES) -> list[tuple[str, str]]:
        return [self.window(q, n) for q in answer.quotes]

    def window(self, quote: Quote, n: int) -> tuple[str, str]:
        """The verbatim text of up to `n` sentences before and after `quote` in its document."""
        index = self.answerer.index
        row = index.db.execute(
            "SELECT s.rowid, s.doc FROM sentences AS s JOIN documents AS d ON d.rowid = s.doc"
            " WHERE d.id = ? AND s.start = ? AND s.end = ?",
            (quote.source.id, quote.start, quote.end),
        ).fetchone()
        if row is None:  # the document changed since the answer was given
            return quote.before, quote.after
        sentence, doc = row
        rows = [s for s in index.sentences(sentence - n, sentence + n) if s.doc == doc]
        text = index.document(doc).text
        return text[rows[0].start : quote.start], text[quote.end : rows[-1].end]


def catalog(index: store.Index) -> tuple[Source, ...]:
    """Every indexed document, in index order."""
    rows = index.db.execute("SELECT id, title, path, date, url FROM documents ORDER BY rowid")
    return tuple(Source(*row) for row in rows)


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
        return str(exc)
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


def question_in(message: discord.Message, me: int, conversations: Recent[int, Asked]) -> str | None:
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


def earlier_questions(message: discord.Message, conversations: Recent[int, Asked]) -> Asked:
    """What was asked before in the conversation a message continues: its thread's, else its reply's."""
    reference = message.reference.message_id if message.reference is not None else None
    for key in (message.channel.id, reference):
        history = conversations.get(key) if key is not None else None
        if history is not None:
            return history
    return ()


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

    def __init__(self, settings: Settings, *, sync: bool = False, limits: Limits | None = None) -> None:
        limits = limits or Limits()
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents.default(),  # no privileged intent: no message content, no members
            allowed_mentions=NO_MENTIONS,
            tree_cls=QATree,
        )
        self.settings = settings
        self.sync_on_start = sync
        self.slots = asyncio.Semaphore(limits.concurrency)
        self.cooldowns = Cooldowns(limits.cooldown_seconds)
        self.reindexing = asyncio.Lock()
        self.shown: Recent[str, Shown] = Recent(REMEMBERED)
        # Answer messages (and threads started from them, which share their id) -> the questions so far.
        self.conversations: Recent[int, Asked] = Recent(REMEMBERED)
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
        self._service = await asyncio.to_thread(Service.load, self.settings)
        self._feedback = await asyncio.to_thread(FeedbackStore, self.settings.index_dir / FEEDBACK_FILE)
        self.add_dynamic_items(AnswerButton, SourcesButton)
        await self.add_cog(Questions(self))
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

    def remember(self, answer: Answer, k: int, history: Asked) -> str:
        """A key for the buttons under `answer` (random: custom ids are visible to every client)."""
        key = secrets.token_hex(6)
        self.shown.put(key, Shown(answer, k, self.service.generation, history))
        return key

    async def send_embeds(
        self,
        interaction: discord.Interaction[Any],
        batches: list[list[discord.Embed]],
        *,
        view: discord.ui.View | None = None,
        ephemeral: bool = False,
        asked: Asked = (),
    ) -> None:
        """Follow-ups, one per batch, the view under the last; `asked` is remembered for follow-ups."""
        for number, embeds in enumerate(batches, start=1):
            last = number == len(batches)
            sent = await interaction.followup.send(
                embeds=embeds,
                view=view if (last and view is not None) else MISSING,
                ephemeral=ephemeral,
                allowed_mentions=NO_MENTIONS,
                wait=True,
            )
            if asked and not ephemeral:
                self.conversations.put(sent.id, asked)


class Questions(commands.Cog):
    """The commands; each is thin: check, defer, call the library in a thread, render, send."""

    def __init__(self, bot: QABot) -> None:
        self.bot = bot

    @app_commands.command(description="Answer a question with verbatim quotes from the documents.")
    @app_commands.describe(question="What you want to know")
    async def ask(
        self,
        interaction: discord.Interaction[QABot],
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
    ) -> None:
        text = clean_question(question)
        service, k = self.bot.service, self.bot.settings.top_k
        history = self.bot.conversations.get(interaction.channel_id or 0) or ()
        answer = await self.bot.limited(interaction, functools.partial(service.answer, text, k, history))
        if answer is None:
            return
        asked = (*history, answer.question)
        if history and interaction.channel_id is not None:
            self.bot.conversations.put(interaction.channel_id, asked)
        key = self.bot.remember(answer, k, history)
        view = answer_view(key, answer.answered)
        await self.bot.send_embeds(interaction, answer_embeds(answer), view=view, asked=asked)

    @app_commands.command(description="Rank the documents for a query.")
    @app_commands.describe(query="Words or a question to rank the documents by")
    async def search(
        self, interaction: discord.Interaction[QABot], query: app_commands.Range[str, 1, MAX_QUESTION_CHARS]
    ) -> None:
        text = clean_question(query)
        service = self.bot.service
        found = await self.bot.limited(interaction, functools.partial(service.search, text, SEARCH_RESULTS))
        if found is not None:
            await self.bot.send_embeds(interaction, search_embeds(text, found))

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
            self.bot.feedback.record, key, shown.answer, vote, interaction.user.id, shown.generation
        )
        await asyncio.to_thread(record)
        await send_ephemeral(interaction, f"Thanks, your {'👍' if vote > 0 else '👎'} is recorded.")

    async def more_quotes(self, interaction: discord.Interaction[Any], shown: Shown) -> None:
        service = self.bot.service
        work = functools.partial(service.more, shown.answer, shown.k + MORE_QUOTES, shown.history)
        more = await self.bot.limited(interaction, work, ephemeral=True)
        if more is None:
            return
        if not more.quotes:
            await send_ephemeral(interaction, "No further quotes are close enough to the question.")
            return
        batches = answer_embeds(more, first=len(shown.answer.quotes) + 1, prefix="More: ")
        await self.bot.send_embeds(interaction, batches, ephemeral=True)

    async def show_context(self, interaction: discord.Interaction[Any], shown: Shown) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        windows = await asyncio.to_thread(self.bot.service.windows, shown.answer)
        await self.bot.send_embeds(interaction, context_embeds(shown.answer, windows), ephemeral=True)

    def sources_page(self, page: int) -> tuple[discord.Embed, discord.ui.View]:
        sources = self.bot.service.sources
        pages = page_count(len(sources))
        page = min(max(page, 1), pages)
        return sources_embed(sources, page), sources_view(page, pages)

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
        history = earlier_questions(message, self.bot.conversations)
        try:
            async with message.channel.typing():
                answer = await asyncio.to_thread(service.answer, text, k, history)
        finally:
            self.bot.slots.release()
        asked = (*history, answer.question)
        if message.channel.id in self.bot.conversations:
            self.bot.conversations.put(message.channel.id, asked)
        await self.post_answer(message, answer, self.bot.remember(answer, k, history), asked)

    async def post_answer(self, message: discord.Message, answer: Answer, key: str, asked: Asked) -> None:
        """The answer as replies in the message's channel (its thread, if any), buttons under the last."""
        batches = answer_embeds(answer)
        for number, embeds in enumerate(batches, start=1):
            # Messageable.send treats a passed MISSING as a value, so only pass what applies.
            extra: dict[str, Any] = {}
            if number == 1:
                extra["reference"] = message.to_reference(fail_if_not_exists=False)
                extra["mention_author"] = False
            if number == len(batches):
                extra["view"] = answer_view(key, answer.answered)
            sent = await message.channel.send(embeds=embeds, allowed_mentions=NO_MENTIONS, **extra)
            self.bot.conversations.put(sent.id, asked)

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
    settings: Settings | None = None, *, sync: bool = False, limits: Limits | None = None
) -> QABot:
    """The bot, configured but not connected (tests and tools can inspect it; `run` connects it)."""
    return QABot(settings or default_settings(), sync=sync, limits=limits)


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
