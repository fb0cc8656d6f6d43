"""/add and /remove: qabot.library in Discord, gated like /reindex (Manage Server, or the bot's owner ids).

What the command alone shows to be refused (no permission, neither or both of `url` and `file`, a link
that is not http(s) or is a private address, a file of the wrong type or size, the hourly limit) is refused
before the defer, privately. Then the bot defers privately (within Discord's 3 seconds), fetches or
downloads, adds and rebuilds in a thread, loads the new index, and tells the adder privately what
happened; a document that was added is also announced in the channel, where everyone can now ask about it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from qabot import intake, library
from qabot.config import Settings
from qabot.discord_render import content, fit, safe_url, sanitize
from qabot.fetch import FetchError, FetchPolicy, precheck
from qabot.store import StoreError

if TYPE_CHECKING:
    from qabot.bot import QABot, Service

URL_OPTION_CHARS = 2000
DOCUMENT_OPTION_CHARS = 200
AUTOCOMPLETE_CHOICES = 25

URL_HELP = "A link to a web page, a PDF or a text file"
FILE_HELP = "An .html, .pdf, .txt or .md file"
NOT_ALLOWED = "Only members who can manage this server, or bot owners, can add or remove documents."
ONE_OF = "Give either a link (url) or a file, one at a time."


def actor_of(user: discord.abc.User) -> library.Actor:
    return library.Actor(f"discord:{user.id}", user.name)


def add_refusal(settings: Settings, url: str | None, file: discord.Attachment | None) -> str | None:
    """Why the options of an /add cannot be taken, found without the network or the disk, or None."""
    if (url is None) == (file is None):
        return ONE_OF
    try:
        if url is not None:
            precheck(url, FetchPolicy.from_settings(settings))
        elif file is not None:
            intake.check_upload(file.filename, file.size, settings.fetch_max_bytes)
    except (FetchError, intake.Refused) as exc:
        return could_not("add", url or (file.filename if file else ""), str(exc))
    return None


def hourly_refusal(settings: Settings, actor: library.Actor) -> str | None:
    """The hourly limit, when the adder has reached it (reads the audit log: call in a thread)."""
    if library.adds_left(settings, actor, settings.adds_per_hour) == 0:
        limit = settings.adds_per_hour
        return f"You have reached the limit of {limit} added documents per hour; please try again later."
    return None


def could_not(verb: str, given: str, reason: str) -> str:
    return f"Could not {verb} {fit(given, 300)}: {sanitize(reason)}."


def about(doc: library.AddedDocument) -> str:
    """`date · author · source`, the date first (undated when there is none)."""
    return " · ".join(fit(x, 100) for x in (doc.date or "undated", doc.author, doc.source) if x)


def add_outcome(report: library.AddReport) -> str:
    """What the adder is told, privately."""
    if report.added:
        doc = report.added[0]
        return (
            f"Added “{fit(doc.title, 300)}” ({about(doc)}) as `{fit(doc.id, 200)}`: "
            "it is answerable now, and announced in this channel."
        )
    skipped = report.skipped[0]
    if not skipped.refused:
        return f"{fit(skipped.input, 300)} is already in the corpus as `{fit(skipped.existing or '', 200)}`."
    return could_not("add", skipped.input, skipped.reason)


def announcement(doc: library.AddedDocument, actor: library.Actor) -> str:
    """The public message: which document, dated, from where, and that it can be asked about."""
    link = safe_url(doc.url)
    where = f" <{link}>" if link else ""
    return (
        f"📄 {fit(actor.name, 64)} added “{fit(doc.title, 300)}” ({about(doc)}){where}: "
        "ask about it with /ask."
    )


def remove_outcome(report: library.RemoveReport) -> str:
    if report.removed:
        doc = report.removed[0]
        return f"Removed “{fit(doc.title, 300)}” (`{fit(doc.id, 200)}`): it is no longer quoted."
    skipped = report.skipped[0]
    return could_not("remove", skipped.input, skipped.reason)


def document_choices(service: Service, typed: str) -> list[app_commands.Choice[str]]:
    """Up to 25 indexed documents whose title, id or path contains what was typed (no folders)."""
    ids = {s.id for s in service.sources}
    wanted = typed.strip().casefold()
    found = [(n, v) for n, v, text in service.source_choices if v in ids and wanted in text]
    return [app_commands.Choice(name=n, value=v) for n, v in found[:AUTOCOMPLETE_CHOICES]]


class Library(commands.Cog):
    """/add and /remove: thin: check, defer, call qabot.library in a thread, reload, tell."""

    def __init__(self, bot: QABot) -> None:
        self.bot = bot

    @app_commands.command(description="Add a web page, PDF or text file to the documents (Manage Server).")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(url=URL_HELP, file=FILE_HELP)
    async def add(
        self,
        interaction: discord.Interaction[QABot],
        url: app_commands.Range[str, 1, URL_OPTION_CHARS] | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        from qabot.bot import may_reindex, send_ephemeral

        settings, actor = self.bot.settings, actor_of(interaction.user)
        # default_permissions only hides the command; server admins can change that, so check here too.
        refusal = NOT_ALLOWED if not may_reindex(interaction, settings.discord_owner_ids) else None
        refusal = refusal or add_refusal(settings, url, file)
        refusal = refusal or await asyncio.to_thread(hourly_refusal, settings, actor)
        if refusal is not None:
            await send_ephemeral(interaction, refusal)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.take(settings, actor, url, file)
        except StoreError as exc:  # the build failed: for admins, so the message is useful
            await send_ephemeral(interaction, f"Adding failed, and nothing changed: {exc}")
            return
        if report.added:
            await self.bot.reload()
        await send_ephemeral(interaction, add_outcome(report))
        for doc in report.added:
            await interaction.followup.send(
                content(announcement(doc, actor)), allowed_mentions=discord.AllowedMentions.none()
            )

    async def take(
        self, settings: Settings, actor: library.Actor, url: str | None, file: discord.Attachment | None
    ) -> library.AddReport:
        """Fetch the link or download the file, then add it (the rebuild included)."""
        if url is not None:
            policy = FetchPolicy.from_settings(settings)
            incoming, skipped = await asyncio.to_thread(library.prepare, settings, [url], policy)
        elif file is not None:
            incoming, skipped = await self.download(settings, file)
        return await asyncio.to_thread(
            library.add, settings, incoming, actor, skipped, settings.adds_per_hour
        )

    async def download(
        self, settings: Settings, file: discord.Attachment
    ) -> tuple[list[intake.Incoming], list[library.Skipped]]:
        seconds = settings.fetch_timeout_seconds
        try:  # from Discord's CDN through discord.py's own HTTP session, within the download time limit
            data = await asyncio.wait_for(file.read(), timeout=seconds)
        except discord.HTTPException:
            return [], [library.Skipped(file.filename, "Discord did not hand over the file (deleted?)")]
        except asyncio.TimeoutError:
            return [], [library.Skipped(file.filename, f"Discord did not hand it over within {seconds:g} s")]
        try:
            made = await asyncio.to_thread(intake.from_upload, file.filename, data, settings.fetch_max_bytes)
        except intake.Refused as exc:
            return [], [library.Skipped(file.filename, str(exc))]
        return [made], []

    @app_commands.command(description="Take a document out of the documents (Manage Server).")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(document="The document to take out (type part of its title)")
    async def remove(
        self,
        interaction: discord.Interaction[QABot],
        document: app_commands.Range[str, 1, DOCUMENT_OPTION_CHARS],
    ) -> None:
        from qabot.bot import may_reindex, send_ephemeral

        settings = self.bot.settings
        if not may_reindex(interaction, settings.discord_owner_ids):
            await send_ephemeral(interaction, NOT_ALLOWED)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await asyncio.to_thread(library.remove, settings, [document], actor_of(interaction.user))
        except StoreError as exc:
            await send_ephemeral(interaction, f"Removing failed, and nothing changed: {exc}")
            return
        if report.removed:
            await self.bot.reload()
        await send_ephemeral(interaction, remove_outcome(report))

    @remove.autocomplete("document")
    async def complete_document(
        self, interaction: discord.Interaction[QABot], current: str
    ) -> list[app_commands.Choice[str]]:
        return document_choices(self.bot.service, current)
