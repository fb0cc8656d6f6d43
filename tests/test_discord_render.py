"""Discord rendering: escaping of anything quoted or typed, Discord's size limits, pages between quotes."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qabot import discord_render as dr
from qabot.answer import Answer, Filters, Quote, RankedDocument, Source
from qabot.render import NOT_IN_CORPUS, citation

UNESCAPED_MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>")
SPECIAL = set("\\*_~|`[]()<>#")
INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x00\x1b"
)

MALICIOUS = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "@\u200beveryone",
    "@\u2060here",
    "@\x00everyone",
    "<@\u200b123456789012345678>",
    "<\u200b@&123456789012345678>",
    "\u202eevil\u202c",
    "[official source](https://evil.example)",
    "[1] Fake Title (2024-01-01) — https://evil.example",
    "**bold** __under__ ~~strike~~ ||spoiler|| `code`",
    "</ask:123456789012345678> <t:0:R> <#123456789012345678> <:pog:123456789012345678>",
    "\\*still escaped\\*",
    "> # heading\n- item\n-# small",
]


def source(**overrides: Any) -> Source:
    values: dict[str, Any] = {
        "id": "doc",
        "title": "A Title",
        "path": "doc.txt",
        "date": "2024-01-02",
        "url": None,
    }
    values.update(overrides)
    return Source(**values)


def quote(text: str, before: str = "", after: str = "", **source_fields: Any) -> Quote:
    return Quote(text, 10, 10 + len(text), 0.5, source(**source_fields), before, after)


def strings(embed: discord.Embed) -> list[str]:
    payload = embed.to_dict()
    out = [
        payload.get("title", ""),
        payload.get("description", ""),
        payload.get("footer", {}).get("text", ""),
    ]
    out += [t for f in payload.get("fields", []) for t in (f["name"], f["value"])]
    return out


def assert_within_limits(batches: list[list[discord.Embed]]) -> None:
    for embeds in batches:
        assert 1 <= len(embeds) <= dr.EMBEDS_PER_MESSAGE
        assert sum(dr.embed_size(e) for e in embeds) <= dr.MESSAGE_EMBEDS_TOTAL
        for embed in embeds:
            payload = embed.to_dict()
            assert dr.size(payload.get("title", "")) <= dr.TITLE_LIMIT
            assert dr.size(payload.get("description", "")) <= dr.DESCRIPTION_LIMIT
            assert len(payload.get("fields", [])) <= dr.FIELDS_PER_EMBED
            for field in payload.get("fields", []):
                assert 0 < dr.size(field["name"]) <= dr.FIELD_NAME_LIMIT
                assert 0 < dr.size(field["value"]) <= dr.FIELD_VALUE_LIMIT
            assert dr.size(payload.get("footer", {}).get("text", "")) <= dr.FOOTER_LIMIT


def assert_escaped(text: str) -> None:
    """Every markdown character is escaped, there is no mention and no invisible character left."""
    assert not UNESCAPED_MENTION.search(text), text
    assert not any(c in text for c in INVISIBLE if c != "\u200b"), text
    i = 0
    while i < len(text):
        if text[i] == "\\":
            assert i + 1 < len(text) and text[i + 1] in SPECIAL | {"-"}, text  # "-" when leading
            i += 2
            continue
        assert text[i] not in SPECIAL, (text, i)
        i += 1


# ---------------------------------------------------------------- sanitize


@pytest.mark.parametrize("text", MALICIOUS)
def test_sanitize_neutralises_mentions_links_and_markdown(text: str) -> None:
    out = dr.sanitize(text)
    assert_escaped(out)
    assert "\n" not in out


def test_sanitize_keeps_the_visible_text() -> None:
    text = "Armenia's 102nd base (in Gyumri) — *strategic* [sic] @ 5 km"
    out = dr.sanitize(text)
    assert re.sub(r"\\(.)", r"\1", out) == text


def test_sanitize_puts_a_line_break_between_words_as_a_space() -> None:
    # a term and its definition on two lines ("Data type: ffi_type" / "The ffi_type has …") read as
    # "ffi_typeThe" when the break was dropped with the other control characters
    assert (
        dr.sanitize("Data type: ffi_type\nThe ffi_type has\tmembers")
        == "Data type: ffi\\_type The ffi\\_type has members"
    )


def test_sanitize_strips_zero_width_before_escaping_mentions() -> None:
    assert dr.sanitize("@\u200beveryone") == "@\u200beveryone"  # re-escaped, not left as found
    assert dr.sanitize("@\u2060here hi") == "@\u200bhere hi"
    assert dr.sanitize("<@\u200d123456789012345678>") == "\\<@\u200b123456789012345678\\>"


def test_fit_cuts_at_a_word_boundary_and_marks_it() -> None:
    out = dr.fit("alpha beta gamma delta", 14)
    assert out == "alpha beta…"
    assert dr.fit("alpha beta gamma delta", 14, keep="tail") == "…gamma delta"
    assert dr.fit("short", 14) == "short"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a_(b)", "https://example.org/a%5F%28b%29"),
        ("http://x.org/?q=@everyone", "http://x.org/?q=%40everyone"),
        ("javascript:alert(1)", None),
        ("ftp://x.org/f", None),
        ("not a url", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert dr.safe_url(url) == expected


# ---------------------------------------------------------------- answers


def test_answer_embed_shows_bold_quote_between_neighbours_with_citation() -> None:
    q = Quote(
        "The base is in Gyumri.", 100, 122, 0.83, source(url="https://n.example/a"), "Before it.", "After."
    )
    [[embed]] = dr.answer_embeds(Answer("Where is the base?", True, (q,)))
    assert embed.title == "Where is the base?"
    assert embed.description == "**[1]**\n> Before it. **The base is in Gyumri.** After."
    [field] = embed.fields
    assert field.name == "[1] A Title"
    assert field.value == "as of 2024-01-02 · https://n.example/a · chars 100–122"  # no score in public
    assert embed.colour == dr.ANSWERED_COLOUR


def test_the_answer_is_bold_inside_its_quote_under_its_confidence_in_words() -> None:
    text = "Russia keeps *about* 3,000 soldiers in Armenia."
    at = text.index("3,000")
    q = Quote(
        text,
        100,
        100 + len(text),
        2.5,
        source(),
        "Before it.",
        "After.",
        confidence=0.78,
        answer=(100 + at, 100 + at + len("3,000 soldiers")),
    )
    [[embed]] = dr.answer_embeds(Answer("How many soldiers?", True, (q,)))
    assert embed.description == (
        "**[1]** likely answers it (78 %)\n"
        "> *Before it.* Russia keeps \\*about\\* **3,000 soldiers** in Armenia. *After.*"
    )


def test_an_unsure_answer_says_so_above_its_closest_quotes() -> None:
    q = Quote("The base is in Gyumri.", 0, 22, 1.0, source(), confidence=0.3, answer=(15, 21))
    [[embed]] = dr.answer_embeds(Answer("Who commands the base?", False, (q,)))
    description = str(embed.description)
    assert description.startswith("Low confidence: these are the closest passages")
    assert "**[1]** unlikely to answer it (30 %)" in description
    assert "**Gyumri**" in description
    assert embed.colour == dr.NOT_ANSWERED_COLOUR


def test_a_docs_quote_keeps_the_list_it_introduces_on_its_own_lines() -> None:
    """A Markdown sentence with the list under it is one quote: on Discord each item stays on a line of
    the block quote (flattened, "- a - b" reads as one run-on line), the wrapped sentence is one line,
    every line is escaped, and the answer is bold where it is."""
    text = "Start the server with\n`--reload` when you:\n\n- develop *locally*\n- test @everyone"
    at = text.index("develop")
    docs = source(path="docs/run.md")
    q = Quote(text, 100, 100 + len(text), 2.0, docs, "Before it.", "", confidence=0.8)
    [[embed]] = dr.answer_embeds(Answer("When do I use reload?", True, (q,)))
    assert embed.description == (
        "**[1]** likely answers it (80 %)\n"
        "> Before it. **Start the server with \\`--reload\\` when you:**\n"
        "> **\\- develop \\*locally\\***\n"
        "> **\\- test @\u200beveryone**"
    )
    marked = Quote(text, 100, 100 + len(text), 2.0, docs, confidence=0.8, answer=(100 + at, 100 + at + 7))
    [[embed]] = dr.answer_embeds(Answer("When do I use reload?", True, (marked,)))
    assert (embed.description or "").endswith(
        "> Start the server with \\`--reload\\` when you:\n> \\- **develop** \\*locally\\*\n"
        "> \\- test @\u200beveryone"
    )
    plain = Quote(text, 100, 100 + len(text), 2.0, source(), confidence=0.8)
    [[embed]] = dr.answer_embeds(Answer("When do I use reload?", True, (plain,)))
    assert (embed.description or "").count("\n") == 1  # plain text: one line, as before
    code = "int main()\n{\n  return 0;\n}"  # a block of an HTML page (one paragraph a line there)
    page = Quote(code, 10, 10 + len(code), 2.0, source(path="manual/basics.html"), confidence=0.8)
    [[embed]] = dr.answer_embeds(Answer("What does main return?", True, (page,)))
    assert (embed.description or "").endswith("> **int main\\(\\)**\n> **{**\n> **return 0;**\n> **}**")


def test_a_quote_inside_an_indented_block_keeps_its_code_as_code() -> None:
    """A quote four columns into a reST warning: on Discord too its wrapped sentence is one line and its
    example a fenced block whose lines keep their indentation relative to one another."""
    text = (
        "When using ``cached`` on a view, put it between the\n    ``@route`` decorator. Example::\n\n"
        "        @app.route('/')\n        def index():\n            return 'Cached'"
    )
    q = Quote(text, 40, 40 + len(text), 2.0, source(path="docs/usage.rst"), confidence=0.8, indent=4)
    [[embed]] = dr.answer_embeds(Answer("Where does cached go?", True, (q,)))
    description = embed.description or ""
    sentence = "When using \\`cached\\` on a view, put it between the \\`@route\\` decorator. Example:"
    assert f"> **{sentence}**" in description  # ``literals`` as `code`, "Example::" as "Example:"
    assert "```\n@app.route('/')\ndef index():\n    return 'Cached'\n```" in description


def test_rst_code_indented_by_two_spaces_is_a_fenced_block() -> None:
    text = (
        "Link it:\n\n.. code-block:: cmake\n\n  add_executable(main main.c)\n  target_link_libraries(main B)"
    )
    q = Quote(text, 40, 40 + len(text), 2.0, source(path="command/target_link_libraries.rst"), confidence=0.8)
    [[embed]] = dr.answer_embeds(Answer("How do I link B?", True, (q,)))
    description = embed.description or ""
    assert "```cmake\nadd_executable(main main.c)\ntarget_link_libraries(main B)\n```" in description
    assert "code-block" not in description
    # a quote that is a literal block whole shows no mark of it in its text: the unit's kind says so
    synopsis = "add_subdirectory(source_dir [binary_dir]\n                 [EXCLUDE_FROM_ALL])"
    whole = Quote(
        synopsis, 80, 80 + len(synopsis), 2.0, source(path="command/add_subdirectory.rst"), indent=2
    )
    [[embed]] = dr.answer_embeds(Answer("Its signature?", True, (replace(whole, code=True),)))
    assert "```\nadd_subdirectory(source_dir [binary_dir]\n               [EXCLUDE_FROM_ALL])\n```" in (
        embed.description or ""
    )


def test_a_sphinx_description_shows_its_signature_not_its_directive() -> None:
    """A one-line page (a `.. data::` description reflowed) reads as Sphinx shows it on Discord too."""
    text = ".. data:: cache_view_hit\n\n   Sent when a view is served from the\n   cache."
    q = Quote(text, 40, 40 + len(text), 2.0, source(path="docs/api.rst"), confidence=0.8)
    [[embed]] = dr.answer_embeds(Answer("Which signal?", True, (q,)))
    description = embed.description or ""
    assert "> **\\`cache\\_view\\_hit\\`: Sent when a view is served from the cache.**" in description
    assert ".. data::" not in description


def test_every_citation_is_dated_as_render_citation_words_it() -> None:
    dated, undated = source(), source(id="u", title="Undated", path="u.txt", date=None)
    assert citation(dated).split(" — ")[0] == "A Title (as of 2024-01-02)"
    q1 = Quote("One.", 0, 4, 12.3, dated, also=(undated,))
    q2 = Quote("Two.", 5, 9, 9.1, undated)
    [[embed]] = dr.answer_embeds(Answer("q", True, (q1, q2)))
    assert [str(f.value).split(" · ")[0] for f in embed.fields] == ["as of 2024-01-02", "undated"]
    assert str(embed.fields[0].value).endswith("\nalso in: " + citation(undated))
    [[ctx]] = dr.context_embeds(Answer("q", True, (q1, q2)), [("", ""), ("", "")])
    blocks = str(ctx.description).split("\n\n")
    assert blocks[0].startswith("**[1]** as of 2024-01-02 · doc.txt · chars 0–4 · score 12.30\n> ")
    assert blocks[1].startswith("**[2]** undated · u.txt · chars 5–9 · score 9.10\n> ")
    [[found]] = dr.search_embeds("q", [RankedDocument(undated, 0.03)])
    assert found.description == "**1.** " + citation(undated)
    [[missing]] = dr.answer_embeds(Answer("q", False, nearest=(dated, undated)))
    assert "• " + citation(dated) in str(missing.description)
    assert "• " + citation(undated) in str(missing.description)


def test_filters_are_stated_above_the_answer_and_the_search() -> None:
    filters = Filters(since="2023-11-01", sources=("news/*x*",))
    [[embed]] = dr.answer_embeds(Answer("q", True, (quote("x"),)), filters=filters)
    assert str(embed.description).startswith(
        "*Only documents since 2023-11-01 from news/\\*x\\*.*\n\n**[1]**"
    )
    [[missing]] = dr.answer_embeds(Answer("q", False), filters=Filters(until="2020-12-31"))
    assert missing.description == f"*Only documents until 2020-12-31.*\n\n{NOT_IN_CORPUS}"
    [[found]] = dr.search_embeds("q", [], filters=filters)
    assert str(found.description).startswith("*Only documents since 2023-11-01 from ")
    [[plain]] = dr.answer_embeds(Answer("q", True, (quote("x"),)), filters=Filters())
    assert str(plain.description).startswith("**[1]**")


def test_syndicated_copies_are_cited_as_far_as_they_fit() -> None:
    copies = tuple(source(title=f"Copy {n}", path=f"c{n}.txt", date=None) for n in range(40))
    q = Quote("Same text.", 0, 10, 0.5, source(), also=copies[:2])
    [[embed]] = dr.answer_embeds(Answer("q", True, (q,)))
    assert embed.fields[0].value == (
        "as of 2024-01-02 · doc.txt · chars 0–10"
        "\nalso in: Copy 0 (undated) — c0.txt; Copy 1 (undated) — c1.txt"
    )
    q = Quote("Same text.", 0, 10, 0.5, source(), also=copies)
    [[embed]] = dr.answer_embeds(Answer("q", True, (q,)))
    value = str(embed.fields[0].value)
    assert dr.size(value) <= dr.FIELD_VALUE_LIMIT and value.endswith(" more") and "Copy 0 (undated)" in value


def test_a_timeline_says_so_and_dates_each_quote() -> None:
    quotes = (quote("Early.", date="2021-02-23"), quote("Late.", date="2023-12-28"))
    [[embed]] = dr.answer_embeds(Answer("How did ties change?", True, quotes, timeline=True))
    blocks = str(embed.description).split("\n\n")
    assert blocks[0] == "*Timeline: one quote per document, oldest first.*"
    assert blocks[1].startswith("**[1]** · as of 2021-02-23\n> ")
    assert blocks[2].startswith("**[2]** · as of 2023-12-28\n> ")


def test_not_answered_embed_lists_nearest_documents() -> None:
    nearest = (source(title="One"), source(title="Two", date=None, path="b/two.md"))
    [[embed]] = dr.answer_embeds(Answer("Capital of France?", False, nearest=nearest))
    assert embed.description == (
        f"{NOT_IN_CORPUS}\n\n**Nearest documents:**"
        "\n\n• One (as of 2024-01-02) — doc.txt"
        "\n\n• Two (undated) — b/two.md"
    )
    assert not embed.fields


def test_many_long_quotes_are_paged_between_quotes() -> None:
    sentence = "This sentence about the treaty is long and it goes on. " * 14
    quotes = tuple(quote(f"{n} {sentence}", "Before. " * 60, "After. " * 60) for n in range(20))
    batches = dr.answer_embeds(Answer("q", True, quotes))
    assert_within_limits(batches)
    embeds = [e for batch in batches for e in batch]
    assert len(embeds) > 1
    descriptions = [e.description or "" for e in embeds]
    for n, q in enumerate(quotes, start=1):
        holders = [d for d in descriptions if f"**[{n}]**" in d]
        assert len(holders) == 1
        assert f"**{dr.sanitize(q.text)}**" in holders[0]  # whole, never cut
    assert [str(f.name).split("]")[0] for e in embeds for f in e.fields] == [f"[{n}" for n in range(1, 21)]
    assert embeds[0].title == "q" and all(e.title is None for e in embeds[1:])
    assert embeds[-1].footer.text == f"page {len(embeds)}/{len(embeds)}"


def test_a_sentence_longer_than_an_embed_is_visibly_shortened() -> None:
    [[embed]] = dr.answer_embeds(Answer("q", True, (quote("word " * 3000),)))
    assert dr.size(embed.description or "") <= dr.DESCRIPTION_LIMIT
    assert dr.SHORTENED.strip() in (embed.description or "")


def test_more_quotes_continue_the_numbering() -> None:
    [[embed]] = dr.answer_embeds(Answer("q", True, (quote("x"),)), first=4, prefix="More: ")
    assert embed.title == "More: q"
    assert embed.description is not None and embed.description.startswith("**[4]**")


def test_context_embed_shows_offsets_and_the_wider_passage() -> None:
    q = quote("Middle.", "Near before.", "Near after.")
    [[embed]] = dr.context_embeds(
        Answer("q", True, (q,)), [("Far before. Near before. ", " Near after. Far after.")]
    )
    assert embed.description == (
        "**[1]** as of 2024-01-02 · doc.txt · chars 10–17 · score 0.50"
        "\n> Far before. Near before. **Middle.** Near after. Far after."
    )


def test_search_and_sources_and_status() -> None:
    [[found]] = dr.search_embeds("base", [RankedDocument(source(title="T*"), 0.0312)])
    assert found.title == "Search: base"
    assert found.description == "**1.** T\\* (as of 2024-01-02) — doc.txt"
    [[empty]] = dr.search_embeds("zzz", [])
    assert empty.description == "No matching documents."

    sources = [source(title=f"Doc {n}") for n in range(1, 32)]
    assert dr.page_count(len(sources)) == 3
    page = dr.sources_embed(sources, 3)
    assert page.description == "**31.** Doc 31 (as of 2024-01-02)"
    assert page.footer.text == "page 3/3 · 31 documents"
    assert dr.sources_embed(sources, 99).footer.text == "page 3/3 · 31 documents"

    manifest: dict[str, Any] = {"generation": "g1", "built_at": "2026-01-01T00:00:00+00:00", "model": "m"}
    manifest["counts"] = {"documents": 5, "chunks": 62, "sentences": 127}
    status = dr.status_embed(manifest, 1, 2, 0, 0, reindexing=False)
    fields = {f.name: f.value for f in status.fields}
    assert fields["Generation"] == "g1" and fields["Chunks"] == "62"
    assert fields["Corpus"] == "changed since the build: 1 new, 2 modified, 0 removed; run /reindex"
    fields = {f.name: f.value for f in dr.status_embed(manifest, 0, 0, 0, 3, reindexing=True).fields}
    assert fields["Corpus"] == "unchanged since the build (3 files cannot be indexed); a reindex is running"


# ---------------------------------------------------------------- properties

TOKENS = ["@everyone", "@here", "<@", "<@&", "<@!", "123456789012345678", ">", "[", "](", ")", "\\", "*", "_"]
nasty_text = st.lists(
    st.one_of(
        st.sampled_from(TOKENS),
        st.sampled_from(list(INVISIBLE)),
        st.sampled_from([" ", "\n", ".", "é", "😀", "𝔸", "word"]),
        st.characters(),
    ),
    max_size=150,
).map("".join)
long_text = st.builds(lambda s, n: s * n, nasty_text, st.integers(1, 12))


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    n = draw(st.integers(0, 25))
    quotes = []
    for _ in range(n):
        src = Source(
            draw(nasty_text),
            draw(nasty_text),
            draw(nasty_text | st.sampled_from(["page.md", "docs/page.rst"])),  # docs keep their lines
            draw(st.none() | nasty_text),
            draw(st.none() | nasty_text | st.just("https://ex.org/a_(b)@everyone")),
        )
        text = draw(long_text) or "x"
        score = draw(st.floats(-1, 2))
        also = tuple(draw(st.lists(st.builds(Source, *[nasty_text] * 3, nasty_text, nasty_text), max_size=4)))
        quotes.append(Quote(text, 0, len(text), score, src, draw(long_text), draw(long_text), also))
    nearest = tuple(q.source for q in quotes[:3])
    timeline = draw(st.booleans())
    return Answer(draw(long_text) or "?", bool(quotes), tuple(quotes), nearest=nearest, timeline=timeline)


filters_of = st.builds(
    Filters, st.none() | nasty_text, st.none() | nasty_text, st.lists(long_text, max_size=3).map(tuple)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(answers(), st.none() | filters_of)
def test_any_answer_renders_within_limits_and_without_mentions(
    answer: Answer, filters: Filters | None
) -> None:
    batches = dr.answer_embeds(answer, filters=filters)
    assert_within_limits(batches)
    for embeds in batches:
        for embed in embeds:
            for text in strings(embed):
                assert not UNESCAPED_MENTION.search(text)
    if answer.answered:
        descriptions = [e.description or "" for batch in batches for e in batch]
        for n in range(1, len(answer.quotes) + 1):
            assert sum(d.count(f"**[{n}]**") for d in descriptions) == 1  # quoted text cannot forge it


@settings(max_examples=200, deadline=None)
@given(nasty_text)
def test_sanitized_text_has_every_markdown_character_escaped(text: str) -> None:
    assert_escaped(dr.sanitize(text))


@settings(max_examples=100, deadline=None)
@given(long_text, st.integers(1, 3000))
def test_fit_always_fits(text: str, limit: int) -> None:
    out = dr.fit(text, limit)
    assert dr.size(out) <= limit
    assert not UNESCAPED_MENTION.search(out)


@settings(max_examples=50, deadline=None)
@given(st.lists(nasty_text, max_size=40), st.integers(1, 5))
def test_search_and_sources_render_within_limits(titles: list[str], page: int) -> None:
    documents = [RankedDocument(source(title=t, path=t), 0.5) for t in titles]
    assert_within_limits(dr.search_embeds("".join(titles)[:1000] or "q", documents))
    assert_within_limits([[dr.sources_embed([d.source for d in documents], page)]])


def test_a_neighbour_that_is_itself_a_quote_is_shown_once_and_named() -> None:
    first = quote("The pool holds 40 tokens.", "Limits", "Raise them with total_tokens.")
    second = quote("Raise them with total_tokens.", "The pool holds 40 tokens.", "Done.")
    [[embed]] = dr.answer_embeds(Answer("How do I raise it?", True, (first, second)))
    shown = "\n".join(strings(embed))
    assert shown.count("total\\_tokens") == 1
    assert shown.count("40 tokens") == 1
    assert "Limits" in shown and "Done." in shown
    assert (
        "\\(followed by \\[2\\]\\)" in shown and "\\(follows \\[1\\]\\)" in shown
    )  # escaped: "(follows [1])"
