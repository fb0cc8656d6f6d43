"""BM25 as SQLite FTS5's `bm25()` computes it, for a few rows already in hand.

FTS5 has no top-k pruning: a query scores every row holding any of its words, and `bm25()` counts each
word's rows again for its IDF, so a sentence query costs time linear in the index (10 ms at 210,000
sentences). The answer path needs BM25 only for the few dozen sentences of its candidate chunks, so it
computes it here from their text, with the index-wide statistics FTS5 would use (rows holding each term,
row count, mean row length): the same numbers FTS5 gives those rows, without reading anyone else's.

Tokens are the index's own (`qabot.words.tokens`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qabot.words import tokens

K1 = 1.2  # FTS5's constants (fts5_aux.c)
B = 0.75

Phrase = tuple[str, ...]


def phrases(words: Sequence[str]) -> list[Phrase]:
    """The FTS5 phrase each query word becomes ("a_b" is the two-token phrase "a b"), in order."""
    return [p for p in (tuple(tokens(w)) for w in words) if p]


def idf(rows_with_term: int, rows: int) -> float:
    """FTS5's IDF, floored at a millionth so that a word in most rows still counts a little."""
    value = math.log((rows - rows_with_term + 0.5) / (rows_with_term + 0.5))
    return value if value > 0 else 1e-6


def score(text_tokens: Sequence[str], weights: Sequence[tuple[Phrase, float]], mean_tokens: float) -> float:
    """BM25 of one row (all columns weighted 1) for (phrase, IDF) pairs; higher is better.

    A phrase given twice counts twice, as in FTS5 (a question's "run" and "running" are both "run").
    """
    length_norm = K1 * (1 - B + B * len(text_tokens) / mean_tokens)
    total = 0.0
    for phrase, weight in weights:
        hits = _count(text_tokens, phrase)
        if hits:
            total += weight * hits * (K1 + 1) / (hits + length_norm)
    return total


def _count(text_tokens: Sequence[str], phrase: Phrase) -> int:
    if len(phrase) == 1:
        return text_tokens.count(phrase[0])
    n = len(phrase)
    return sum(1 for i in range(len(text_tokens) - n + 1) if tuple(text_tokens[i : i + n]) == phrase)
