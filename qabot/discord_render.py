"""Discord renderings: answers, searches and listings as embeds that are safe to post and within limits.

Everything that comes from documents (quotes, titles, paths, URLs) or from users (questions) passes
through `sanitize` before it reaches Discord, so it can neither ping anyone nor pose as markdown of ours:
no mentions, no masked links, no bold that escapes its quote, no fake citation outside the block quote.

Ranking scores are left out of public embeds: they are meaningful only relative to each other within one
answer, and in a shared channel a bare number reads as a grade or a percentage. What is shown is each
quote's confidence, a calibrated probability, in words first ("likely answers it (78 %)"), and the
answer inside the quote in bold; "Show context" (private) gives each quote's ranking score.

Discord counts lengths in characters; `size` counts UTF-16 code units, which is never less, so a payload
that fits here fits there. Pages break between quotes, never inside one: a quote is only ever shortened
when one sentence alone is longer than a whole embed, and then visibly so.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord.utils import escape_mentions

from qabot import markup
from qabot.answer import UNSURE, Answer, Filters, Quote, RankedDocument, Source, shown_neighbours
from qabot.render import NOT_IN_CORPUS, UNSURE_NOTICE, confidence_words, section_title

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_PER_EMBED = 25
FOOTER_LIMIT = 2048
EMBEDS_PER_MESSAGE = 10
MESSAGE_EMBEDS_TOTAL = 6000

BLOCK_LIMIT = 3800  # one quote block; leaves room for the title, a citation field and the footer
NEIGHBOUR_LIMIT = 300  # each neighbouring sentence around a quote in an answer
CONTEXT_LIMIT = 800  # each side of a quote in "Show context"
FOOTER_RESERVE = 64
SOURCES_PER_PAGE = 15
ELLIPSIS = "…"
SHORTENED = " … (sentence shortened: see the citation for the full text)"
CODE_SHORTENED = "… (code shortened: see the citation for the full text)"
CUT_NOTICE = "*… (the block goes on in the document: see the citation)*"

ANSWERED_COLOUR = discord.Colour.green()
NOT_ANSWERED_COLOUR = discord.Colour.orange()
INFO_COLOUR = discord.Colour.blurple()

# Escaped wherever they appear: inline markdown, masked links ([text](url)), and <...> forms
# (mentions, channels, custom emoji, timestamps, slash-command mentions). Line-start markdown (headings,
# lists, quotes) cannot arise: sanitised text is one line and never starts a line of ours.
_MARKDOWN = re.compile(r"([\\*_~|`\[\]()<>#])")
_DISCARDED = {"Cc", "Cf", "Co", "Cs"}  # controls, zero-width and bidi format characters, private use
_URL_SAFE = "/:?#&=%+,;.-!$"


@dataclass(frozen=True)
class Block:
    """An unbreakable piece of an embed: description text and, optionally, its citation field."""

    text: str
    field: tuple[str, str] | None = None


def size(text: str) -> int:
    """Length as Discord may count it at worst (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def sanitize(text: str) -> str:
    """`text` on one line, invisible characters removed, markdown and mentions escaped."""
    visible = "".join(  # a line break or tab is a space between words, not a control to drop
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c) not in _DISCARDED
    )
    line = " ".join(visible.split())
    escaped = _MARKDOWN.sub(r"\\\1", line)
    if escaped.startswith("-"):
        escaped = "\\" + escaped
    return escape_mentions(escaped)


def fit(raw: str, limit: int, *, keep: str = "head", marker: str = ELLIPSIS) -> str:
    """`raw` sanitised and, when too long, cut at a word boundary (marked) so that it fits `limit`."""
    out = sanitize(raw)
    if size(out) <= limit:
        return out
    text = " ".join(raw.split())
    keep_chars = len(text)
    while keep_chars > 0:
        keep_chars -= max(1, size(out) - limit)
        piece = _cut(text, keep_chars, keep)
        out = sanitize(piece) + marker if keep == "head" else marker + sanitize(piece)
        if size(out) <= limit:
            return out
    return marker if size(marker) <= limit else ""


