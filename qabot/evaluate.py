"""Metrics over question sets (DESIGN.md's JSONL format) and over BEIR retrieval data."""

from __future__ import annotations

import json
import math
import re
import string
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qabot.answer import Answer, Answerer, Quote, RankedDocument
from qabot.extract import EXTRACTED_SUFFIXES, extract


@dataclass(frozen=True)
class Item:
    """One question (or the last turn of a conversation) with its gold answers; no answers: must abstain."""

    question: str
    answers: tuple[str, ...]
    source: str | None = None
    id: str | None = None
    turns: tuple[str, ...] = ()
    kind: str | None = None


def load_items(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            turns = tuple(record.get("turns") or ())
            question = record.get("question") or (turns[-1] if turns else "")
            items.append(
                Item(
                    question=str(question),
                    answers=tuple(str(a) for a in record.get("answers", [])),
                    source=record.get("source"),
                    id=str(record["id"]) if "id" in record else None,
                    turns=turns,
                    kind=record.get("kind"),
                )
            )
        except (json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a question record ({exc})") from None
    return items


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "‘’“”—–"})


def normalize(text: str) -> str:
    """SQuAD's answer normalisation (lower case, no punctuation, no articles, single spaces), except that
    punctuation becomes a space, so "1978,[citation needed]" still contains "1978"."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    haystack = f" {normalize(text)} "
    return any(f" {normalize(a)} " in haystack for a in answers if normalize(a))


def matches_source(expected: str | None, source_id: str, path: str) -> bool:
    if expected is None:
        return False
    return expected in {source_id, Path(path).stem, path}


class QuoteChecker:
    """Checks a quote against the file on disk: the verbatim promise, independent of the index."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self._texts: dict[tuple[str, str], str | None] = {}

    def __call__(self, quote: Quote) -> bool:
        """The quote, and its answer span if it has one, equal the file at their offsets; the span lies
        inside the quote."""
        text = self._text(quote.source.path, quote.source.id)
        if text[quote.start : quote.end] != quote.text:
            return False
        if quote.answer is None:
            return True
        start, end = quote.answer
        inside = quote.start <= start < end <= quote.end
        return inside and text[start:end] == quote.answer_text

    def _text(self, path: str, doc_id: str) -> str:
        key = (path, doc_id if path.endswith(".jsonl") else "")
        if key not in self._texts:
            file = self.corpus_dir / path
            if file.suffix.lower() in EXTRACTED_SUFFIXES:
                self._texts[key] = extract(file)[0]
                return self._texts[key] or ""
            raw = file.read_text(encoding="utf-8")
            if not path.endswith(".jsonl"):
                self._texts[key] = raw
            else:
                for line in raw.splitlines():
                    if line.strip():
                        record = json.loads(line)
                        rid = str(record.get("_id", record.get("id")))
                        self._texts[(path, rid)] = record.get("text")
        return self._texts.get(key) or ""


@dataclass
class QuestionResult:
    item: Item
    answer: Answer
    documents: list[RankedDocument]
    seconds: float
    top_score: float
    alone: Answer | None = None  # a conversation's last turn asked without its history, for comparison


@dataclass(frozen=True)
class Report:
    questions: int
    answerable: int
    top1: float
    top3: float
    source_at1: float
    source_mrr: float
    abstained: int
    abstain_precision: float
    abstain_recall: float
    wrongly_declined: int
    verbatim: float
    p50_ms: float
    p95_ms: float
    extra: dict[str, float] = field(default_factory=dict)


