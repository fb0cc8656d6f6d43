"""Would documentation want its own combination of the reader's logit, the scorer's score and the rank?

    python -m training.docs_combination --held runs/reader/docs-held-14.jsonl --limit 1500 \\
        --out runs/reader/docs-combination

Reads each question's head candidates as the answer path does (`Answerer.candidates`, the reader on the
first `depth` of them with the context its config asks for), fits the combination listwise on the
docs-held questions (a fit set: other projects' docs, questions asked within their own project), checks
it across projects (fitted on half of them, judged on the other half, both ways), and judges the weights
fitted on all of docs-held on the docs measuring sets against the reader's own combination. Top-1 and
top-3 are of the order alone (abstention off), over answerable questions; the head's reading is stored
per set in OUT, so a refit needs no reading.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qabot.answer import CANDIDATE_CHUNKS, Answerer, clean_question
from qabot.evaluate import contains_answer, load_items
from qabot.models.reader import WEIGHTS_DIR, OnnxReader
from qabot.store import open_index_dir
from training.fit import Read, combine_fit
from training.fit import top_k as fit_top_k
from training.measure import project as measure_project

DEPTH = 16  # read at least this deep, so that deeper combinations can be tried
SETS = ("fastapi", "click", "structlog", "rq", "nodejs", "readmes", "libffi", "valgrind")  # pipeline.sh's

Row = dict[str, Any]


def read_heads(
    index: Path, questions: Path, reader: OnnxReader, limit: int = 0, within_project: bool = False
) -> list[Row]:
    """Per answerable single question: the reader's logit, the scorer's score and whether it holds a gold
    answer, for each of its first DEPTH candidates in the scorer's order."""
    answerer = Answerer(open_index_dir(index), min_confidence=0.0, reader=reader)
    config = reader.config
    items = [i for i in load_items(questions) if i.answers and len(i.turns) <= 1]
    if limit:
        random.Random(0).shuffle(items)
        items = items[:limit]
    rows = []
    for item in items:
        project = measure_project(item.source or "") or item.source or ""  # a page outside any folder: itself
        scope = answerer.index.scope(sources=(project,)) if within_project and project else None
        text = clean_question(item.question)
        head = answerer.candidates(text, scope, CANDIDATE_CHUNKS)[0][: max(DEPTH, config.depth)]
        texts = [answerer.sentence_text(c.sentence) for c in head]
        contexts = (
            answerer.contexts([c.sentence for c in head], config.context, config.sections)
            if config.reads_context
            else None
        )
        readings = reader.read(text, texts, contexts) if head else []
        rows.append(
            {
                "id": item.id,
                "project": project,
                "reader": [r.relevance for r in readings],
                "scorer": [c.score for c in head],
                "holds": [contains_answer(t, item.answers) for t in texts],
            }
        )
    return rows


def _read(row: Row) -> Read:
    """A stored row as training.fit reads a question (its project in the place of SQuAD's article)."""
    return Read(
        np.array(row["scorer"]), np.array(row["reader"]), np.array(row["holds"], dtype=float), row["project"]
    )


def fit(rows: Sequence[Row], depth: int) -> np.ndarray:
    return combine_fit([_read(r) for r in rows], depth)


def top_k(rows: Sequence[Row], weights: Sequence[float] | np.ndarray, depth: int, k: int = 1) -> float:
    """Share of the questions whose best k, by `weights` over the first `depth`, hold an answer."""
    return fit_top_k([_read(r) for r in rows], depth, np.asarray(weights, dtype=float), k)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reader", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--held", type=Path, default=Path("runs/reader/docs-held-14.jsonl"))
    parser.add_argument("--held-index", type=Path, default=Path("runs/docs/index"))
    parser.add_argument("--limit", type=int, default=1500, help="docs-held questions read (a fixed sample)")
    parser.add_argument("--eval-indexes", type=Path, default=Path("runs/eval"), help="NAME/index per set")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    reader = OnnxReader(args.reader)
    config = reader.config
    shipped = [config.reader_weight, config.scorer_weight, config.rank_weight]
    args.out.mkdir(parents=True, exist_ok=True)

    def heads(name: str, index: Path, questions: Path, limit: int = 0, within: bool = False) -> list[Row]:
        path = args.out / f"{name}.json"
        if not path.exists():
            path.write_text(json.dumps(read_heads(index, questions, reader, limit, within)))
        rows: list[Row] = json.loads(path.read_text())
        return rows

    held = heads("docs_held", args.held_index, args.held, args.limit, within=True)
    projects = sorted({r["project"] for r in held})
    depth = config.depth
    for d in sorted({depth, DEPTH}):
        folds = []
        for i in range(2):
            half = set(projects[i::2])
            w = fit([r for r in held if r["project"] in half], d)
            test = [r for r in held if r["project"] not in half]
            folds.append((top_k(test, w, d), top_k(test, shipped, depth)))
        fitted, own = np.mean([f[0] for f in folds]), np.mean([f[1] for f in folds])
        print(f"docs-held across projects, depth {d}: fitted {fitted:.4f}, the reader's own {own:.4f}")
    weights = fit(held, depth)
    print(f"fitted on all {len(held)}: {np.round(weights, 3).tolist()}; own: {np.round(shipped, 3).tolist()}")
    print("set: top-1 / top-3, own combination -> fitted; the scorer alone")
    for name in SETS:
        rows = heads(name, args.eval_indexes / name / "index", Path(f"eval/{name}_questions.jsonl"))
        own1, own3 = top_k(rows, shipped, depth), top_k(rows, shipped, depth, 3)
        fit1, fit3 = top_k(rows, weights, depth), top_k(rows, weights, depth, 3)
        print(
            f"{name}: {own1:.3f} / {own3:.3f} -> {fit1:.3f} / {fit3:.3f}; {top_k(rows, [0, 1, 0], depth):.3f}"
        )


if __name__ == "__main__":
    main()
