"""Answers: candidate sentences from retrieved chunks, scored, deduplicated, or an abstention.

Everything quoted is `document.text[start:end]`; nothing is generated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qabot import evidence, markup, retrieve, scoring
from qabot.models.reader import CONTEXT_LOOKBACK, OnnxReader, context_of
from qabot.store import Index, Scope, SentenceRow

MAX_QUESTION_CHARS = 1000
CANDIDATE_CHUNKS = 12
TIMELINE_CHUNKS = 40  # a timeline wants the best of many documents, not the many best of a few
TIMELINE_DOCUMENTS = 10  # documents whose best sentence the reader reads for a timeline
_CHANGE = re.compile(
    r"\b(?:over time|over the years|timeline|chronolog\w*|evolv\w*|chang\w*|shift\w*|develop\w*|"
    r"history of|trend\w*|deteriorat\w*|improv\w*|since (?:19|20)\d\d)\b",
    re.IGNORECASE,
)
RETRIEVE_DEPTH = 50
CALIBRATION_FILE = "calibration.json"  # `qabot calibrate`'s threshold for one index, over the shipped one
DUPLICATE_COSINE = 0.95
PASSAGE_CHARS = 200  # how much of a copy's neighbourhood must match for it to be the same passage
HISTORY_TURNS = 1  # previous questions a follow-up is read with
# Score handicap of the contextual reading: measured on eval/seed_conversations.jsonl over 0, 0.5, 1, 1.5, 2
# and "never": 1.5 is the largest gain on follow-ups with no loss on subject changes (docs/benchmarks.md).
HISTORY_DISCOUNT = 1.5
READ_HISTORY_DISCOUNT = 1.0  # the same for the reader's logit, in a follow-up's confidence
# hybrid: the scorer's best candidates reread by the reader, in the fitted combination's order (qabot).
# The rest are the baselines eval compares it with, none of which declines: the linear scorer alone, the
# reader alone over the scorer's candidates, the best dense sentence, the best keyword sentence.
MODES = ("hybrid", "scorer", "reader", "dense", "keyword")
READ_MODES = ("hybrid", "reader")
ANSWERED, UNSURE, NOT_FOUND = "answered", "unsure", "not_found"


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long); the message says what to do."""


@dataclass(frozen=True)
class Filters:
    """Limits on which documents may answer: ISO dates (inclusive) and source ids, stems or folders."""

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.sources)

    def describe(self) -> str:
        parts = [f"since {self.since}"] * bool(self.since) + [f"until {self.until}"] * bool(self.until)
        if self.sources:
            parts.append("from " + ", ".join(self.sources))
        return " ".join(parts)


def parse_filters(since: str | None = None, until: str | None = None, sources: Sequence[str] = ()) -> Filters:
    """Filters from user input: YYYY, YYYY-MM or YYYY-MM-DD; an invalid or empty range is an error."""
    low = _parse_day(since, "since", first=True) if since else None
    high = _parse_day(until, "until", first=False) if until else None
    if low and high and low > high:
        raise QuestionError(f"the date range is empty: since {low} is after until {high}")
    return Filters(low, high, tuple(s.strip() for s in sources if s.strip()))


