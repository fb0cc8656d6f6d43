"""Sentence segmentation with character offsets, and chunking of sentences for the embedding model.

The one invariant everything else leans on: for every span, `text[span.start:span.end]` is the sentence.
pysbd decides where sentences end (it knows U.S., Dr., Gen., quotations); offsets are found by locating
each of its segments in the original text, so they can never drift.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pysbd

# Paragraphs are separated by blank lines; headlines and date lines sit in paragraphs of their own.
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.DOTALL)
# A leading date line ("Date: 23 February 2021", "date 2023-12-28") is its own unit even when a
# headline follows on the same line.
_DATE_LINE = re.compile(
    r"(?i)date:?\s+(?:\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+\.?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4})\b"
)
SEGMENTER_VERSION = 2  # bump when segmentation changes, so incremental builds re-split every document
MAX_SENTENCE_CHARS = 1000  # longer runs (tables, unpunctuated dumps) are cut at whitespace
MAX_PARAGRAPH_CHARS = 20_000  # pysbd is regex-heavy; very long paragraphs are fed to it in pieces


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    import pysbd  # here, not at the top: only builds segment, and `qabot ask` saves ~10 ms

    return pysbd.Segmenter(language="en", clean=False)


def segment(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of `text[start:end]` as spans into `text`, in order, stripped of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para in _PARAGRAPH.finditer(text, start, end):
        for piece_start, piece_end in _pieces(text, para.start(), para.end(), MAX_PARAGRAPH_CHARS):
            spans.extend(_sentences(text, piece_start, piece_end))
    return spans


def _sentences(text: str, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    cursor = start
    date = _DATE_LINE.match(text, start, end)
    if date:
        spans.append(Span(date.start(), date.end()))
        cursor = date.end()
    block = text[cursor:end]
    if not block.strip():
        return spans
    for piece in _segmenter().segment(block):
        found = text.find(piece, cursor, end) if piece else -1
        if found < 0:  # pysbd changed the text after all: keep the rest of the block as one unit
            piece, found = text[cursor:end], cursor
        spans.extend(_trimmed(text, cursor, found))  # anything pysbd skipped ("U.S. .??" loses "??")
        spans.extend(_trimmed(text, found, found + len(piece)))
        cursor = found + len(piece)
    spans.extend(_trimmed(text, cursor, end))
    return spans


def _trimmed(text: str, start: int, end: int) -> list[Span]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        return []
    return [Span(s, e) for s, e in _pieces(text, start, end, MAX_SENTENCE_CHARS)]


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
