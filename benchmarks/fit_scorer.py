"""Fit the sentence scorer's weights on half of a question set's documents; report both halves.

    python -m benchmarks.fit_scorer --index /tmp/squad/index \
        --questions ../shared/data/squad-dev-a/questions.jsonl --per-fold 1500

Documents are split into two folds by sorted source name (even / odd positions). The weights are fitted
on fold A (listwise: softmax over each question's candidate sentences, positives = sentences containing a
gold answer) and top-1 is reported on fold B, which the fit never saw, next to the current weights.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

from qabot import scoring
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import Item, contains_answer, load_items
from qabot.store import open_index

Example = tuple[np.ndarray, np.ndarray]  # (features per candidate, 1.0 where it holds the answer)


def collect(answerer: Answerer, items: list[Item]) -> tuple[list[Example], int]:
    examples, covered = [], 0
    for item in items:
        candidates, _ = answerer.candidates(item.question)
        if not candidates:
            continue
        texts = [
            answerer.index.document(c.sentence.doc).text[c.sentence.start : c.sentence.end]
            for c in candidates
        ]
        labels = np.array([contains_answer(t, item.answers) for t in texts], dtype=np.float64)
        covered += bool(labels.any())
        examples.append((np.array([scoring.vector(c.features) for c in candidates]), labels))
    return examples, covered


def fit(examples: list[Example], steps: int = 400, l2: float = 1e-3, lr: float = 0.1) -> np.ndarray:
    """Listwise softmax regression by Adam; only questions with a positive candidate teach anything."""
    usable = [(x, y) for x, y in examples if y.any()]
    if not usable:
        raise ValueError("no question has a gold answer among its candidates: nothing to fit")
    w = np.zeros(usable[0][0].shape[1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, steps + 1):
        grad = l2 * w
        for x, y in usable:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = y * p / (y * p).sum()  # the softmax restricted to positives
            grad += x.T @ (p - q) / len(usable)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def top1(examples: list[Example], w: np.ndarray, total: int) -> float:
    return sum(float(y[int(np.argmax(x @ w))]) for x, y in examples) / total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--per-fold", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    index = open_index(Settings(index_dir=args.index))
    answerer = Answerer(index)
    items = [i for i in load_items(args.questions) if i.answers and i.source]
    sources = sorted({i.source for i in items if i.source})
    folds = {name: set(sources[start::2]) for name, start in (("A", 0), ("B", 1))}
    data = {}
    for name, members in folds.items():
        chosen = [i for i in items if i.source in members]
        chosen = random.Random(args.seed).sample(chosen, min(args.per_fold, len(chosen)))
        examples, covered = collect(answerer, chosen)
        data[name] = (examples, len(chosen))
        print(
            f"fold {name}: {len(chosen)} questions, answer among candidates for {covered / len(chosen):.3f}"
        )
    current = np.array([scoring.WEIGHTS[f] for f in scoring.FEATURES])
    fitted = fit(data["A"][0])
    for name, (examples, total) in data.items():
        tag = "(fitted here)" if name == "A" else "(held out)"
        print(
            f"fold {name} top-1: current {top1(examples, current, total):.4f}  "
            f"fitted {top1(examples, fitted, total):.4f} {tag}"
        )
    print("WEIGHTS = {")
    for feature, weight in zip(scoring.FEATURES, fitted, strict=True):
        print(f'    "{feature}": {weight:.4f},')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