def run_items(
    answerer: Answerer,
    items: Sequence[Item],
    k: int = 3,
    on_result: Callable[[QuestionResult], None] | None = None,
) -> list[QuestionResult]:
    results = []
    for item in items:
        began = time.perf_counter()
        answer = answerer.answer(item.question, k, history=item.turns[:-1])
        seconds = time.perf_counter() - began
        documents = answerer.search(item.question, 10) if item.source else []
        alone = answerer.answer(item.question, k) if len(item.turns) > 1 else None
        result = QuestionResult(item, answer, documents, seconds, answer.top_score, alone)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def score(results: Sequence[QuestionResult], check: Callable[[Quote], bool]) -> Report:
    answerable = [r for r in results if r.item.answers]
    unanswerable = [r for r in results if not r.item.answers]
    abstained = [r for r in results if not r.answer.answered]
    # a declined question is a miss, even when it shows its closest quotes ("unsure")
    top1, top3 = _hits(answerable, lambda q: q.text)
    with_source = [r for r in answerable if r.item.source]
    source_at1 = sum(
        bool(r.answer.quotes)
        and matches_source(r.item.source, r.answer.quotes[0].source.id, r.answer.quotes[0].source.path)
        for r in with_source
    )
    mrr = 0.0
    for r in with_source:
        for rank, d in enumerate(r.documents, start=1):
            if matches_source(r.item.source, d.source.id, d.source.path):
                mrr += 1 / rank
                break
    quotes = [q for r in results for q in r.answer.quotes]
    spans = [
        (r.answer.quotes[0], r.item.answers)
        for r in answerable
        if r.answer.quotes
        and r.answer.quotes[0].answer is not None
        and contains_answer(r.answer.quotes[0].text, r.item.answers)
    ]
    latencies = sorted(r.seconds * 1000 for r in results)
    return Report(
        questions=len(results),
        answerable=len(answerable),
        top1=_ratio(top1, len(answerable)),
        top3=_ratio(top3, len(answerable)),
        source_at1=_ratio(source_at1, len(with_source)),
        source_mrr=_ratio(mrr, len(with_source)),
        abstained=len(abstained),
        abstain_precision=_ratio(sum(not r.item.answers for r in abstained), len(abstained)),
        abstain_recall=_ratio(sum(not r.answer.answered for r in unanswerable), len(unanswerable)),
        wrongly_declined=sum(not r.answer.answered for r in answerable),
        verbatim=_ratio(sum(check(q) for q in quotes), len(quotes)),
        p50_ms=_percentile(latencies, 50),
        p95_ms=_percentile(latencies, 95),
        extra={
            **_conversation_metrics(answerable),
            **_span_metrics(spans),
            **_section_metrics(answerable),
            **_reach_metrics(answerable),
        },
    )


def _hits(answerable: Sequence[QuestionResult], shown: Callable[[Quote], str]) -> tuple[int, int]:
    """Answered questions whose first quote, and whose first three quotes, hold a gold answer in what
    `shown` gives of a quote."""
    top1 = sum(
        r.answer.answered
        and bool(r.answer.quotes)
        and contains_answer(shown(r.answer.quotes[0]), r.item.answers)
        for r in answerable
    )
    top3 = sum(
        r.answer.answered and any(contains_answer(shown(q), r.item.answers) for q in r.answer.quotes[:3])
        for r in answerable
    )
    return top1, top3


def _section_metrics(answerable: Sequence[QuestionResult]) -> dict[str, float]:
    """Top-1/top-3 counting the headings shown above a quote (a docs page's section path, e.g. "Advanced
    Middleware › GZipMiddleware") as part of what the reader sees. Only for answers that carry sections;
    the strict top1/top3 stay the figures judged."""
    if not any(q.source.section for r in answerable for q in r.answer.quotes):
        return {}
    top1, top3 = _hits(answerable, lambda q: " ".join((*q.source.section, q.text)))
    return {
        "top1_with_section": _ratio(top1, len(answerable)),
        "top3_with_section": _ratio(top3, len(answerable)),
    }


def _reach_metrics(answerable: Sequence[QuestionResult]) -> dict[str, float]:
    """With more than three quotes asked for (`qabot eval -k 10`): the share of answerable questions with a
    gold answer in any of them, declined or not: what a better order of the same quotes could reach."""
    k = max((len(r.answer.quotes) for r in answerable), default=0)
    if k <= 3:
        return {}
    reached = sum(any(contains_answer(q.text, r.item.answers) for q in r.answer.quotes) for r in answerable)
    return {f"top{k}_order": _ratio(reached, len(answerable))}


def _span_metrics(spans: Sequence[tuple[Quote, Sequence[str]]]) -> dict[str, float]:
    """Where the top quote holds the answer: how often the marked span is a gold answer (SQuAD's exact
    match after normalisation)."""
    if not spans:
        return {}
    exact = 0
    for quote, answers in spans:
        marked = quote.answer_text or ""
        exact += any(squad_normalize(marked) == squad_normalize(a) for a in answers)
    return {"span_exact": _ratio(exact, len(spans))}