def _cut(text: str, chars: int, keep: str) -> str:
    """The first (or last) `chars` characters of `text`, backed off to a space when one is near."""
    if chars <= 0:
        return ""
    if keep == "head":
        piece = text[:chars]
        word = piece.rsplit(" ", 1)[0]
    else:
        piece = text[-chars:]
        word = piece.split(" ", 1)[-1]
    return word if len(word) >= len(piece) // 2 else piece


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with every character that could be markdown percent-encoded, or None."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    quoted = urllib.parse.quote(urllib.parse.urlunsplit(parts), safe=_URL_SAFE)
    # quote() never encodes "_" and "~", which are markdown; their encoded forms are equivalent in URLs.
    return quoted.replace("_", "%5F").replace("~", "%7E")


def where(source: Source, limit: int = 600) -> str:
    """The URL of a source when it has a usable one, else its path in the corpus."""
    url = safe_url(source.url)
    if url is not None and size(url) <= limit:
        return url
    return fit(source.path, limit)


def as_of(source: Source) -> str:
    """The date a reader should weigh a quote by (news changes), as `render.citation` words it."""
    return f"as of {fit(source.date, 40)}" if source.date else "undated"


def citation_line(source: Source) -> str:
    """Title (as of date) — where, sanitised: the shape of `render.citation`."""
    return f"{fit(source.title, 300)} ({as_of(source)}) — {where(source)}"


def content(text: str) -> str:
    """Plain message content of ours with anything interpolated already sanitised, within limits."""
    return text if size(text) <= CONTENT_LIMIT else fit(text, CONTENT_LIMIT)


# ---------------------------------------------------------------- blocks


def quote_block(number: int, quote: Quote, before: str, after: str, side: int, header: str = "") -> Block:
    """The quote in bold between (sanitised, trimmed) neighbours, as a block quote under its number."""
    return Block(_quote_text(number, quote, before, after, side, header), citation_field(number, quote))


def _quote_text(number: int, quote: Quote, before: str, after: str, side: int, header: str) -> str:
    syntax = quote.source.syntax
    before, after = (
        markup.inline(_prose(before, syntax), syntax),
        markup.inline(_prose(after, syntax), syntax),
    )
    if quote.confidence is not None:
        header = f" {confidence_words(quote.confidence)}{header}"
    shown = markup.pieces(quote.text, quote.indent, syntax, quote.code)
    if any(piece.code for piece in shown):
        return _code_quote_text(number, quote, shown, before, side, header)
    left = fit(before, side, keep="tail") if before.strip() else ""
    right = fit(after, side) if after.strip() else ""
    if quote.answer is not None:  # the quote is not bold then: its neighbours are set apart in italics
        left, right = (f"*{n}*" if n else "" for n in (left, right))
    head = f"**[{number}]**{header}\n> "
    room = BLOCK_LIMIT - size(head) - size(left) - size(right) - 6
    body = " ".join(part for part in (left, marked(quote, room), right) if part)
    return head + body


def marked(quote: Quote, room: int) -> str:
    """The quote, sanitised, with its answer span in bold; the whole quote in bold when no span is
    marked or when the quote must be shortened to fit `room`. A Markdown or reST quote that shows as
    several lines on its page (a sentence and the list it introduces) keeps them, each line of the block
    quote sanitised on its own."""
    lines = _page_lines(quote)
    if lines is not None:
        text = "\n> ".join(lines)
        if size(text) <= room:
            return text
    page = markup.as_page(quote.text, quote.source.syntax, indent=quote.indent)  # one line, or too long
    whole = f"**{fit(page, room - 4, marker=SHORTENED) or '(blank)'}**"
    if quote.marked is None:
        return whole
    start, end = quote.marked
    pre, span, post = quote.text[:start], quote.text[start:end], quote.text[end:]
    if not sanitize(span):
        return whole
    text = _bold_inside(pre, span, post)
    return text if size(text) <= room else whole


