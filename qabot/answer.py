"""Answers: candidate sentences from retrieved chunks, scored, deduplicated, or an abstention.

Everything quoted is `document.text[start:end]`; nothing is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qabot import retrieve
from qabot.store import Index, SentenceRow

MAX_QUESTION_CHARS = 1000
CANDIDATE_CHUNKS = 12
RETRIEVE_DEPTH = 50
DEFAULT_MIN_SCORE = 0.40
DUPLICATE_COSINE = 0.95
MODES = ("hybrid", "dense", "keyword")  # dense and keyword are the baselines eval compares against


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long); the message says what to do."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    path: str
    date: str | None
    url: str | None


@dataclass(frozen=True)
class Quote:
    """A verbatim sentence: `text == document.text[start:end]`, with its neighbours for context."""

    text: str
    start: int
    end: int
    score: float
    source: Source
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    quotes: tuple[Quote, ...] = ()
    nearest: tuple[Source, ...] = ()  # when not answered: where the closest material is
    top_score: float = 0.0  # the best candidate's score, answered or not (for calibration)


@dataclass(frozen=True)
class RankedDocument:
    source: Source
    score: float


@dataclass(frozen=True)
class Candidate:
    sentence: SentenceRow
    score: float
    features: dict[str, float] = field(default_factory=dict, compare=False)


def clean_question(question: str) -> str:
    """The question with control characters and runs of whitespace removed; refuses empty or huge ones."""
    text = "".join(c if c.isprintable() else " " for c in question)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty: ask something about the documents")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is too long ({len(text)} characters; at most {MAX_QUESTION_CHARS})"
        )
    return text


class Answerer:
    """Answers and searches over one loaded index generation."""

    def __init__(
        self, index: Index, min_score: float | None = None, threads: int = 2, mode: str = "hybrid"
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.index = index
        self.mode = mode
        self.encoder = index.encoder(threads)
        calibrated = index.manifest.get("min_score")
        self.min_score = min_score if min_score is not None else calibrated or DEFAULT_MIN_SCORE

    def answer(self, question: str, k: int = 3, history: Sequence[str] = ()) -> Answer:
        """The best `k` quotes for `question`, or an abstention listing the nearest documents."""
        text = clean_question(question)
        candidates, fused = self._candidates(text)
        best = candidates[0].score if candidates else 0.0
        if best < self.min_score:
            return Answer(text, False, nearest=tuple(self._nearest_sources(fused, 3)), top_score=best)
        quotes = [self._quote(c) for c in self._distinct(candidates, k)]
        return Answer(text, True, tuple(quotes), top_score=best)

    def search(self, query: str, k: int = 5) -> list[RankedDocument]:
        """Documents ranked by their best chunks under fused dense and keyword retrieval."""
        text = clean_question(query)
        vector = self.encoder.encode([text])[0]
        depth = max(RETRIEVE_DEPTH, 3 * k)
        rankings = []
        if self.mode != "keyword":
            rankings.append(retrieve.dense(self.index, vector, depth))
        if self.mode != "dense":
            rankings.append(retrieve.keyword_chunks(self.index, text, depth))
        fused = retrieve.rrf(rankings)
        doc_of = {c.id: c.doc for c in self.index.chunks([h.id for h in fused])}
        scores: dict[int, float] = {}
        for hit in fused:
            doc = doc_of[hit.id]
            scores[doc] = max(scores.get(doc, 0.0), hit.score)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
        return [RankedDocument(self._source(doc), score) for doc, score in ranked]

    # ------------------------------------------------------------ internals

    def _candidates(self, text: str) -> tuple[list[Candidate], list[retrieve.Hit]]:
        vector = self.encoder.encode([text])[0]
        dense = retrieve.dense(self.index, vector, RETRIEVE_DEPTH)
        keyword = retrieve.keyword_chunks(self.index, text, RETRIEVE_DEPTH)
        fused = retrieve.rrf([dense, keyword])
        if self.mode == "dense":
            return self._baseline(retrieve.dense_sentences(self.index, vector, CANDIDATE_CHUNKS)), fused
        if self.mode == "keyword":
            return self._baseline(retrieve.keyword_sentences(self.index, text, CANDIDATE_CHUNKS)), fused
        chunks = self.index.chunks([h.id for h in fused[:CANDIDATE_CHUNKS]])
        chunk_sim = {c.id: float(self.index.chunk_vectors[c.id] @ vector) for c in chunks}
        keyword_sentences = {
            h.id: h.score for h in retrieve.keyword_sentences(self.index, text, RETRIEVE_DEPTH)
        }
        top_keyword = max(keyword_sentences.values(), default=1.0) or 1.0
        support: dict[int, float] = {}
        rows: dict[int, SentenceRow] = {}
        for c in chunks:
            for s in self.index.sentences(c.first, c.last):
                rows[s.id] = s
                support[s.id] = max(support.get(s.id, -1.0), chunk_sim[c.id])
        ids = sorted(rows)
        if not ids:
            return [], fused
        similarity = np.asarray(self.index.sentence_vectors[ids]) @ vector
        candidates = []
        for sid, sim in zip(ids, similarity, strict=True):
            features = {
                "sentence": float(sim),
                "chunk": support[sid],
                "keyword": keyword_sentences.get(sid, 0.0) / top_keyword,
            }
            candidates.append(Candidate(rows[sid], score_sentence(features), features))
        candidates.sort(key=lambda c: -c.score)
        return candidates, fused

    def _baseline(self, hits: Sequence[retrieve.Hit]) -> list[Candidate]:
        """One retriever's sentences in its own order (the baselines: no fusion, no re-scoring)."""
        rows = {r.id: r for r in self.index.sentence_rows([h.id for h in hits])}
        return [Candidate(rows[h.id], h.score) for h in hits if h.id in rows]

    def _distinct(self, candidates: Sequence[Candidate], k: int) -> list[Candidate]:
        """Best candidates, skipping any that repeat an already chosen quote (syndicated copies)."""
        chosen: list[Candidate] = []
        for c in candidates:
            if len(chosen) == k:
                break
            v = self.index.sentence_vectors[c.sentence.id]
            if any(float(v @ self.index.sentence_vectors[o.sentence.id]) > DUPLICATE_COSINE for o in chosen):
                continue
            chosen.append(c)
        return chosen

    def _quote(self, c: Candidate) -> Quote:
        s = c.sentence
        doc = self.index.document(s.doc)
        neighbours = {n.id: n for n in self.index.sentences(s.id - 1, s.id + 1) if n.doc == s.doc}
        before = neighbours.get(s.id - 1)
        after = neighbours.get(s.id + 1)
        return Quote(
            text=doc.text[s.start : s.end],
            start=s.start,
            end=s.end,
            score=round(c.score, 4),
            source=self._source(s.doc),
            before=doc.text[before.start : before.end] if before else "",
            after=doc.text[after.start : after.end] if after else "",
        )

    def _source(self, doc_row: int) -> Source:
        d = self.index.document(doc_row)
        return Source(d.id, d.title, d.path, d.date, d.url)

    def _nearest_sources(self, fused: Sequence[retrieve.Hit], n: int) -> list[Source]:
        rows: list[int] = []
        for chunk in self.index.chunks([h.id for h in fused[: n * 5]]):
            if chunk.doc not in rows:
                rows.append(chunk.doc)
        return [self._source(r) for r in rows[:n]]


def score_sentence(features: dict[str, float]) -> float:
    """How well a sentence answers: mostly its own similarity, backed by its chunk and shared keywords."""
    return 0.6 * features["sentence"] + 0.25 * features["chunk"] + 0.15 * features["keyword"]
