"""A staged reader on a question set, before it ships: one pass, the order and what the asker sees.

    python -m training.measure INDEX eval/fresh_questions.jsonl --reader runs/reader/run4/onnx

Each question is answered once with abstention off (the order), and "as served" applies the reader's own
threshold to the top confidence afterwards, which is what `qabot eval` counts as answered; the confidence
AUC is that of a right top quote against the rest (wrong, or a question that must be declined). Without
`--reader`, the shipped reader. Prints one JSON line; `--out` also keeps every question's row.

`--within-project` asks each question of its own project's documents only (the first folder of its
`source`), as a project's docs bot would be asked: the documentation index of `training.docs` holds 25
projects, and "what do I raise to get a 403?" has an answer in Django's docs and another in Pyramid's.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qabot.answer import Answer, Answerer, parse_filters
from qabot.evaluate import Item, contains_answer, load_items
from qabot.models.reader import WEIGHTS_DIR, OnnxReader
from qabot.store import open_index_dir


@dataclass(frozen=True)
class Row:
    id: str | None
    kind: str | None
    answerable: bool
    hit1: bool
    hit3: bool
    confidence: float
    served: bool  # the top confidence reaches the reader's threshold (for its kind: prose or docs)
    second: float | None = None  # the second quote's confidence, for confidence features beyond the first
    score: float | None = None  # the top quote's final score, what training/docs_confidence.py maps
    structured: bool = False  # the top quote is a unit of a Markdown or reST document
    cited1: bool = False  # the answer is in the top quote or in the section path shown with it
    rival: float | None = None  # the second quote's final score: a docs map may read the top's margin


def auc(right: list[float], rest: list[float]) -> float:
    """Chance that a right answer's confidence beats another's (ties count half)."""
    if not right or not rest:
        return float("nan")
    wins = sum((r > o) + 0.5 * (r == o) for r in right for o in rest)
    return wins / (len(right) * len(rest))


def cited(section: Sequence[str], gold: Sequence[str]) -> bool:
    """The answer is in a heading of the section path the citation shows ("Middleware ›
    HTTPSRedirectMiddleware" above "Enforces that all incoming requests must either be https or wss"): what
    the asker reads, beside the stricter top-1, which counts the quote's text alone."""
    return any(contains_answer(heading, gold) for heading in section)


def project(source: str) -> str | None:
    """The project of a docs page: the first folder of its source (None for a page outside any)."""
    return source.split("/")[0] if "/" in source else None


def ask(answerer: Answerer, item: Item, within_project: bool = False) -> Answer:
    # a page outside any folder is asked of itself
    scope = (project(item.source) or item.source) if within_project and item.source else None
    filters = parse_filters(sources=(scope,)) if scope else None
    return answerer.answer(item.question, 3, history=item.turns[:-1], filters=filters)


def measure(
    index: Path, questions: Path, reader_dir: Path, limit: int | None = None, within_project: bool = False
) -> dict[str, Any]:
    reader = OnnxReader(reader_dir)
    answerer = Answerer(open_index_dir(index), min_confidence=0.0, reader=reader)
    items = load_items(questions)
    if limit:
        random.Random(0).shuffle(items)
        items = items[:limit]
    at, docs_at = reader.config.floors(False)[0], reader.config.floors(True)[0]
    rows = []
    for item in items:
        answer = ask(answerer, item, within_project)
        quotes, gold = answer.quotes, item.answers
        hit1 = bool(gold) and bool(quotes) and contains_answer(quotes[0].text, gold)
        hit3 = bool(gold) and any(contains_answer(q.text, gold) for q in quotes[:3])
        cited1 = hit1 or (bool(quotes) and cited(quotes[0].source.section, gold))
        top = answer.top_score
        second = quotes[1].confidence if len(quotes) > 1 else None
        served = top >= reader.config.floors(answer.structured)[0]
        score = quotes[0].score if quotes and not answer.timeline else None  # a timeline is in date order
        structured = answer.structured
        rival = quotes[1].score if len(quotes) > 1 and not answer.timeline else None
        rows.append(
            Row(
                item.id,
                item.kind,
                bool(gold),
                hit1,
                hit3,
                top,
                served,
                second,
                score,
                structured,
                cited1,
                rival,
            )
        )
    answerable = [x for x in rows if x.answerable]
    unanswerable = [x for x in rows if not x.answerable]
    n = max(1, len(answerable))
    summary: dict[str, Any] = {
        "set": str(questions),
        "reader": str(reader_dir),
        "answer_at": at,
        "structured_answer_at": docs_at,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "order_top1": round(sum(x.hit1 for x in answerable) / n, 4),
        "order_top3": round(sum(x.hit3 for x in answerable) / n, 4),
        "served_top1": round(sum(x.hit1 and x.served for x in answerable) / n, 4),
        "served_top3": round(sum(x.hit3 and x.served for x in answerable) / n, 4),
        "order_cited1": round(sum(x.cited1 for x in answerable) / n, 4),
        "declined": sum(not x.served for x in answerable),
        "unans_declined": sum(not x.served for x in unanswerable),
        "auc": round(
            auc([x.confidence for x in rows if x.hit1], [x.confidence for x in rows if not x.hit1]), 3
        ),
    }
    follow = [x for x in answerable if x.kind == "followup"]
    if follow:
        summary["followup_order"] = round(sum(x.hit1 for x in follow) / len(follow), 4)
        summary["followup_served"] = round(sum(x.hit1 and x.served for x in follow) / len(follow), 4)
    return {"summary": summary, "rows": [asdict(x) for x in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("index", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--reader", type=Path, default=WEIGHTS_DIR, help="An exported, calibrated reader.")
    parser.add_argument("--limit", type=int, default=None, help="A fixed random sample of this size.")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--within-project",
        action="store_true",
        help="Ask each question of the documents under its source's first folder only.",
    )
    args = parser.parse_args()
    result = measure(args.index, args.questions, args.reader, args.limit, args.within_project)
    print(json.dumps(result["summary"]))
    if args.out:
        args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
