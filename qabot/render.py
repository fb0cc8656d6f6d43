"""Renderings of answers and search results: JSON (the contract in DESIGN.md) and rich text for people."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from qabot import markup
from qabot.answer import UNSURE, Answer, Quote, RankedDocument, Source, shown_neighbours

NOT_IN_CORPUS = "Not in the corpus: the documents do not answer this."
UNSURE_NOTICE = "Low confidence: these are the closest passages, but they may not answer the question."
# Words for a calibrated probability: of the quotes given a confidence of about p on the calibration
# questions, about p held the answer (docs/benchmarks.md, "Confidence").
CONFIDENCE_WORDS = ((0.9, "very likely answers it"), (0.7, "likely answers it"), (0.4, "may answer it"))


def source_json(source: Source) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": source.id,
        "title": source.title,
        "path": source.path,
        "date": source.date,
        "url": source.url,
    }
    if source.section:
        out["section"] = list(source.section)  # headings above the quote, outermost first
    return out


def quote_json(q: Quote) -> dict[str, Any]:
    out: dict[str, Any] = {
        "text": q.text,
        "start": q.start,
        "end": q.end,
        "score": q.score,
        "source": source_json(q.source),
        "context": {"before": q.before, "after": q.after},
    }
    if q.confidence is not None:
        out["confidence"] = q.confidence
    if q.answer is not None:
        out["answer"] = {"text": q.answer_text, "start": q.answer[0], "end": q.answer[1]}
    if q.also:
        out["also"] = [source_json(s) for s in q.also]
    if q.cut:
        out["cut"] = True
    return out


def answer_json(answer: Answer) -> dict[str, Any]:
    """The Answer JSON of DESIGN.md; `status` tells a declined answer with its closest quotes ("unsure")
    from one with nothing close ("not_found")."""
    out: dict[str, Any] = {
        "question": answer.question,
        "answered": answer.answered,
        "status": answer.status,
        "quotes": [quote_json(q) for q in answer.quotes],
    }
    if answer.timeline:
        out["timeline"] = True
    if not answer.answered:
        out["nearest"] = [source_json(s) for s in answer.nearest]
    return out


def search_json(query: str, documents: Sequence[RankedDocument]) -> dict[str, Any]:
    return {
        "query": query,
        "documents": [
            {"id": d.source.id, "title": d.source.title, "path": d.source.path, "score": round(d.score, 6)}
            for d in documents
        ],
    }


def citation(source: Source) -> str:
    """Title (and section path), "as of" date and where to find it: a quote without its date misleads
    on changing news."""
    date = f"as of {source.date}" if source.date else "undated"
    where = source.url or source.path
    return f"{section_title(source)} ({date}) — {where}"


def section_title(source: Source) -> str:
    """The title, then the headings above the quote: "First Steps › Check it" (reST roles in them as
    the page shows them)."""
    section = source.section[1:] if source.section[:1] == (source.title,) else source.section
    return " › ".join(markup.inline(part, source.syntax) for part in (source.title, *section))


def confidence_words(p: float) -> str:
    """A calibrated probability as people read it: words first, the percentage after."""
    words = next((w for at, w in CONFIDENCE_WORDS if p >= at), "unlikely to answer it")
    return f"{words} ({round(100 * p)} %)"


def answer_text(answer: Answer) -> Group:
    """The answer for a terminal: each quote between its neighbours with the answer in bold, its
    confidence in words, then numbered citations."""
    parts: list[Any] = [Text(f"Q: {answer.question}", style="bold cyan")]
    if answer.status == UNSURE:
        parts.append(Text(UNSURE_NOTICE, style="yellow"))
    elif not answer.answered:
        parts.append(Text(NOT_IN_CORPUS, style="yellow"))
        if answer.nearest:
            parts.append(Text("Nearest documents:"))
            parts.extend(Text(f"  • {citation(s)}") for s in answer.nearest)
        return Group(*parts)
    if answer.timeline:
        parts.append(Text("Timeline: one quote per document, oldest first.", style="italic"))
    for number, (quote, (before, after)) in enumerate(
        zip(answer.quotes, shown_neighbours(answer.quotes), strict=True), start=1
    ):
        quote = replace(quote, before=before, after=after)
        title = f"[{number}] " + (
            confidence_words(quote.confidence) if quote.confidence is not None else f"score {quote.score:.2f}"
        )
        if answer.timeline:
            title += f" · {quote.source.date or 'undated'}"
        parts.append(Panel(_quote_text(quote), title=title, title_align="left"))
    parts.append(Text("Sources:"))
    for number, quote in enumerate(answer.quotes, start=1):
        parts.append(Text(f"  [{number}] {citation(quote.source)}, chars {quote.start}–{quote.end}"))
        if quote.also:
            parts.append(Text("      also in: " + "; ".join(citation(a) for a in quote.also)))
    return Group(*parts)


def _quote_text(quote: Quote) -> RenderableType:
    """The quote marked ▶ with its answer in bold (the whole quote when no answer is marked), its
    neighbours above and below, dimmed; code in a quote or a neighbour is shown as code (highlighted,
    HTML colouring tags dropped), neighbours that hold code are shortened, and a cut block says so."""
    flow = partial(markup.as_page, syntax=quote.source.syntax)
    syntax = quote.source.syntax
    shown = markup.pieces(quote.text, quote.indent, syntax, quote.code)
    before = markup.pieces(quote.before, quote.before_indent, syntax)
    after = markup.pieces(quote.after, quote.after_indent, syntax)
    if not any(p.code for p in (*shown, *before, *after)) and not quote.cut:
        text = Text()
        if quote.before:
            shown_before = flow(quote.before, indent=quote.before_indent)
            text.append(shortened(shown_before, keep="tail") + "\n", style="dim")
        text.append("▶ ")
        page = markup.as_page(quote.text, quote.source.syntax, quote.marked, quote.indent)
        if quote.marked is None:
            text.append(page, style="bold")
        else:
            head, answer, tail = page.split(markup.ANSWER_MARK)
            text.append(head)
            text.append(answer, style="bold")
            text.append(tail)
        if quote.after:
            text.append("\n" + shortened(flow(quote.after, indent=quote.after_indent)), style="dim")
        return hanging(text)
    parts: list[RenderableType] = _context(before, flow) if quote.before else []
    for number, piece in enumerate(shown):
        if piece.code:
            parts.append(_code(piece.text, piece.language))
        else:
            parts.append(hanging(Text(("▶ " if number == 0 else "") + flow(piece.text), style="bold")))
    if quote.cut:
        parts.append(Text(f"… (cut: the block goes on after char {quote.end})", style="italic"))
    elif quote.after:
        parts.extend(_context(after, flow))
    return Group(*parts)


def _code(code: str, language: str) -> RenderableType:
    from rich.syntax import Syntax  # here, not at the top: pygments costs a cold `qabot ask` ~10 ms

    return Syntax(code, language or "text", word_wrap=True, theme="ansi_dark")


CONTEXT_CHARS = 300  # of a neighbour holding code: enough to see what it is, not a screenful of it
PROSE_CONTEXT_CHARS = 400  # of a neighbour in prose (a definition list a sentence introduced runs to pages)


def shortened(text: str, keep: str = "head", room: int = PROSE_CONTEXT_CHARS) -> str:
    """`text` cut between words to at most `room` characters with "…" where it was cut: its head, or its
    tail (what leads into the quote after it)."""
    if len(text) <= room:
        return text
    if keep == "tail":
        cut = text[-room:]
        if not text[-room - 1].isspace():  # the cut fell inside a word: leave the word out
            space = re.search(r"\s", cut)
            cut = cut[space.end() :] if space else cut
        return "… " + cut.lstrip()
    cut = text[:room]
    if not text[room].isspace():
        spaces = [m.start() for m in re.finditer(r"\s", cut)]
        cut = cut[: spaces[-1]] if spaces else cut
    return cut.rstrip() + " …"


def _context(pieces: list[markup.Piece], flow: Callable[[str], str]) -> list[RenderableType]:
    """A neighbouring unit, dimmed, its code shown as code and everything shortened to CONTEXT_CHARS."""
    out: list[RenderableType] = []
    room = CONTEXT_CHARS
    for piece in pieces:
        if room <= 0:
            break
        whole = piece.text if piece.code else flow(piece.text)
        text = whole if len(whole) <= room else whole[:room].rstrip() + " …"
        room -= len(text)
        if piece.code:
            out.append(_code(text, piece.language))
        else:
            out.append(hanging(Text(text, style="dim")))
    return out


def hanging(text: Text) -> RenderableType:
    """`text` with each list item's wrapped lines under the item's text, not under its marker, as a
    rendered page shows a list; unchanged when no line is a list item."""
    lines = text.split("\n")
    items = [markup.LIST_MARKER.match(line.plain) for line in lines]
    if not any(items):
        return text
    rows: list[RenderableType] = []
    for line, item in zip(lines, items, strict=True):
        if item is None or item.end() == len(line.plain):
            rows.append(line)
            continue
        grid = Table.grid(expand=True)
        grid.add_column(width=item.end(), no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(line[: item.end()], line[item.end() :])
        rows.append(grid)
    return Group(*rows)


def search_text(query: str, documents: Sequence[RankedDocument]) -> Group:
    parts: list[Any] = [Text(f"Search: {query}", style="bold cyan")]
    if not documents:
        parts.append(Text("No matching documents.", style="yellow"))
    for number, d in enumerate(documents, start=1):
        parts.append(Text(f"  {number}. {citation(d.source)}  (score {d.score:.4f})"))
    return Group(*parts)