def _parse_day(value: str, name: str, first: bool) -> str:
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            return f"{text}-01-01" if first else f"{text}-12-31"
        if re.fullmatch(r"\d{4}-\d{2}", text):
            day = dt.date.fromisoformat(f"{text}-01")
            if first:
                return day.isoformat()
            following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return (following - dt.timedelta(days=1)).isoformat()
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise QuestionError(f"--{name} '{value}' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD") from None


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    path: str
    date: str | None
    url: str | None
    section: tuple[str, ...] = ()  # the headings above the quote in a Markdown or reST document
    syntax: str = ""  # how the document is read (markup.syntax_of); by the file's name when not given

    def __post_init__(self) -> None:
        if not self.syntax:
            object.__setattr__(self, "syntax", markup.syntax_of(self.path))


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
    also: tuple[Source, ...] = ()  # other documents carrying the same sentence (syndicated copies)
    confidence: float | None = None  # calibrated probability that the quote holds the answer
    answer: tuple[int, int] | None = None  # the answer's characters in the document, inside the quote
    cut: bool = False  # a block too long to quote whole: it continues past `end`
    indent: int = 0  # its column on its line (in an admonition, say): display moves its other lines left so
    code: bool = False  # a code block whole (a reST literal block shows no mark of it in its text)
    before_indent: int = 0  # the neighbours' columns on their first lines, as `indent` is the quote's
    after_indent: int = 0

    @property
    def marked(self) -> tuple[int, int] | None:
        """The answer's characters within `text` (None when no answer is marked)."""
        return None if self.answer is None else (self.answer[0] - self.start, self.answer[1] - self.start)

    @property
    def answer_text(self) -> str | None:
        return None if self.marked is None else self.text[slice(*self.marked)]


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    quotes: tuple[Quote, ...] = ()
    nearest: tuple[Source, ...] = ()  # when not answered: where the closest material is
    top_score: float = 0.0  # the best candidate's confidence (its score where nothing reads), for calibration
    timeline: bool = False  # quotes are one per document, oldest first
    structured: bool = False  # the best candidate is a unit of a Markdown or reST document (own thresholds)

    @property
    def status(self) -> str:
        """ANSWERED (confident), UNSURE (declined, the closest quotes shown for a person to judge) or
        NOT_FOUND (declined, nothing close: no quotes, the nearest documents)."""
        if self.answered:
            return ANSWERED
        return UNSURE if self.quotes else NOT_FOUND


def shown_neighbours(quotes: Sequence[Quote]) -> list[tuple[str, str]]:
    """Each quote's neighbours (before, after) as a front end shows them: a neighbour that is itself one of
    the quotes is named by its number ("(follows [1])"), since it is shown as its own (neighbouring units
    of a docs page often rank together: a third of the FastAPI and Starlette answers repeated one so,
    docs/benchmarks.md), and the asker still sees that the two are one passage."""
    out = []
    for i, q in enumerate(quotes):
        number = {(o.source.id, o.text): n for n, o in enumerate(quotes, start=1) if n != i + 1}
        before, after = number.get((q.source.id, q.before)), number.get((q.source.id, q.after))
        out.append(
            (
                f"(follows [{before}])" if before else q.before,
                f"(followed by [{after}])" if after else q.after,
            )
        )
    return out


@dataclass(frozen=True)
class RankedDocument:
    source: Source
    score: float


@dataclass(frozen=True)
class Candidate:
    sentence: SentenceRow
    score: float
    features: dict[str, float] = field(default_factory=dict, compare=False)
    confidence: float | None = None  # set once the reader has read it
    answer: tuple[int, int] | None = None  # the reader's answer span, in document offsets
    answer_score: float = 0.0  # how answer-like that span is (the reader's start + end logit)


