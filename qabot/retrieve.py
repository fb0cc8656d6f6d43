"""Dense (FAISS) and keyword (SQLite FTS5 BM25) retrieval, and their fusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qabot import bm25
from qabot.store import Index, Scope, SentenceRow
from qabot.words import content_words, token, tokens

RRF_K = 60
# Rows an FTS5 chunk query may have to score (the summed chunk counts of its words). FTS5 reads every row
# holding any word of an OR query, and again for bm25()'s IDF counts, so the query grows with the index:
# at 100k chunks a SQuAD question's words hold 8,400 chunks at the median and 23,000 at the 90th
# percentile (10 ms a query, against 7.7 ms within this budget). The commonest words (the least evidence:
# the lowest IDF) are left out until the rest fit; the rarest always stays. Quality: no change on the
# seed, SQuAD or 31k-chunk indexes, where words rarely exceed it; words left out as often as at 100k
# cost 0.2 points of top-1 (docs/performance.md, section 3).
KEYWORD_POSTINGS = 16_000


@dataclass(frozen=True)
class Hit:
    id: int
    score: float


SCOPED_EXACT_MAX = 50_000  # a scope this small is searched exactly rather than through FAISS


def dense(index: Index, query: np.ndarray, k: int, scope: Scope | None = None) -> list[Hit]:
    """Chunks by cosine similarity (vectors are normalised, so inner product)."""
    if scope is not None and len(scope.chunks) <= SCOPED_EXACT_MAX:
        if not len(scope.chunks):
            return []
        scores = np.asarray(index.chunk_vectors[scope.chunks]) @ query
        top = np.argsort(-scores)[:k]
        return [Hit(int(scope.chunks[i]), float(scores[i])) for i in top]
    if index.faiss.ntotal == 0:
        return []
    depth = k if scope is None else k * 20
    scores, ids = index.faiss.search(query.reshape(1, -1).astype(np.float32), min(depth, index.faiss.ntotal))
    # FAISS pads with -1 when it has fewer than k results; those are not chunks.
    hits = [Hit(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
    if scope is not None:
        allowed = set(scope.chunks.tolist())
        hits = [h for h in hits if h.id in allowed]
    return hits[:k]


def dense_sentences(index: Index, query: np.ndarray, k: int) -> list[Hit]:
    """Sentences by cosine similarity, exhaustively (the dense baseline)."""
    if not len(index.sentence_vectors):
        return []
    scores = np.asarray(index.sentence_vectors) @ query
    top = np.argsort(-scores)[:k]
    return [Hit(int(i), float(scores[i])) for i in top]


# Each match's document looked up by its primary key: `rowid IN (SELECT rowid FROM chunks WHERE doc IN …)`
# scanned the whole table for every match (sentences: 8 s a question against 30 ms, on a 90,000-chunk index).
_WITHIN = (
    " AND (SELECT doc FROM {table} WHERE {table}.rowid = {fts}.rowid) IN (SELECT value FROM json_each(?))"
)


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(content_words(text)))


def _fts_query(words: Sequence[str]) -> str | None:
    return " OR ".join(f'"{w}"' for w in words) or None


def within_budget(index: Index, words: Sequence[str], budget: int | None = None) -> list[str]:
    """`words` (in order) less the commonest ones, until the chunks holding them add up to `budget`
    (default KEYWORD_POSTINGS) at most; the rarest word always stays, so a question with content words
    always has a keyword query."""
    budget = KEYWORD_POSTINGS if budget is None else budget
    if len(words) * index.chunk_count() <= budget:  # nothing to leave out: skip the lookups
        return list(words)
    stems = {w: token(w) for w in words}
    counts, _ = index.chunk_frequency(list(stems.values()))
    kept: set[str] = set()
    total = 0
    for word in sorted(words, key=lambda w: counts.get(stems[w], 0)):
        held = counts.get(stems[word], 0)
        if kept and total + held > budget:
            break
        kept.add(word)
        total += held
    return [w for w in words if w in kept]


def keyword_chunks(index: Index, text: str, k: int, scope: Scope | None = None) -> list[Hit]:
    """Chunks by BM25 over title (weighted double) and body, for the rarer words (`within_budget`)."""
    query = _fts_query(within_budget(index, _words(text)))
    return _bm25(index, "chunk_fts", "bm25(chunk_fts, 2.0, 1.0)", "chunks", query, k, scope)


def keyword_sentences(index: Index, text: str, k: int, scope: Scope | None = None) -> list[Hit]:
    """Sentences by BM25, over the whole index (the keyword baseline; see `keyword_scores`)."""
    return _bm25(index, "sentence_fts", "bm25(sentence_fts)", "sentences", _fts_query(_words(text)), k, scope)


def keyword_scores(index: Index, text: str, sentences: Sequence[SentenceRow]) -> dict[int, float]:
    """BM25 of each of `sentences` that holds a word of `text`: the score `keyword_sentences` gives it,
    computed from its own text and the index's statistics instead of a query that scores every sentence
    holding a word (10 ms at 210,000 sentences; qabot.bm25)."""
    phrases = bm25.phrases(_words(text))
    if not phrases or not sentences:
        return {}
    counts, rows = index.sentence_frequency(sorted({t for p in phrases for t in p}))
    # a phrase of several tokens ("a_b") is held by at most as many rows as its rarest token
    weights = [(p, bm25.idf(min(counts.get(t, 0) for t in p), rows)) for p in phrases]
    mean = index.mean_tokens("sentence_fts")
    out = {}
    for s in sentences:
        value = bm25.score(tokens(index.document(s.doc).text[s.start : s.end]), weights, mean)
        if value > 0:
            out[s.id] = value
    return out


def _bm25(
    index: Index, fts: str, rank: str, rows_table: str, query: str | None, k: int, scope: Scope | None
) -> list[Hit]:
    if query is None:
        return []
    within = "" if scope is None else _WITHIN.format(table=rows_table, fts=fts)
    rows = index.db.execute(
        f"SELECT rowid, {rank} AS s FROM {fts} WHERE {fts} MATCH ?{within} ORDER BY s LIMIT ?",
        (query, *([] if scope is None else [scope.docs_json]), k),
    ).fetchall()
    # FTS5's bm25() is negative, lower is better: flip it so every retriever's score grows with relevance
    return [Hit(int(r[0]), -float(r[1])) for r in rows]


def rrf(rankings: Sequence[Sequence[Hit]], k: int = RRF_K) -> list[Hit]:
    """Reciprocal-rank fusion: robust to the two scores living on different scales."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking):
            fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (k + rank + 1)
    return [Hit(i, s) for i, s in sorted(fused.items(), key=lambda kv: -kv[1])]
