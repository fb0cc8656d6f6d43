"""Answers: candidate sentences from retrieved chunks, scored, deduplicated, or an abstention.

Everything quoted is `document.text[start:end]`; nothing is generated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qabot import retrieve, scoring
from qabot.store import Index, SentenceRow

MAX_QUESTION_CHARS = 1000
CANDIDATE_CHUNKS = 12
RETRIEVE_DEPTH = 50
# `qabot calibrate` on SQuAD questions plus the seed questions as off-corpus negatives, at precision 0.8
# (see docs/benchmarks.md); a calibration.json beside the index overrides it.
DEFAULT_MIN_SCORE = 8.62
CALIBRATION_FILE = "calibration.json"
DUPLICATE_COSINE = 0.95
HISTORY_TURNS = 1  # previous questions a follow-up is read with
# Score handicap of the contextual reading: measured on eval/seed_conversations.jsonl over 0, 0.5, 1, 1.5, 2
# and "never": 1.5 is the largest gain on follow-ups with no loss on subject changes (docs/benchmarks.md).
HISTORY_DISCOUNT = 1.5
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
        calibrated = load_calibration(index.index_dir, index.manifest["model_key"])
        self.min_score = min_score if min_score is not None else calibrated or DEFAULT_MIN_SCORE

    def answer(self, question: str, k: int = 3, history: Sequence[str] = ()) -> Answer:
        """The best `k` quotes for `question`, or an abstention listing the nearest documents."""
        text = clean_question(question)
        candidates, fused = self._candidates(text)
        if history:
            candidates, fused = self._with_history(text, history, candidates, fused)
        best = candidates[0].score if candidates else 0.0
        if best < self.min_score:
            return Answer(text, False, nearest=tuple(self._nearest_sources(fused, 3)), top_score=best)
        quotes = [self._quote(c) for c in self._distinct(candidates, k)]
        return Answer(text, True, tuple(quotes), top_score=best)

    def _with_history(
        self,
        text: str,
        history: Sequence[str],
        candidates: list[Candidate],
        fused: list[retrieve.Hit],
    ) -> tuple[list[Candidate], list[retrieve.Hit]]:
        """Also read the question in the light of the previous one; keep each sentence's better score.

        A follow-up ("How many troops are stationed there?") scores well only with its antecedent; a new
        subject scores better alone, so the discount keeps it from being pulled back to the old topic.
        """
        previous = " ".join(clean_question(h) for h in history[-HISTORY_TURNS:] if h.strip())
        if not previous:
            return candidates, fused
        contextual, contextual_fused = self._candidates(f"{previous} {text}")
        best: dict[int, Candidate] = {c.sentence.id: c for c in candidates}
        for c in contextual:
            discounted = Candidate(c.sentence, c.score - HISTORY_DISCOUNT, c.features)
            if c.sentence.id not in best or discounted.score > best[c.sentence.id].score:
                best[c.sentence.id] = discounted
        merged = sorted(best.values(), key=lambda c: -c.score)
        return merged, retrieve.rrf([fused, contextual_fused])

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
        return self._rescored(text, vector, fused), fused

    def _rescored(self, text: str, vector: np.ndarray, fused: Sequence[retrieve.Hit]) -> list[Candidate]:
        """Every sentence of the best fused chunks, scored with all the evidence (see qabot.scoring)."""
        chunks = self.index.chunks([h.id for h in fused[:CANDIDATE_CHUNKS]])
        if not chunks:
            return []
        chunk_sim = np.asarray(self.index.chunk_vectors[[c.id for c in chunks]]) @ vector
        keyword = {h.id: h.score for h in retrieve.keyword_sentences(self.index, text, RETRIEVE_DEPTH)}
        top_keyword = max(keyword.values(), default=1.0) or 1.0
        support: dict[int, tuple[float, float]] = {}  # sentence id -> (best chunk cosine, best rank feature)
        rows: dict[int, SentenceRow] = {}
        for rank, (c, sim) in enumerate(zip(chunks, chunk_sim, strict=True)):
            for row in self.index.sentences(c.first - 1, c.last + 1):
                rows[row.id] = row  # neighbours too, for the context feature
            for sid in range(c.first, c.last + 1):
                old = support.get(sid, (-1.0, 0.0))
                support[sid] = (max(old[0], float(sim)), max(old[1], 1.0 / (1 + rank)))
        ids = sorted(rows)
        similarity = dict(
            zip(ids, (np.asarray(self.index.sentence_vectors[ids]) @ vector).tolist(), strict=True)
        )
        info = scoring.question_info(text, self.index.sentence_frequency)
        candidates = []
        for sid, (chunk_cos, rank_feature) in support.items():
            row = rows[sid]
            neighbours = [similarity[n] for n in (sid - 1, sid + 1) if n in rows and rows[n].doc == row.doc]
            sentence = self.index.document(row.doc).text[row.start : row.end]
            features = {
                "sentence": similarity[sid],
                "chunk": chunk_cos,
                "context": max(neighbours, default=0.0),
                "keyword": keyword.get(sid, 0.0) / top_keyword,
                "rank": rank_feature,
                **scoring.lexical_features(info, sentence),
            }
            candidates.append(Candidate(row, scoring.score(features), features))
        candidates.sort(key=lambda c: -c.score)
        return candidates

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


def save_calibration(
    index_dir: Path, model_key: str, threshold: float, precision: float, questions: int
) -> None:
    data = {"model_key": model_key, "min_score": threshold, "precision": precision, "questions": questions}
    tmp = index_dir / (CALIBRATION_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, index_dir / CALIBRATION_FILE)


def load_calibration(index_dir: Path, model_key: str) -> float | None:
    """The stored threshold, if it was calibrated for this model."""
    try:
        data = json.loads((index_dir / CALIBRATION_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("model_key") != model_key:
        return None
    value = data.get("min_score")
    return float(value) if isinstance(value, int | float) else None