def wants_timeline(question: str) -> bool:
    """Whether the question asks how something changed over time."""
    return bool(_CHANGE.search(question))


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
        self,
        index: Index,
        min_confidence: float | None = None,
        threads: int = 2,
        mode: str = "hybrid",
        reader: OnnxReader | None = None,
    ) -> None:
        """`min_confidence` (default: the index's calibration, else the reader's) is where answers start;
        `reader` defaults to the packaged one. Baseline modes never decline."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.index = index
        self.mode = mode
        self.encoder = index.encoder(threads)
        self.reader = (reader or OnnxReader(threads=threads)) if mode in READ_MODES else None
        calibrated = load_calibration(index.index_dir, index.manifest["model_key"])
        # (answer from, show as closest from) for prose and for units of structured documents: the
        # reader's own per kind, or one threshold the asker or the index's calibration chose for both
        self.floors: dict[bool, tuple[float, float]] = {}
        for structured in (False, True):
            if self.reader is None:
                self.floors[structured] = (float("-inf"), float("-inf"))
                continue
            answer_at, close_at = self.reader.config.floors(structured)
            chosen = next((v for v in (min_confidence, calibrated) if v is not None), answer_at)
            self.floors[structured] = (chosen, min(close_at, chosen))

    def answer(
        self,
        question: str,
        k: int = 3,
        history: Sequence[str] = (),
        filters: Filters | None = None,
        timeline: bool | None = None,
    ) -> Answer:
        """The best `k` quotes for `question`, or an abstention listing the nearest documents.

        `timeline` (default: when the question asks how something changed) gives at most one quote per
        document, oldest first.
        """
        text = clean_question(question)
        timeline = wants_timeline(text) if timeline is None else timeline
        candidates, fused = self.ranked(text, k, history, self._scope(filters), timeline)
        best = _trust(candidates[0]) if candidates else 0.0
        structured = bool(candidates) and evidence.structured(candidates[0].features)
        answer_at, close_at = self.floors[structured]
        if not candidates or best < close_at:
            nearest = tuple(self._nearest_sources(fused, 3))
            return Answer(text, False, nearest=nearest, top_score=best, structured=structured)
        answered = best >= answer_at
        nearest = () if answered else tuple(self._nearest_sources(fused, 3))
        if timeline:
            dated = self._timeline(candidates, k)
            # undated quotes have no order in time: documentation asking how to "change" or "develop"
            # something is not asking for a timeline
            if sum(q.source.date is not None for q in dated) > 1:
                return Answer(text, answered, tuple(dated), nearest, best, True, structured)
        quotes = tuple(self._distinct(candidates, k))
        return Answer(text, answered, quotes, nearest, top_score=best, structured=structured)

    def ranked(
        self,
        text: str,
        k: int = 3,
        history: Sequence[str] = (),
        scope: Scope | None = None,
        timeline: bool = False,
    ) -> tuple[list[Candidate], list[retrieve.Hit]]:
        """Candidate sentences for a cleaned question, best first (read by the reader in its modes), and
        the fused chunk ranking they came from."""
        depth = TIMELINE_CHUNKS if timeline else CANDIDATE_CHUNKS
        candidates, fused = self.candidates(text, scope, depth)
        previous = _previous(history)
        if previous:
            candidates, fused = self._with_history(text, previous, candidates, fused, scope, depth)
        if self.reader is not None:
            candidates = self._read(text, previous, candidates, k, timeline)
        return candidates, fused

    def check_filters(self, filters: Filters | None) -> None:
        """Raise QuestionError when the filters match no document (before any model work is done)."""
        self._scope(filters)

    def _scope(self, filters: Filters | None) -> Scope | None:
        if filters is None or not filters.active:
            return None
        scope = self.index.scope(filters.since, filters.until, filters.sources)
        if not scope.docs:
            raise QuestionError(f"no documents match the filters ({filters.describe()})")
        return scope

    def _timeline(self, candidates: Sequence[Candidate], k: int) -> list[Quote]:
        """The best read quote of each of the `k` best documents, oldest first.

        No threshold per quote: a timeline's entries are evidence of how things stood at each date, which
        a reader trained on factual questions rates low; each shows its own confidence instead."""
        per_doc: dict[int, Candidate] = {}
        for c in candidates:
            unread = self.reader is not None and c.confidence is None
            if not unread and c.sentence.doc not in per_doc and len(per_doc) < k:
                per_doc[c.sentence.doc] = c
        quotes = [self._quote(c) for c in per_doc.values()]
        return sorted(quotes, key=lambda q: (q.source.date is None, q.source.date or ""))

    def _with_history(
        self,
        text: str,
        previous: str,
        candidates: list[Candidate],
        fused: list[retrieve.Hit],
        scope: Scope | None,
        depth: int,
    ) -> tuple[list[Candidate], list[retrieve.Hit]]:
        """Also read the question in the light of the previous one; keep each sentence's better score.

        A follow-up ("How many troops are stationed there?") scores well only with its antecedent; a new
        subject scores better alone, so the discount keeps it from being pulled back to the old topic.
        """
        contextual, contextual_fused = self.candidates(f"{previous} {text}", scope, depth)
        best: dict[int, Candidate] = {c.sentence.id: c for c in candidates}
        for c in contextual:
            discounted = Candidate(c.sentence, c.score - HISTORY_DISCOUNT, c.features)
            if c.sentence.id not in best or discounted.score > best[c.sentence.id].score:
                best[c.sentence.id] = discounted
        merged = sorted(best.values(), key=lambda c: -c.score)
        return merged, retrieve.rrf([fused, contextual_fused])

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[RankedDocument]:
        """Documents ranked by their best chunks under fused dense and keyword retrieval."""
        text = clean_question(query)
        scope = self._scope(filters)
        vector = self.encoder.encode([text])[0]
        depth = max(RETRIEVE_DEPTH, 3 * k)
        rankings = []
        if self.mode != "keyword":
            rankings.append(retrieve.dense(self.index, vector, depth, scope))
        if self.mode != "dense":
            rankings.append(retrieve.keyword_chunks(self.index, text, depth, scope))
        fused = retrieve.rrf(rankings)
        doc_of = {c.id: c.doc for c in self.index.chunks([h.id for h in fused])}
        scores: dict[int, float] = {}
        for hit in fused:
            doc = doc_of[hit.id]
            scores[doc] = max(scores.get(doc, 0.0), hit.score)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
        return [RankedDocument(self._source(doc), score) for doc, score in ranked]

    # ------------------------------------------------------------ internals

    def candidates(
        self, text: str, scope: Scope | None = None, depth: int = CANDIDATE_CHUNKS
    ) -> tuple[list[Candidate], list[retrieve.Hit]]:
        """Every sentence of the best `depth` fused chunks, best first, and the fused chunk ranking."""
        vector = self.encoder.encode([text])[0]
        dense = retrieve.dense(self.index, vector, RETRIEVE_DEPTH, scope)
        keyword = retrieve.keyword_chunks(self.index, text, RETRIEVE_DEPTH, scope)
        fused = retrieve.rrf([dense, keyword])
        if self.mode == "dense":
            return self._baseline(retrieve.dense_sentences(self.index, vector, CANDIDATE_CHUNKS)), fused
        if self.mode == "keyword":
            return self._baseline(retrieve.keyword_sentences(self.index, text, CANDIDATE_CHUNKS)), fused
        return self._rescored(text, vector, fused[:depth]), fused

    def _rescored(self, text: str, vector: np.ndarray, fused: Sequence[retrieve.Hit]) -> list[Candidate]:
        """Every sentence of the given fused chunks, scored with all the evidence (see qabot.scoring)."""
        chunks = self.index.chunks([h.id for h in fused])
        if not chunks:
            return []
        chunk_sim = np.asarray(self.index.chunk_vectors[[c.id for c in chunks]]) @ vector
        support: dict[int, tuple[float, float]] = {}  # sentence id -> (best chunk cosine, best rank feature)
        rows: dict[int, SentenceRow] = {}
        for rank, (c, sim) in enumerate(zip(chunks, chunk_sim, strict=True)):
            for row in self.index.sentences(c.first - 1, c.last + 1):
                rows[row.id] = row  # neighbours too, for the context feature
            for sid in range(c.first, c.last + 1):
                old = support.get(sid, (-1.0, 0.0))
                support[sid] = (max(old[0], float(sim)), max(old[1], 1.0 / (1 + rank)))
        # BM25 of these sentences alone: a query over every sentence grew linearly with the index
        keyword = retrieve.keyword_scores(self.index, text, [rows[sid] for sid in support])
        top_keyword = max(keyword.values(), default=1.0) or 1.0
        ids = sorted(rows)
        similarity = dict(
            zip(ids, (np.asarray(self.index.sentence_vectors[ids]) @ vector).tolist(), strict=True)
        )
        info = scoring.question_info(text, self.index.sentence_frequency)
        places = self._places({sid: rows[sid].doc for sid in support})
        versions = evidence.about_versions(text)
        candidates = []
        for sid, (chunk_cos, rank_feature) in support.items():
            place = places.get(sid)
            if not evidence.quotable(place):
                continue
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
            before = similarity.get(sid - 1, 0.0) if sid - 1 in rows and rows[sid - 1].doc == row.doc else 0.0
            features.update(evidence.features(place, sentence, info.idf, versions, info.words, before))
            value = scoring.score(features) + evidence.adjustment(features)
            candidates.append(Candidate(row, value, features))
        candidates.sort(key=lambda c: -c.score)
        return candidates

    def _read(
        self, text: str, previous: str, candidates: list[Candidate], k: int, timeline: bool = False
    ) -> list[Candidate]:
        """The scorer's best candidates reread by the reader and put in the order of the fitted
        combination, each with its confidence and answer span; the rest follow unread.

        The order comes from reading the question as asked, even a follow-up: its antecedent has already
        brought its candidates in (`_with_history`), and ordering by the two questions read together lost
        follow-ups and subject changes alike (eval/seed_conversations.jsonl and
        eval/heldout_conversations.jsonl, docs/benchmarks.md). But "How many are stationed there?" alone
        cannot be confidently answered by any sentence, so a follow-up's confidence takes the better of the
        two readings, the joint one handicapped as the scorer's is.
        """
        assert self.reader is not None
        config = self.reader.config
        head = candidates[: max(config.depth, k)]
        if timeline:  # a timeline quotes many documents: read the best sentence of each of them too
            seen = {c.sentence.doc for c in head}
            for c in candidates[len(head) :]:
                if c.sentence.doc not in seen and len(seen) < TIMELINE_DOCUMENTS:
                    seen.add(c.sentence.doc)
                    head.append(c)
        chosen = {id(c) for c in head}
        texts = [self.sentence_text(c.sentence) for c in head]
        rows = [c.sentence for c in head]
        contexts = self.contexts(rows, config.context, config.sections) if config.reads_context else None
        readings = self.reader.read(text, texts, contexts)
        sure = [r.relevance for r in readings]
        if previous:
            joint = self.reader.read(f"{previous} {text}", texts, contexts)
            sure = [max(a, j.relevance - READ_HISTORY_DISCOUNT) for a, j in zip(sure, joint, strict=True)]
        read = []
        orders = [
            config.combine(r.relevance, c.score, rank) if self.mode == "hybrid" else r.relevance
            for rank, (c, r) in enumerate(zip(head, readings, strict=True))
        ]
        for rank, (c, r, relevance) in enumerate(zip(head, readings, sure, strict=True)):
            at = c.sentence.start
            # no span is marked in a documentation unit: there the reader's span (trained on SQuAD's prose)
            # missed the answer for two in three right quotes, however sure it was (docs/benchmarks.md)
            docs = evidence.structured(c.features)
            span = None if r.answer is None or docs else (at + r.answer[0], at + r.answer[1])
            confidence = config.confidence(
                config.combine(relevance, c.score, rank),
                r.answer_score,
                rival=rival(orders, rank),
                chunk=c.features.get("chunk", 0.0),
                structured=docs,
            )
            read.append(Candidate(c.sentence, orders[rank], c.features, confidence, span, r.answer_score))
        read.sort(key=lambda c: -c.score)
        floor = read[-1].score if read else 0.0
        unread = [c for c in candidates if id(c) not in chosen]
        rest = [Candidate(c.sentence, floor - 1 - i, c.features) for i, c in enumerate(unread)]
        return read + rest

    def contexts(
        self, sentences: Sequence[SentenceRow], prose: bool = True, sections: bool = False
    ) -> list[str]:
        """What a reader trained with context reads after each sentence (`reader.context_of`): prose with
        its title and previous unit (`prose`), structured units with their section path (`sections`)."""
        wanted = {s.id - i for s in sentences for i in range(1, CONTEXT_LOOKBACK + 1) if s.id - i > 0}
        rows = {r.id: r for r in self.index.sentence_rows(sorted(wanted))}
        kinds = self.index.units(sorted(set(rows) | {s.id for s in sentences}))
        out = []
        for s in sentences:
            before = []
            for sid in range(s.id - 1, s.id - 1 - CONTEXT_LOOKBACK, -1):
                row = rows.get(sid)
                if row is None or row.doc != s.doc:
                    break
                unit = kinds.get(sid)
                before.append((self.sentence_text(row), unit.kind if unit else None))
            own = kinds.get(s.id)
            title = self.index.document(s.doc).title
            kind, section = (own.kind, own.section) if own else (None, ())
            out.append(context_of(title, before, kind, section, prose, sections))
        return out

    def sentence_text(self, s: SentenceRow) -> str:
        return self.index.document(s.doc).text[s.start : s.end]

    def _places(self, doc_of: Mapping[int, int]) -> dict[int, evidence.Place]:
        """Kind, section path and changelog-ness of the units (sentence id -> document row) that have them."""
        places = {}
        for sid, unit in self.index.units(list(doc_of)).items():
            doc = self.index.document(doc_of[sid])
            changelog = evidence.is_changelog(doc.path, doc.title, doc.syntax) or evidence.changelog_section(
                unit.section
            )
            places[sid] = evidence.Place(unit.kind, unit.section, changelog)
        return places

    def _baseline(self, hits: Sequence[retrieve.Hit]) -> list[Candidate]:
        """One retriever's sentences in its own order (the baselines: no fusion, no re-scoring)."""
        rows = {r.id: r for r in self.index.sentence_rows([h.id for h in hits])}
        return [Candidate(rows[h.id], h.score) for h in hits if h.id in rows]

    def _distinct(self, candidates: Sequence[Candidate], k: int) -> list[Quote]:
        """The best `k` quotes; a sentence repeating a chosen one (a syndicated copy) adds its source to
        that quote's `also` instead of taking a place of its own."""
        chosen: list[Candidate] = []
        also: dict[int, list[Source]] = {}
        for c in candidates[: k * 10]:
            v = self.index.sentence_vectors[c.sentence.id]
            twin = next(
                (
                    o
                    for o in chosen
                    if float(v @ self.index.sentence_vectors[o.sentence.id]) > DUPLICATE_COSINE
                ),
                None,
            )
            if twin is None:
                if len(chosen) < k:
                    chosen.append(c)
            elif c.sentence.doc != twin.sentence.doc:
                page = self._page_of(twin, c)
                if page is not twin:  # cite the page, the whole book's copy goes under "also in"
                    chosen[next(i for i, o in enumerate(chosen) if o is twin)] = page
                    cited = self._source(page.sentence.doc)
                    also[page.sentence.id] = [s for s in also.pop(twin.sentence.id, []) if s != cited]
                    twin, c = page, twin
                sources = also.setdefault(twin.sentence.id, [])
                source = self._source(c.sentence.doc)
                if source not in sources and source != self._source(twin.sentence.doc):
                    sources.append(source)
        return [self._quote(c, tuple(also.get(c.sentence.id, ()))) for c in chosen]

    def _page_of(self, chosen: Candidate, copy: Candidate) -> Candidate:
        """`copy` in `chosen`'s place (its score, confidence and answer) when it is the same passage in a
        document half the size or less: a docs site's page, where `chosen` is from the page that holds
        the whole book (mdBook's print.html, Node.js's all.html), so the citation names the page; else
        `chosen`. The same passage: the text and what comes just before or after it are the same, so a
        short sentence two pages both say ("Default: 30 seconds.") stays where it was found, and
        syndicated news copies, about the same size, keep the better scored one."""
        a, b = chosen.sentence, copy.sentence
        book, page = self.index.document(a.doc).text, self.index.document(b.doc).text
        if len(page) * 2 > len(book) or book[a.start : a.end] != page[b.start : b.end]:
            return chosen
        before, after = page[max(0, b.start - PASSAGE_CHARS) : b.start], page[b.end : b.end + PASSAGE_CHARS]
        same_before = len(before.strip()) >= 40 and book[max(0, a.start - len(before)) : a.start] == before
        same_after = len(after.strip()) >= 40 and book[a.end : a.end + len(after)] == after
        if not (same_before or same_after):
            return chosen
        shift = b.start - a.start
        answer = None if chosen.answer is None else (chosen.answer[0] + shift, chosen.answer[1] + shift)
        return replace(chosen, sentence=b, answer=answer)

    def _quote(self, c: Candidate, also: tuple[Source, ...] = ()) -> Quote:
        s = c.sentence
        doc = self.index.document(s.doc)
        units = self.index.units([s.id - 1, s.id, s.id + 1])
        unit = units.get(s.id)
        neighbours = {n.id: n for n in self.index.sentences(s.id - 1, s.id + 1) if n.doc == s.doc}
        before = neighbours.get(s.id - 1)
        following = units.get(s.id + 1)
        # a heading after the quote opens the next section: shown as the quote's context it read as its end
        after = None if following and following.kind == markup.HEADING else neighbours.get(s.id + 1)

        def is_code(n: SentenceRow | None) -> bool:
            return n is not None and (u := units.get(n.id)) is not None and u.kind == markup.CODE

        def context(n: SentenceRow | None) -> str:
            if n is None:
                return ""
            # an indented code block (reST's) from its line's start: the first line keeps its indentation,
            # so the code reads as code, not as a first line at the margin and the rest indented
            return doc.text[n.start - markup.column(doc.text, n.start) if is_code(n) else n.start : n.end]

        def column(n: SentenceRow | None) -> int:  # a prose neighbour's, for display (a code one starts at 0)
            return 0 if n is None or is_code(n) else markup.column(doc.text, n.start)

        return Quote(
            text=doc.text[s.start : s.end],
            start=s.start,
            end=s.end,
            score=round(c.score, 4),
            source=replace(self._source(s.doc), section=unit.section) if unit else self._source(s.doc),
            before=context(before),
            after=context(after),
            also=also,
            confidence=None if c.confidence is None else round(c.confidence, 4),
            answer=c.answer,
            cut=bool(unit and unit.cut),
            indent=markup.column(doc.text, s.start),
            code=bool(unit and unit.kind == markup.CODE),
            before_indent=column(before),
            after_indent=column(after),
        )

    def _source(self, doc_row: int) -> Source:
        d = self.index.document(doc_row)
        return Source(d.id, d.title, d.path, d.date, d.url, syntax=d.syntax)

    def _nearest_sources(self, fused: Sequence[retrieve.Hit], n: int) -> list[Source]:
        rows: list[int] = []
        for chunk in self.index.chunks([h.id for h in fused[: n * 5]]):
            if chunk.doc not in rows:
                rows.append(chunk.doc)
        return [self._source(r) for r in rows[:n]]


def _previous(history: Sequence[str]) -> str:
    """The earlier question(s) a follow-up is read with."""
    return " ".join(clean_question(h) for h in history[-HISTORY_TURNS:] if h.strip())


def rival(orders: Sequence[float], i: int) -> float:
    """The best final score among the other read candidates (0 when there is none): the top quote's
    rival is the second, every other quote's the top."""
    return max((o for j, o in enumerate(orders) if j != i), default=0.0)


def _trust(c: Candidate) -> float:
    """What abstention compares: the confidence, or for the baselines (which read nothing) +inf."""
    return float("inf") if c.confidence is None else c.confidence


def save_calibration(
    index_dir: Path, model_key: str, threshold: float, precision: float, questions: int
) -> None:
    data = {
        "model_key": model_key,
        "min_confidence": threshold,
        "precision": precision,
        "questions": questions,
    }
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
    value = data.get("min_confidence")
    return float(value) if isinstance(value, int | float) else None