def _page_lines(quote: Quote) -> list[str] | None:
    """A Markdown, reST or HTML quote's lines as its page shows them, sanitised, the answer (or, with none
    marked, each line) in bold; None for plain text, for one line, or when the answer spans lines."""
    if "\n" not in quote.text.strip() or not markup.by_line(quote.source.syntax):
        return None
    shown = markup.as_page(quote.text, quote.source.syntax, quote.marked, quote.indent).split("\n")
    shown = [line for line in shown if sanitize(line)]  # sanitize drops the private-use answer marks
    if len(shown) < 2:
        return None
    out = []
    for line in shown:
        if quote.marked is None:
            out.append(f"**{sanitize(line)}**")
        elif line.count(markup.ANSWER_MARK) == 2:
            pre, span, post = line.split(markup.ANSWER_MARK)
            if not sanitize(span):
                return None
            out.append(_bold_inside(pre, span, post))
        elif markup.ANSWER_MARK in line:
            return None  # the answer runs over a line break
        else:
            out.append(sanitize(line))
    return out


def _bold_inside(pre: str, span: str, post: str) -> str:
    # sanitize trims each piece: the spaces at the span's edges are put back so words stay apart
    return (
        sanitize(pre)
        + (" " if pre[-1:].isspace() else "")
        + f"**{sanitize(span)}**"
        + (" " if post[:1].isspace() else "")
        + sanitize(post)
    ).strip()


def _prose(context: str, syntax: str) -> str:
    """A neighbour as context: its prose, with any code it holds left out (said with "…"); flattened
    onto one line, code would read as noise."""
    pieces = markup.pieces(context, syntax=syntax)
    if not any(piece.code for piece in pieces):
        return context
    return " ".join(piece.text if not piece.code else ELLIPSIS for piece in pieces)


def _code_quote_text(
    number: int, quote: Quote, shown: Sequence[markup.Piece], before: str, side: int, header: str
) -> str:
    """A quote holding code: its prose in bold in the block quote, each code piece in a fenced block
    (never broken out of: see `code_block`), the whole within BLOCK_LIMIT."""
    left = fit(before, side, keep="tail") if before.strip() else ""
    parts = [f"**[{number}]**{header}"]
    room = BLOCK_LIMIT - size(parts[0]) - size(left) - 8
    for piece in shown:
        if room <= 40:
            break
        if piece.code:
            part = code_block(piece.text, piece.language, room - 2)
        else:
            text = fit(markup.inline(piece.text, quote.source.syntax), room - 8, marker=SHORTENED)
            part = "> " + " ".join(p for p in (left, f"**{text}**") if p)
            left = ""
        parts.append(part)
        room -= size(part) + 1
    if quote.cut and room > size(CUT_NOTICE):
        parts.append(CUT_NOTICE)
    return "\n".join(parts)


def code_block(code: str, language: str, limit: int) -> str:
    """`code` as a fenced block within `limit`: cut at a line end (said so) when longer, invisible and
    control characters dropped, and no run of three backticks left to close the fence early."""
    lang = re.sub(r"[^A-Za-z0-9+#-]", "", language)[:16]
    kept = "".join(c for c in code if c in "\n\t" or unicodedata.category(c) not in _DISCARDED)
    kept = escape_mentions(kept.replace("`", "`\u200b"))  # a zero-width space after every backtick
    fence_size = size(f"```{lang}\n\n```")
    if size(kept) + fence_size > limit:
        lines = kept.split("\n")
        while lines and size("\n".join(lines)) + fence_size + size(CODE_SHORTENED) + 1 > limit:
            lines.pop()
        kept = "\n".join([*lines, CODE_SHORTENED]) if lines else CODE_SHORTENED
    return f"```{lang}\n{kept}\n```" if size(kept) + fence_size <= limit else ""


def citation_field(number: int, quote: Quote) -> tuple[str, str]:
    """[n] title (› section path), then: as of date · where · offsets, and the syndicated copies that fit."""
    prefix = f"[{number}] "
    name = prefix + fit(section_title(quote.source), FIELD_NAME_LIMIT - size(prefix))
    value = f"{as_of(quote.source)} · {where(quote.source)} · chars {quote.start}–{quote.end}"
    return name, value + _also(quote.also, FIELD_VALUE_LIMIT - size(value))


def filters_block(filters: Filters | None) -> list[Block]:
    """A line saying which documents were allowed to answer, when the asker limited them."""
    if filters is None or not filters.active:
        return []
    return [Block(f"*Only documents {fit(filters.describe(), 600)}.*")]


