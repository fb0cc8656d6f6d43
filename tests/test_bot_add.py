"""/add (a link or an attached file), /remove and /sources' who-added-what, through the payload harness of
tests/test_bot_discord.py: real discord.py objects, the real index and model, Discord's HTTP faked at its
lowest layer, attachments served by the fake CDN, links by the loopback test site."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from qabot import library, store
from qabot.audit import Event
from qabot.config import Settings
from qabot.discord_library import NOT_ALLOWED, ONE_OF
from tests.sites import PDF, PNG, Site
from tests.test_bot_discord import (
    CHANNEL_ID,
    DEFERRED,
    EPHEMERAL,
    MANAGE_GUILD,
    MESSAGE,
    OWNER_ID,
    FakeDiscord,
    Harness,
    Sent,
    assert_safe,
    drive,
)

ADMIN = 100000000000000005
HINT = "and only public addresses are fetched \\(QABOT\\_ALLOWED\\_NETWORKS can allow a network\\)"


def upload(h: Harness, name: str, data: bytes, *, permissions: int = MANAGE_GUILD, user: int = ADMIN) -> int:
    """/add file: as Discord delivers it: the attachment resolved in the payload, its bytes on the CDN."""
    aid = next(h.ids)
    url = f"https://cdn.discordapp.com/attachments/{CHANNEL_ID}/{aid}/{name}"
    h.fake.cdn[url] = data
    attachment = {"id": str(aid), "filename": name, "size": len(data), "url": url, "proxy_url": url}
    data_ = {
        "id": "1",
        "name": "add",
        "type": 1,
        "options": [{"name": "file", "type": 11, "value": str(aid)}],
        "resolved": {"attachments": {str(aid): attachment}},
    }
    return h.interaction(2, data_, user=user, guild=True, channel=CHANNEL_ID, permissions=permissions)


def texts(sent: list[Sent]) -> list[str]:
    return [s.message.get("content") or "" for s in sent]


def files(settings: Settings) -> set[str]:
    return {p.name for p in settings.corpus_dir.iterdir()}


# ---------------------------------------------------------------- who may add


def test_add_and_remove_are_refused_privately_without_the_permission(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []
    fetched = len(site.requests)

    async def scenario(h: Harness) -> None:
        ids.append(h.command("add", url=site.url("/article.html"), permissions=0))
        ids.append(h.command("add", url=site.url("/article.html"), guild=False))  # a DM from a non-owner
        ids.append(upload(h, "report.pdf", PDF, permissions=0))
        ids.append(h.command("remove", document="armenia-invites-more-russian-troops", permissions=0))
        await h.settle()

    before = files(private_index)
    fake = drive(private_index, scenario, monkeypatch)
    for iid in ids:
        [reply] = fake.for_interaction(iid)
        assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
        assert reply.message["content"] == NOT_ALLOWED
    assert len(site.requests) == fetched and not fake.by("cdn")  # nothing was fetched or downloaded
    assert files(private_index) == before


# ---------------------------------------------------------------- /add url:


def test_add_a_link_answers_within_3_seconds_then_it_is_answerable(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = site.url("/article.html")
    ids: dict[str, int] = {}
    asked_at: dict[str, float] = {}
    generations: list[str] = []

    async def scenario(h: Harness) -> None:
        generations.append(h.bot.service.generation)
        asked_at["add"] = time.perf_counter()
        ids["add"] = h.command("add", url=url, permissions=MANAGE_GUILD, user=ADMIN)
        await h.settle()
        generations.append(h.bot.service.generation)
        ids["ask"] = h.command("ask", question="How much did the water level of Lake Sevan rise?")
        ids["again"] = h.command("add", url=url, permissions=MANAGE_GUILD, user=ADMIN)
        ids["sources"] = h.command("sources")
        await h.settle()

    fake = drive(private_index, scenario, monkeypatch)
    defer, told, announced = fake.for_interaction(ids["add"])
    assert defer.callback_type == DEFERRED and defer.flags == EPHEMERAL
    assert defer.at - asked_at["add"] < 3.0  # Discord's acknowledgement window
    assert told.flags == EPHEMERAL and told.message["content"] == (
        "Added “Lake Sevan rises again” (2024-05-14 · Anna Petrosyan · Caucasus Water News) as "
        "`lake-sevan-rises-again`: it is answerable now, and announced in this channel."
    )
    assert announced.flags == 0 and announced.message["content"] == (
        "📄 user5 added “Lake Sevan rises again” (2024-05-14 · Anna Petrosyan · Caucasus Water News) "
        f"<{url}>: ask about it with /ask."
    )
    for sent in (told, announced):
        assert_safe(sent)
    assert generations[1] != generations[0] and generations[1] == store.open_index(private_index).generation

    _, answer = fake.for_interaction(ids["ask"])
    embed = answer.message["embeds"][0]
    assert "rose by **14 centimetres**" in embed["description"]  # the answer, marked in its quote
    assert "2024-05-14" in answer.text and url in answer.text

    _, again = fake.for_interaction(ids["again"])
    assert again.message["content"] == f"{url} is already in the corpus as `lake-sevan-rises-again`."
    [sources] = fake.for_interaction(ids["sources"])
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    line = f" Lake Sevan rises again (as of 2024-05-14) · added by user5 on {today}\n"
    assert line in sources.message["embeds"][0]["description"]
    [event] = library.audit_log(private_index).events()
    assert (event.user_id, event.user_name, event.input) == (f"discord:{ADMIN}", "user5", url)


@pytest.mark.parametrize(
    ("options", "told"),
    [
        ({}, ONE_OF),
        (
            {"url": "http://10.0.0.1/x"},
            f"Could not add http://10.0.0.1/x: 10.0.0.1 is a private address, {HINT}.",
        ),
        (
            {"url": "ftp://example.com/"},
            "Could not add ftp://example.com/: only http and https links can be added, not ftp.",
        ),
    ],
)
def test_what_the_options_show_to_be_wrong_is_refused_before_the_defer(
    private_index: Settings, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], told: str
) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("add", permissions=MANAGE_GUILD, **options))
        await h.settle()

    fake = drive(private_index, scenario, monkeypatch)
    [reply] = fake.for_interaction(ids[0])
    assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
    assert reply.message["content"] == told


def test_a_refusal_found_after_the_defer_stays_private_and_changes_nothing(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("add", url=site.url("/to-private"), permissions=MANAGE_GUILD))
        await h.settle()

    before = files(private_index)
    fake = drive(private_index, scenario, monkeypatch)
    defer, told = fake.for_interaction(ids[0])  # and no announcement
    assert defer.callback_type == DEFERRED and told.flags == EPHEMERAL
    assert told.message["content"] == (
        f"Could not add {site.url('/to-private')}: it redirects to http://10.20.30.40/admin; "
        f"10.20.30.40 is a private address, {HINT}."
    )
    assert files(private_index) == before and library.audit_log(private_index).events() == []


def test_the_hourly_limit_is_refused_before_the_defer(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).isoformat(timespec="seconds")
    earlier = Event("e1", "add", "x", "X", "x.txt", None, None, "x.txt", f"discord:{ADMIN}", "user5", "g", at)
    library.audit_log(private_index).record([earlier])
    ids: list[int] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("add", url=site.url("/article.html"), permissions=MANAGE_GUILD, user=ADMIN))
        await h.settle()

    fake = drive(private_index, scenario, monkeypatch, adds_per_hour=1)
    [reply] = fake.for_interaction(ids[0])
    assert reply.callback_type == MESSAGE and reply.flags == EPHEMERAL
    assert reply.message["content"] == (
        "You have reached the limit of 1 added documents per hour; please try again later."
    )


# ---------------------------------------------------------------- /add file:


def test_add_an_attached_pdf_and_refuse_what_is_not_a_document(
    private_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: dict[str, int] = {}

    async def scenario(h: Harness) -> None:
        ids["pdf"] = upload(h, "copper report.pdf", PDF)
        ids["exe"] = upload(h, "setup.exe", b"MZ\x90\x00")
        ids["png"] = upload(h, "photo.html", PNG)
        await h.settle()

    fake = drive(private_index, scenario, monkeypatch)
    defer, told, announced = fake.for_interaction(ids["pdf"])
    assert defer.callback_type == DEFERRED and told.flags == EPHEMERAL and announced.flags == 0
    assert told.message["content"] == (
        "Added “Copper exports report.” (undated) as `copper-exports-report`: it is answerable now, and "
        "announced in this channel."
    )
    text = (private_index.corpus_dir / "copper-exports-report.txt").read_text(encoding="utf-8")
    assert "Armenian copper concentrate exports grew by 9 percent in 2023." in text
    [exe] = fake.for_interaction(ids["exe"])  # refused from its name, before the defer and the download
    assert exe.callback_type == MESSAGE and exe.flags == EPHEMERAL
    assert exe.message["content"] == (
        "Could not add setup.exe: only .html, .pdf, .txt, .md files can be added, not '.exe'."
    )
    _, png = fake.for_interaction(ids["png"])  # refused from its bytes, after the download
    assert png.flags == EPHEMERAL and png.message["content"] == (
        "Could not add photo.html: it is not a web page, a PDF or a text file "
        "\\(it looks like a PNG image\\)."
    )
    downloaded = [s.path for s in fake.by("cdn")]
    assert len(downloaded) == 2 and not any(p.endswith("setup.exe") for p in downloaded)


def test_two_adds_at_once_both_land_and_the_newest_index_serves(
    private_index: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids: list[int] = []
    served: list[set[str]] = []

    async def scenario(h: Harness) -> None:
        ids.append(h.command("add", url=site.url("/article.html"), permissions=MANAGE_GUILD, user=ADMIN))
        ids.append(h.command("add", url=site.url("/undated.html"), guild=False, user=OWNER_ID))
        await h.settle()
        served.append({s.id for s in h.bot.service.sources})

    owner = private_index.model_copy(update={"discord_owner_ids": [OWNER_ID]})
    fake = drive(owner, scenario, monkeypatch)
    for iid in ids:
        assert [s.flags for s in fake.for_interaction(iid)] == [EPHEMERAL, EPHEMERAL, 0]
    assert {"lake-sevan-rises-again", "apricot-harvest-notes"} <= served[0] and len(served[0]) == 7


# ---------------------------------------------------------------- /remove


def test_remove_autocompletes_titles_then_takes_the_document_out(
    private_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = "armenia-invites-more-russian-troops"
    ids: dict[str, int] = {}
    served: list[set[str]] = []

    async def scenario(h: Harness) -> None:
        ids["complete"] = h.command(
            "remove", focused="document", document="INVITES", permissions=MANAGE_GUILD
        )
        ids["remove"] = h.command("remove", document=gone, permissions=MANAGE_GUILD, user=ADMIN)
        await h.settle()
        served.append({s.id for s in h.bot.service.sources})
        ids["unknown"] = h.command("remove", document="no-such-document", permissions=MANAGE_GUILD)
        await h.settle()

    fake = drive(private_index, scenario, monkeypatch)
    [complete] = fake.for_interaction(ids["complete"])
    assert complete.callback_type == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    [choice] = complete.json["data"]["choices"]
    assert choice["value"] == gone and choice["name"].startswith("Armenia Invites More Russian Troops")
    defer, told = fake.for_interaction(ids["remove"])
    assert defer.callback_type == DEFERRED and defer.flags == EPHEMERAL and told.flags == EPHEMERAL
    assert told.message["content"] == (
        f"Removed “Armenia Invites More Russian Troops to Its Territory” (`{gone}`): it is no longer quoted."
    )
    assert gone not in served[0] and len(served[0]) == 4
    assert not (private_index.corpus_dir / f"{gone}.txt").exists()
    [event] = library.audit_log(private_index).events()
    assert (event.action, event.doc_id, event.user_id) == ("remove", gone, f"discord:{ADMIN}")
    _, unknown = fake.for_interaction(ids["unknown"])
    assert (
        unknown.message["content"]
        == "Could not remove no-such-document: no document in the corpus has this id."
    )


def test_the_fake_cdn_is_the_only_way_to_an_attachment() -> None:
    """(A guard on the harness: an attachment the fake does not hold is Discord's 404, not a download.)"""
    import asyncio

    import discord

    with pytest.raises(discord.NotFound):
        asyncio.run(FakeDiscord().get_from_cdn("https://cdn.discordapp.com/attachments/1/2/x.pdf"))


def test_the_bot_settles_an_add_cut_short_before_it_serves(
    private_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_library import kill_an_add_midway

    note = tmp_path / "ferry.md"
    note.write_text("# Ferry\n\nThe ferry to Sevanavank runs from June to September only.\n")
    before = files(private_index)
    kill_an_add_midway(private_index, note)
    assert files(private_index) == before | {"ferry.md"}
    served: list[set[str]] = []

    async def scenario(h: Harness) -> None:
        served.append({s.id for s in h.bot.service.sources})

    drive(private_index, scenario, monkeypatch)
    assert files(private_index) == before and "ferry" not in served[0]
    assert not (private_index.index_dir / library.JOURNAL_FILE).exists()
