"""Fit what sits around the reader, on the SQuAD train articles the reader never saw ("fit" split).

    python -m training.fit --model runs/reader/run1/onnx --out runs/reader/run1/fit.json

1. The linear scorer's weights (qabot/scoring.py), refitted on these questions' stored candidate features
   (before, they were fitted on squad-dev-a, which must stay a measuring set).
2. How many of the scorer's best candidates the reader rereads, and how its logit, the scorer's score and
   the scorer's rank combine into the final order: listwise softmax regression, chosen by two-fold
   cross-validation over articles.
Confidence and the answering threshold are fitted afterwards, on this file's combination, by
training/calibrate.py.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.fit_scorer import fit as listwise_fit
from qabot import scoring
from qabot.models.reader import CONFIG_FILE, OnnxReader, ReaderConfig
from training.examples import Corpus, Ranked, ranked, records

COMBINED = ("reader", "scorer", "rank")  # features of the final order
DEPTHS = (4, 6, 8, 10, 12, 16)


@dataclass(frozen=True)
class Read:
    """A question's candidates in the refitted scorer's order, with what the reader made of them."""

    scorer: np.ndarray  # scorer score per candidate
    reader: np.ndarray  # reader logit per candidate (first max(DEPTHS) only)
    holds: np.ndarray  # 1.0 where the candidate holds a gold answer
    article: str


def refit_scorer(questions: Sequence[Ranked], drop: Sequence[str] = ()) -> np.ndarray:
    """Listwise fit of the scorer's weights; features in `drop` are held at 0 (an ablation)."""
    examples = []
    for q in questions:
        x = np.array([_without(scoring.vector(c["features"]), drop) for c in q.candidates])
        y = np.array([float(c["holds"]) for c in q.candidates])
        if len(x):
            examples.append((x, y))
    return listwise_fit(examples)


def _without(vector: Sequence[float], drop: Sequence[str]) -> list[float]:
    return [0.0 if name in drop else v for name, v in zip(scoring.FEATURES, vector, strict=True)]


def reorder(q: Ranked, weights: np.ndarray) -> tuple[list[dict[str, Any]], np.ndarray]:
    scores = np.array([np.dot(weights, scoring.vector(c["features"])) for c in q.candidates])
    order = np.argsort(-scores, kind="stable")
    return [q.candidates[i] for i in order], scores[order]


def read_all(reader: OnnxReader, questions: Sequence[Ranked], weights: np.ndarray) -> list[Read]:
    out = []
    began = time.perf_counter()
    for n, q in enumerate(questions, start=1):
        candidates, scores = reorder(q, weights)
        texts = [c["text"] for c in candidates[: max(DEPTHS)]]
        # SQuAD's candidates are prose: read with context only by a reader trained with --context
        contexts = [c["context"] for c in candidates[: max(DEPTHS)]] if reader.config.context else None
        logits = np.array([r.relevance for r in reader.read(q.question, texts, contexts)])
        out.append(Read(scores, logits, np.array([float(c["holds"]) for c in candidates]), q.article))
        if n % 500 == 0:
            print(f"read {n} questions, {n / (time.perf_counter() - began):.1f}/s", flush=True)
    return out


def features(r: Read, depth: int) -> np.ndarray:
    n = min(depth, len(r.reader))
    rank = 1.0 / (1.0 + np.arange(n))
    return np.stack([r.reader[:n], r.scorer[:n], rank], axis=1)


def combine_fit(reads: Sequence[Read], depth: int) -> np.ndarray:
    return listwise_fit([(features(r, depth), r.holds[:depth]) for r in reads if len(r.reader)])


def top_k(reads: Sequence[Read], depth: int, w: np.ndarray | None, k: int = 1) -> float:
    """Share of questions whose best k (by w over the first `depth`; None: the scorer's order) hold one."""
    hits = 0
    for r in reads:
        if not len(r.reader):
            continue
        if w is None:
            order = np.arange(len(r.holds))
        else:
            head = np.argsort(-(features(r, depth) @ w), kind="stable")
            order = np.concatenate([head, np.arange(len(head), len(r.holds))])
        hits += bool(r.holds[order[:k]].any())
    return hits / max(1, len(reads))


def choose(reads: list[Read], depths: Sequence[int] = DEPTHS) -> tuple[int, np.ndarray, dict[str, Any]]:
    """Depth (one of `depths`) and weights by two-fold cross-validation over articles."""
    articles = sorted({r.article for r in reads})
    folds = [{a for a in articles[i::2]} for i in range(2)]
    table = {}
    for depth in depths:
        scores = []
        for i in range(2):
            train = [r for r in reads if r.article in folds[i]]
            test = [r for r in reads if r.article not in folds[i]]
            w = combine_fit(train, depth)
            scores.append((top_k(test, depth, w), top_k(test, depth, w, 3)))
        table[depth] = (float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores])))
        print(f"depth {depth}: cross-validated top-1 {table[depth][0]:.4f} top-3 {table[depth][1]:.4f}")
    reader_only = np.array([1.0, 0.0, 0.0])
    report = {
        "cv": {str(d): {"top1": t1, "top3": t3} for d, (t1, t3) in table.items()},
        "scorer_top1": top_k(reads, max(DEPTHS), None),
        "scorer_top3": top_k(reads, max(DEPTHS), None, 3),
        "reader_top1@10": top_k(reads, 10, reader_only),
    }
    best = max(table[d][0] for d in depths)
    depth = min(d for d in depths if table[d][0] >= best - 0.002)  # the cheapest within 0.2 points
    return depth, combine_fit(reads, depth), report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("runs/reader/data"))
    parser.add_argument(
        "--model", type=Path, required=True, help="Folder with reader.onnx and tokenizer.json."
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--context", action="store_true", help="The model was trained with --context (train.py)."
    )
    parser.add_argument(
        "--sections",
        action="store_true",
        help="The model was trained with --sections (train.py).",
    )
    parser.add_argument("--drop", default="", help="Scorer features left out (comma-separated).")
    parser.add_argument(
        "--max-depth", type=int, default=max(DEPTHS), help="Read at most this many candidates (latency)."
    )
    args = parser.parse_args()
    corpus = Corpus(args.data)
    questions = [ranked(r, corpus) for r in records(args.data, "fit")]
    random.Random(args.seed).shuffle(questions)
    questions = questions[: args.questions]
    weights = refit_scorer(questions, [f for f in args.drop.split(",") if f])
    print("scorer weights", dict(zip(scoring.FEATURES, np.round(weights, 4).tolist(), strict=True)))
    # the reader loads with a config; this one only reads (calibrate.py writes the real one)
    placeholder = ReaderConfig(
        max(DEPTHS), 1.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.15, context=args.context, sections=args.sections
    )
    (args.model / CONFIG_FILE).write_text(json.dumps({"config": asdict(placeholder)}))
    reader = OnnxReader(args.model, threads=2)
    reads = read_all(reader, questions, weights)
    depth, combination, report = choose(reads, [d for d in DEPTHS if d <= args.max_depth])
    result = {
        "scorer_weights": dict(zip(scoring.FEATURES, weights.tolist(), strict=True)),
        "depth": depth,
        "combination": dict(zip(COMBINED, combination.tolist(), strict=True)),
        "report": report,
        "questions": len(questions),
        "context": args.context,
        "sections": args.sections,
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