def _also(copies: Sequence[Source], room: int) -> str:
    """ "also in: …" naming as many syndicated copies as fit in `room`, counting the rest."""
    entries = [citation_line(c) for c in copies]
    for shown in range(len(entries), -1, -1):
        rest = len(entries) - shown
        count = [f"{rest} more" if shown else f"{rest} other documents"] if rest else []
        parts = entries[:shown] + count
        text = "\nalso in: " + "; ".join(parts) if parts else ""
        if size(text) <= room:
            return text
    return ""


def answer_blocks(answer: Answer, first: int = 1, filters: Filters | None = None) -> list[Block]:
    blocks = filters_block(filters)
    if answer.timeline:
        blocks.append(Block("*Timeline: one quote per document, oldest first.*"))
    neighbours = shown_neighbours(answer.quotes)
    for number, (q, (before, after)) in enumerate(zip(answer.quotes, neighbours, strict=True), start=first):
        header = f" · {as_of(q.source)}" if answer.timeline else ""
        blocks.append(quote_block(number, q, before, after, NEIGHBOUR_LIMIT, header))
    return blocks


def not_answered_blocks(answer: Answer, filters: Filters | None = None) -> list[Block]:
    notice = sanitize(NOT_IN_CORPUS)
    blocks = filters_block(filters)
    if not answer.nearest:
        return [*blocks, Block(notice)]
    blocks.append(Block(f"{notice}\n\n**Nearest documents:**"))
    blocks.extend(Block(f"• {citation_line(s)}") for s in answer.nearest)
    return blocks


# ---------------------------------------------------------------- embeds and messages


def paginate(
    title: str, blocks: Sequence[Block], colour: discord.Colour, footer: str = ""
) -> list[discord.Embed]:
    """Embeds holding `blocks` in order, a new embed whenever the next block would break a limit."""
    pages: list[list[Block]] = [[]]
    for block in blocks:
        if pages[-1] and not _fits(title, [*pages[-1], block]):
            pages.append([])
        pages[-1].append(block)
    embeds = []
    for number, page in enumerate(pages, start=1):
        embed = discord.Embed(
            title=title if number == 1 else None,
            description="\n\n".join(b.text for b in page) or None,
            colour=colour,
        )
        for block in page:
            if block.field is not None:
                embed.add_field(name=block.field[0], value=block.field[1], inline=False)
        text = " · ".join(t for t in (footer, f"page {number}/{len(pages)}" if len(pages) > 1 else "") if t)
        if text:
            embed.set_footer(text=text[:FOOTER_RESERVE])
        embeds.append(embed)
    return embeds


def _fits(title: str, blocks: Sequence[Block]) -> bool:
    description = "\n\n".join(b.text for b in blocks)
    fields = [b.field for b in blocks if b.field is not None]
    total = size(title) + size(description) + sum(size(n) + size(v) for n, v in fields) + FOOTER_RESERVE
    return (
        size(description) <= DESCRIPTION_LIMIT
        and len(fields) <= FIELDS_PER_EMBED
        and (total <= MESSAGE_EMBEDS_TOTAL)
    )


def embed_size(embed: discord.Embed) -> int:
    """What an embed counts towards the 6000-character total of a message."""
    parts = [embed.title, embed.description, embed.footer.text, embed.author.name]
    parts += [t for f in embed.fields for t in (f.name, f.value)]
    return sum(size(p) for p in parts if p)


