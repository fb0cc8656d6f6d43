"""Reader examples: one question, the sentence that answers it, and the sentences the pipeline ranked
highest that do not, read from `training/prepare.py`'s shards."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qabot.evaluate import contains_answer
from qabot.models.reader import CONTEXT_LOOKBACK, context_of

HARD = 3  # the pipeline's best-ranked wrong sentences, always in the group
SPARE = 0  # plus this many drawn from the rest of its 30 (0: each pair costs training time)


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    answers: tuple[str, ...]
    positive: str  # the sentence holding the gold answer
    answer: tuple[int, int]  # the gold answer's characters in `positive`
    negatives: tuple[str, ...]
    absent: tuple[str, ...] = ()  # sentences of other articles the pipeline ranked highest (none answers)
    # what each sentence is read with by a reader trained with context (qabot.models.reader.context_of):
    # one for the positive and each negative, in order, and one for each absent sentence
    contexts: tuple[str, ...] = ()
    absent_contexts: tuple[str, ...] = ()
    # what a reader trained with section paths reads after each unit of a structured document (context_of
    # with sections): "" for prose; in the same order as contexts and absent_contexts
    sections: tuple[str, ...] = ()
    absent_sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ranked:
    """A question with the pipeline's candidates (for evaluation and fitting): which hold an answer."""

    id: str
    question: str
    answers: tuple[str, ...]
    article: str
    candidates: tuple[dict[str, Any], ...]  # as prepare.py wrote them, plus "text"


