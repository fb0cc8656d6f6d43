"""Sentence segmentation with character offsets, and chunking of sentences for the embedding model.

The one invariant everything else leans on: for every span, `text[span.start:span.end]` is the sentence.
sentencex decides where sentences end within a line (it knows U.S., Dr., Gen., quotations); a line break
always ends a sentence (headlines, bylines, list lines), as it did with pysbd, which qabot used before and
which was 200 times slower (benchmarks/segmentation.py). Offsets are found by locating each segment in the
original text, so they can never drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

# Paragraphs are separated by blank lines; headlines and date lines sit in paragraphs of their own.
_GAP = re.compile(r"\n\s*\n")
# A leading date line ("Date: 23 February 2021", "date 2023-12-28") is its own unit even when a
# headline follows on the same line.
_DATE_LINE = re.compile(
    r"(?i)date:?\s+(?:\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+\.?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4})\b"
)
SEGMENTER_VERSION = 3  # bump when segmentation changes, so incremental builds re-split every document
MAX_SENTENCE_CHARS = 1000  # longer runs (tables, unpunctuated dumps) are cut at whitespace


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def segment(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of `text[start:end]` as spans into `text`, in order, stripped of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for gap in _GAP.finditer(text, start, end):
        _paragraph(text, cursor, gap.start(), spans)
        cursor = gap.end()
    _paragraph(text, cursor, end, spans)
    return spans


def _paragraph(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    date = _DATE_LINE.match(text, start, end)
    if date:
        out.append(Span(date.start(), date.end()))
        start = date.end()
    while start < end:
        newline = text.find("\n", start, end)
        line_end = end if newline < 0 else newline
        _line(text, start, line_end, out)
        start = line_end + 1


def _line(text: str, start: int, end: int, out: list[Span]) -> None:
    cursor = start
    for piece in _splitter()("en", text[start:end]):
        if text.startswith(piece, cursor):  # the usual case: the pieces are the line, cut up
            found = cursor
        else:  # the segmenter changed the text after all: keep the rest of the line as one unit
            found = text.find(piece, cursor, end) if piece else -1
            if found < 0:
                piece, found = text[cursor:end], cursor
            _emit(text, cursor, found, out)  # anything the segmenter skipped
        _emit(text, found, found + len(piece), out)
        cursor = found + len(piece)
    if cursor < end:
        _emit(text, cursor, end, out)


@lru_cache(maxsize=1)
def _splitter() -> Callable[[str, str], Iterable[str]]:
    from sentencex import segment as split  # here, not at the top: only builds segment

    return cast(Callable[[str, str], Iterable[str]], split)


def _emit(text: str, start: int, end: int, out: list[Span]) -> None:
    """`text[start:end]` without surrounding whitespace, cut into runs of MAX_SENTENCE_CHARS at most."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    start += len(piece) - len(piece.lstrip())
    end = start + len(stripped)
    if end - start <= MAX_SENTENCE_CHARS:
        out.append(Span(start, end))
    else:
        out.extend(Span(s, e) for s, e in _pieces(text, start, end, MAX_SENTENCE_CHARS))


def _pieces(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut `text[start:end]` into runs of at most `limit` characters, at whitespace where there is any."""
    out: list[tuple[int, int]] = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        out.append((start, end))
    # trim trailing whitespace left before a cut
    return [(s, e - (len(text[s:e]) - len(text[s:e].rstrip()))) for s, e in out if text[s:e].strip()]


def chunk(token_counts: Sequence[int], budget: int, overlap: int = 1) -> list[tuple[int, int]]:
    """Runs of consecutive sentences `(first, last)` (inclusive) whose token counts fit `budget`.

    Neighbouring chunks share `overlap` sentences, so a sentence is never judged only without its context.
    A sentence longer than the budget gets a chunk of its own (the model truncates it).
    """
    chunks: list[tuple[int, int]] = []
    n = len(token_counts)
    first = 0
    while first < n:
        last, used = first, token_counts[first]
        while last + 1 < n and used + token_counts[last + 1] <= budget:
            last += 1
            used += token_counts[last]
        chunks.append((first, last))
        if last == n - 1:
            break
        first = max(last + 1 - overlap, first + 1)
    return chunks