def messages(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Embeds grouped into as few messages as Discord allows (10 embeds, 6000 characters each)."""
    out: list[list[discord.Embed]] = []
    total = 0
    for embed in embeds:
        n = embed_size(embed)
        if not out or len(out[-1]) == EMBEDS_PER_MESSAGE or total + n > MESSAGE_EMBEDS_TOTAL:
            out.append([])
            total = 0
        out[-1].append(embed)
        total += n
    return out


def title_for(prefix: str, text: str) -> str:
    return prefix + fit(text, TITLE_LIMIT - size(prefix))


def answer_embeds(
    answer: Answer, first: int = 1, prefix: str = "", footer: str = "", filters: Filters | None = None
) -> list[list[discord.Embed]]:
    """An answer as messages of embeds: quotes (numbered from `first`) with citations, or an abstention.

    `filters` (what the asker limited the documents to) is stated above the quotes.
    """
    title = title_for(prefix, answer.question)
    if answer.status == UNSURE:
        blocks = [Block(sanitize(UNSURE_NOTICE)), *answer_blocks(answer, first, filters)]
        return messages(paginate(title, blocks, NOT_ANSWERED_COLOUR, footer))
    if not answer.answered:
        return messages(paginate(title, not_answered_blocks(answer, filters), NOT_ANSWERED_COLOUR, footer))
    return messages(paginate(title, answer_blocks(answer, first, filters), ANSWERED_COLOUR, footer))


def context_embeds(answer: Answer, windows: Sequence[tuple[str, str]]) -> list[list[discord.Embed]]:
    """Each quote in the wider passage around it (`windows[i]` = text before, text after), with its
    date, where to find it and its ranking score (private: only the person who asked sees it)."""
    blocks = []
    for number, (quote, (before, after)) in enumerate(zip(answer.quotes, windows, strict=True), start=1):
        header = (
            f" {as_of(quote.source)} · {where(quote.source, 400)} · chars {quote.start}–{quote.end}"
            f" · score {quote.score:.2f}"
        )
        blocks.append(quote_block(number, quote, before, after, CONTEXT_LIMIT, header))
    return messages(paginate(title_for("Context: ", answer.question), blocks, INFO_COLOUR))


def search_embeds(
    query: str, documents: Sequence[RankedDocument], filters: Filters | None = None
) -> list[list[discord.Embed]]:
    """The documents ranked for `query`, best first, each cited with its date."""
    blocks = [Block(f"**{n}.** {citation_line(d.source)}") for n, d in enumerate(documents, start=1)]
    if not blocks:
        blocks = [Block("No matching documents.")]
    return messages(paginate(title_for("Search: ", query), [*filters_block(filters), *blocks], INFO_COLOUR))


def page_count(total: int, per_page: int = SOURCES_PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def sources_embed(
    sources: Sequence[Source],
    page: int,
    per_page: int = SOURCES_PER_PAGE,
    notes: Mapping[str, str] | None = None,
) -> discord.Embed:
    """One page (1-based, clamped) of the indexed documents: number, title, date, and the note kept for
    the document's id in `notes` (who added it, and when)."""
    pages = page_count(len(sources), per_page)
    page = min(max(page, 1), pages)
    first = (page - 1) * per_page
    notes = notes or {}
    lines = [
        f"**{n}.** {fit(s.title, 200)} ({as_of(s)})"
        + (f" · {fit(notes[s.id], 120)}" if s.id in notes else "")
        for n, s in enumerate(sources[first : first + per_page], start=first + 1)
    ]
    embed = discord.Embed(
        title="Indexed documents", description="\n".join(lines) or "No documents.", colour=INFO_COLOUR
    )
    embed.set_footer(text=f"page {page}/{pages} · {len(sources)} documents")
    return embed


def status_embed(
    manifest: Mapping[str, Any], added: int, changed: int, removed: int, skipped: int, reindexing: bool
) -> discord.Embed:
    """The served generation, and whether the corpus on disk still matches it."""
    counts = manifest.get("counts", {})
    embed = discord.Embed(title="Index status", colour=INFO_COLOUR)
    rows = [
        ("Generation", str(manifest.get("generation", "?"))),
        ("Built at", str(manifest.get("built_at", "?"))),
        ("Documents", str(counts.get("documents", "?"))),
        ("Chunks", str(counts.get("chunks", "?"))),
        ("Sentences", str(counts.get("sentences", "?"))),
        ("Model", str(manifest.get("model", "?"))),
    ]
    for name, value in rows:
        embed.add_field(name=name, value=fit(value, 200), inline=True)
    if added or changed or removed:
        corpus = f"changed since the build: {added} new, {changed} modified, {removed} removed; run /reindex"
    else:
        corpus = "unchanged since the build"
    if skipped:
        corpus += f" ({skipped} files cannot be indexed)"
    if reindexing:
        corpus += "; a reindex is running"
    embed.add_field(name="Corpus", value=corpus, inline=False)
    return embed