def records(data: Path, split: str) -> Iterator[dict[str, Any]]:
    for shard in sorted((data / "shards").glob("*.jsonl.gz")):
        with gzip.open(shard, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if record["split"] == split:
                    yield record


class Corpus:
    """Article texts and their sentence spans as the index holds them."""

    def __init__(self, data: Path) -> None:
        self.dir = data / "corpus"
        self.texts: dict[str, str] = {}
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.kinds: dict[str, list[str | None]] = {}
        self.titles: dict[str, str] = {}
        self.positions: dict[tuple[str, int], int] = {}
        generation = (data / "index" / "CURRENT").read_text().strip()
        db = sqlite3.connect(data / "index" / "generations" / generation / "store.sqlite")
        try:
            db.execute("SELECT 1 FROM units LIMIT 1")
            rows = db.execute(
                "SELECT d.id, d.title, s.start, s.end, u.kind FROM sentences s JOIN documents d"
                " ON s.doc = d.rowid LEFT JOIN units u ON u.rowid = s.rowid ORDER BY s.rowid"
            )
        except sqlite3.OperationalError:  # an index built before units were stored
            rows = db.execute(
                "SELECT d.id, d.title, s.start, s.end, NULL FROM sentences s JOIN documents d"
                " ON s.doc = d.rowid ORDER BY s.rowid"
            )
        for doc, title, start, end, kind in rows:
            self.titles[doc] = title
            self.positions[(doc, start)] = len(self.spans.setdefault(doc, []))
            self.spans[doc].append((start, end))
            self.kinds.setdefault(doc, []).append(kind)
        db.close()

    def text(self, doc: str) -> str:
        if doc not in self.texts:
            self.texts[doc] = (self.dir / f"{doc}.txt").read_text(encoding="utf-8")
        return self.texts[doc]

    def context(self, doc: str, start: int) -> str:
        """What the sentence of `doc` starting at `start` is read with, as qabot's answer path reads it
        (`Answerer.contexts`)."""
        at = self.positions.get((doc, start))
        if at is None:
            return context_of(self.titles.get(doc, ""), [])
        text, first = self.text(doc), max(0, at - CONTEXT_LOOKBACK)
        units = zip(self.spans[doc][first:at], self.kinds[doc][first:at], strict=True)
        before = [(text[s:e], kind) for (s, e), kind in units][::-1]  # nearest first
        return context_of(self.titles[doc], before, self.kinds[doc][at])

    def holder(self, doc: str, start: int, end: int) -> tuple[int, int] | None:
        """The sentence span holding characters [start, end), if one sentence holds them all."""
        for s, e in self.spans.get(doc, []):
            if s <= start and end <= e:
                return s, e
        return None


def share(key: str) -> float:
    """A stable draw in [0, 1) for `key`: the same on every run and machine."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32


def _draw(key: str, n: int) -> int:
    return int(share(key) * n)


def example(record: dict[str, Any], corpus: Corpus) -> Example | None:
    """The training group for one question, or None when no single sentence holds its answer."""
    doc = record["article"]
    holders = [corpus.holder(doc, s, e) for s, e in record["gold"]]
    golds = [(h, g) for h, g in zip(holders, record["gold"], strict=True) if h is not None]
    if not golds:
        return None
    candidates = record["candidates"]
    rank = {(c["doc"], c["start"]): i for i, c in enumerate(candidates)}
    # several occurrences of the answer: the one in the sentence the pipeline ranks highest
    (span, gold) = min(golds, key=lambda hg: rank.get((doc, hg[0][0]), len(candidates)))
    text = corpus.text(doc)
    wrong = [c for c in candidates if not c["holds"] and not (c["doc"] == doc and c["start"] == span[0])]
    chosen = wrong[:HARD]
    rest = wrong[HARD:]
    for i in range(SPARE):
        if rest:
            chosen.append(rest.pop(_draw(f"{record['id']}:{i}", len(rest))))
    if not chosen:
        return None
    return Example(
        id=record["id"],
        question=record["question"],
        answers=tuple(record["answers"]),
        positive=text[span[0] : span[1]],
        answer=(gold[0] - span[0], gold[1] - span[0]),
        negatives=tuple(corpus.text(c["doc"])[c["start"] : c["end"]] for c in chosen),
        contexts=(corpus.context(doc, span[0]), *(corpus.context(c["doc"], c["start"]) for c in chosen)),
    )


def load_groups(path: Path) -> list[Example]:
    """Groups written whole as Example fields, one a line (training/docs.py's examples.jsonl.gz)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            # JSON lists are Example's tuple fields; fields a line lacks take their default
            row: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(line).items()
            }
            out.append(Example(**row))
    return out


def with_history(examples: list[Example], article_of: dict[str, str], portion: float) -> list[Example]:
    """That portion of the questions asked after another question of their article, as qabot reads a
    follow-up jointly ("{previous} {question}"): the answer stays the one to the last question."""
    asked: dict[str, list[str]] = {}
    for e in examples:
        asked.setdefault(article_of.get(e.id, ""), []).append(e.question)
    out = []
    for e in examples:
        if e.id in article_of and share(f"{e.id}:history") < portion:
            others = [q for q in asked[article_of[e.id]] if q != e.question]
            if others:
                e = replace(e, question=f"{others[_draw(f'{e.id}:previous', len(others))]} {e.question}")
        out.append(e)
    return out


def blanked(ex: Example) -> str | None:
    """The answering sentence with its answer cut out: on topic, worded like the question, and no longer
    an answer (what an on-topic question the documents do not answer meets). None when the answer, or
    another of the question's gold answers, would still be in it, or too little is left."""
    a, b = ex.answer
    text = re.sub(r"\s+([,.;:)])", r"\1", ex.positive[:a].rstrip() + " " + ex.positive[b:].lstrip())
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # "interview, , the" -> "interview, the"
    text = re.sub(r"\(\s*\)|\s{2,}", " ", text).strip()
    if len(text.split()) < 4 or contains_answer(text, ex.answers):
        return None
    return text


def ranked(record: dict[str, Any], corpus: Corpus) -> Ranked:
    candidates = tuple(
        {
            **c,
            "text": corpus.text(c["doc"])[c["start"] : c["end"]],
            "context": corpus.context(c["doc"], c["start"]),
        }
        for c in record["candidates"]
    )
    return Ranked(record["id"], record["question"], tuple(record["answers"]), record["article"], candidates)


def absent_sentences(
    data: Path, corpus: Corpus, keep: int = HARD, folder: str = "absent"
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per question id, the best `keep` candidates that do not hold the answer and their contexts, from
    the other articles (`training/prepare.py --absent`) or, with folder "near", from its own article less
    the chunks holding its answer (`--near`); empty when that pass has not been run."""
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for shard in sorted((data / folder).glob("*.jsonl.gz")):
        with gzip.open(shard, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                rows = [c for c in record["candidates"] if not c["holds"]][:keep]
                out[record["id"]] = (
                    tuple(corpus.text(c["doc"])[c["start"] : c["end"]] for c in rows),
                    tuple(corpus.context(c["doc"], c["start"]) for c in rows),
                )
    return out