def squad_normalize(text: str) -> str:
    """SQuAD's own answer normalisation (no punctuation or articles, lower case), for exact match."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def _top1(answer: Answer | None, answers: Sequence[str]) -> bool:
    return (
        answer is not None
        and answer.answered
        and bool(answer.quotes)
        and contains_answer(answer.quotes[0].text, answers)
    )


def _conversation_metrics(answerable: Sequence[QuestionResult]) -> dict[str, float]:
    """Top-1 per kind of conversation ("followup", "switch", …), with its history and asked alone."""
    out: dict[str, float] = {}
    for kind in sorted({r.item.kind or "conversation" for r in answerable if r.alone is not None}):
        group = [r for r in answerable if r.alone is not None and (r.item.kind or "conversation") == kind]
        out[f"top1_{kind}"] = _ratio(sum(_top1(r.answer, r.item.answers) for r in group), len(group))
        out[f"top1_{kind}_alone"] = _ratio(sum(_top1(r.alone, r.item.answers) for r in group), len(group))
    return out


def _ratio(a: float, b: int) -> float:
    return round(a / b, 4) if b else float("nan")


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    rank = min(len(values) - 1, max(0, math.ceil(pct / 100 * len(values)) - 1))
    return round(values[rank], 2)


# ---------------------------------------------------------------- calibration


def calibrate(results: Sequence[QuestionResult], precision: float) -> tuple[float, float, float]:
    """The abstention threshold keeping `precision` of abstentions right while declining all it can.

    Returns (threshold, abstention precision, abstention recall) at that threshold. An abstention is right
    when the question is unanswerable or the top quote would not have contained the answer anyway.
    """
    points = sorted((r.top_score, _declining_is_right(r)) for r in results)
    total_right = sum(right for _, right in points)
    best = (0.0, 1.0, 0.0)
    declined = right = 0
    for i, (top, ok) in enumerate(points):
        declined += 1
        right += ok
        if i + 1 < len(points) and points[i + 1][0] == top:
            continue
        if right / declined >= precision:
            threshold = (top + points[i + 1][0]) / 2 if i + 1 < len(points) else top + 1e-6
            best = (round(threshold, 4), right / declined, right / max(total_right, 1))
    return best


def _declining_is_right(r: QuestionResult) -> bool:
    if not r.item.answers:
        return True
    quotes = r.answer.quotes
    return not (quotes and contains_answer(quotes[0].text, r.item.answers))


# ---------------------------------------------------------------- BEIR


@dataclass(frozen=True)
class BeirReport:
    queries: int
    ndcg10: float
    recall10: float
    recall100: float
    p50_ms: float
    p95_ms: float


def load_beir(folder: Path, split: str = "train") -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries {id: text} and graded judgements {query id: {doc id: grade}} for one split."""
    queries_file = next(
        (f for f in (folder / f"queries_{split}.jsonl", folder / "queries.jsonl") if f.exists()), None
    )
    qrels_file = next(
        (f for f in (folder / f"qrels_{split}.tsv", folder / "qrels" / f"{split}.tsv") if f.exists()), None
    )
    if queries_file is None or qrels_file is None:
        raise FileNotFoundError(
            f"{folder} needs queries_{split}.jsonl (or queries.jsonl) and qrels_{split}.tsv"
        )
    qrels: dict[str, dict[str, int]] = {}
    for line in qrels_file.read_text().splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3 and int(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    for line in queries_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record: dict[str, Any] = json.loads(line)
            if str(record["_id"]) in qrels:
                queries[str(record["_id"])] = str(record["text"])
    return queries, qrels


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def evaluate_beir(
    rank: Callable[[str, int], list[str]], queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> BeirReport:
    ndcg = r10 = r100 = 0.0
    latencies = []
    for qid, text in queries.items():
        began = time.perf_counter()
        ranked = rank(text, 100)
        latencies.append((time.perf_counter() - began) * 1000)
        ndcg += ndcg_at(ranked, qrels[qid], 10)
        r10 += recall_at(ranked, qrels[qid], 10)
        r100 += recall_at(ranked, qrels[qid], 100)
    n = len(queries) or 1
    latencies.sort()
    return BeirReport(
        len(queries),
        round(ndcg / n, 4),
        round(r10 / n, 4),
        round(r100 / n, 4),
        _percentile(latencies, 50),
        _percentile(latencies, 95),
    )
