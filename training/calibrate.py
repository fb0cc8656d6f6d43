"""Calibrate the reader's confidence through qabot's own answer path, and write the shipped reader.json.

    python -m training.calibrate --model runs/reader/run1/onnx --fit runs/reader/run1/fit.json

Labelled data, none of it from a measuring set:
- questions of the "fit" SQuAD train articles (never trained on) asked of the index of all 442 train
  articles: the answer is in the corpus;
- the same questions asked of that index without their own article: the answer is (almost always) not;
- with `--near`, the same questions asked of their own article less every chunk that holds a gold answer:
  on-topic questions the corpus does not answer, the case that fools a reader most (the article's other
  sentences share the question's subject and words);
- the unanswerable questions of eval/seed_questions.jsonl asked of the seed corpus (on-topic questions
  the articles do not answer; that set was written alongside the system and is not a held-out set);
- with `--people FILE`, questions written by hand about some "fit" articles the way someone who skimmed
  them asks (other words than the text), answerable and on-topic unanswerable, asked of the whole index
  (training/calibration_questions.jsonl; together they weigh `--people-share` of the whole).
With `--unseen` every question is asked of an index of the "fit" articles alone (no reader trained on
them, as at answer time) instead of all 442. The label is whether the top quote holds a gold answer. A
logistic (Platt) map from the top candidate's final score gives the confidence; the answer threshold is
the lowest confidence at which answers given on this mix are right at least `--precision` of the
time (with `--match`, the precision the packaged reader's own line reaches on its points of the same
mix); passages under `--close` are not shown at all.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qabot import retrieve
from qabot.answer import Answerer, rival
from qabot.config import Settings
from qabot.evaluate import contains_answer, load_items
from qabot.models.reader import CONFIG_FILE, WEIGHTS_DIR, OnnxReader, ReaderConfig, load_config
from qabot.store import Index, Scope, build, open_index
from training.examples import records

# the top candidate's final score and span score, does it hold the answer, its rival's final score (the
# second candidate's), the question's cosine with its chunk (ReaderConfig.confidence's inputs)
Point = tuple[float, float, bool, float, float]
FEATURES = {"span": 1, "rival": 3, "chunk": 4}  # the optional confidence inputs, by their place in a Point


def top(answerer: Answerer, question: str, answers: Sequence[str], scope: object = None) -> Point | None:
    candidates, _ = answerer.ranked(question, scope=scope)  # type: ignore[arg-type]
    if not candidates:
        return None
    best = candidates[0]
    text = answerer.sentence_text(best.sentence)
    return (
        best.score,
        best.answer_score,
        contains_answer(text, answers),
        rival([c.score for c in candidates], 0),  # as the answer path computes it
        best.features.get("chunk", 0.0),
    )


def without(index: Index, article: str, cache: dict[str, object]) -> object:
    if article not in cache:
        others = [row.id for row in index.sources() if row.id != article]
        cache[article] = index.scope(sources=others)
    return cache[article]


def near(index: Index, article: str, answers: Sequence[str]) -> Scope:
    """The question's own article without the chunks that hold one of its answers."""
    own = index.scope(sources=[article])
    keep = []
    for chunk in index.chunks(own.chunks.tolist()):
        rows = index.sentences(chunk.first, chunk.last)
        body = index.document(chunk.doc).text[rows[0].start : rows[-1].end]
        if not contains_answer(body, answers):
            keep.append(chunk.id)
    return replace(own, chunks=np.array(keep, dtype=np.int64))


SMALL_SCOPE = 5_000  # chunks: one article's scope is searched exactly and by FTS5 within it


def _filtered(search: Callable[..., list[retrieve.Hit]]) -> Callable[..., list[retrieve.Hit]]:
    def within(index: Index, text: str, k: int, scope: Scope | None = None) -> list[retrieve.Hit]:
        if scope is None:
            return search(index, text, k)
        # FTS5 limits a scope by document; `near` leaves out chunks inside a document too
        allowed = set(scope.chunks.tolist())
        small = len(scope.chunks) <= SMALL_SCOPE
        return [h for h in search(index, text, k * 3, scope if small else None) if h.id in allowed][:k]

    return within


def scoped_search() -> None:
    """Make "the index without one article" searches fast (for this process).

    Such a scope holds 441 of the 442 articles: searched exactly, that reads every chunk vector for every
    question; FAISS's graph filtered to the scope gives the same top chunks. And FTS5 restricted to 441
    articles by a rowid subquery takes seconds a question: the keyword ranking of the whole index, less
    the article's chunks, is the same ranking. A scope of one article (`near`) stays exact."""
    retrieve.SCOPED_EXACT_MAX = SMALL_SCOPE
    retrieve.keyword_chunks = _filtered(retrieve.keyword_chunks)


def platt(
    points: Sequence[Sequence[float]], features: Sequence[str] = (), weights: np.ndarray | None = None
) -> dict[str, float]:
    """Logistic map from the final score (and the named `features` of FEATURES) to P(the top quote holds
    the answer): {"slope", each feature's weight, "intercept"}. `weights`: what each point counts for."""
    from sklearn.linear_model import LogisticRegression

    columns = [0, *(FEATURES[f] for f in features)]
    x = np.array([[p[c] for c in columns] for p in points])
    y = np.array([p[2] for p in points])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(x, y, sample_weight=weights)
    coef = model.coef_[0]
    return {
        "slope": float(coef[0]),
        **{f: float(w) for f, w in zip(features, coef[1:], strict=True)},
        "intercept": float(model.intercept_[0]),
    }


def confidences(points: Sequence[Sequence[float]], fitted: dict[str, float]) -> np.ndarray:
    z = np.array([fitted["slope"] * p[0] + fitted["intercept"] for p in points], dtype=float)
    for name, column in FEATURES.items():
        if name in fitted:
            z += fitted[name] * np.array([p[column] for p in points])
    out: np.ndarray = 1 / (1 + np.exp(-z))
    return out


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def threshold(
    confidences: np.ndarray, right: np.ndarray, precision: float, weights: np.ndarray | None = None
) -> float:
    """The lowest confidence from which the answers given are right `precision` of the time (each point
    counting its weight)."""
    w = np.ones(len(confidences)) if weights is None else weights
    order = np.argsort(-confidences)
    hits = np.cumsum(right[order] * w[order]) / np.cumsum(w[order])
    ok = np.nonzero(hits >= precision)[0]
    return float(confidences[order][ok[-1]]) if len(ok) else 1.0


def threshold_spread(
    groups: Sequence[Sequence[Point]],
    group_weights: Sequence[float],
    features: Sequence[str],
    precision: float,
    draws: int = 200,
    seed: int = 0,
) -> dict[str, float]:
    """How far the chosen threshold moves when the calibration questions are drawn again (a bootstrap of
    each group, refitting the map each time), on the final score's scale so that draws compare: its 5th,
    50th and 95th percentiles. Only for a score-only map (with more inputs no single score is the line).

    The threshold is where a step curve of precision crosses the target, so a few questions move it: at
    1,000 questions a group its 90 % range was worth three points of SQuAD served (stop 36)."""
    if features:
        return {}
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(draws):
        drawn = [[g[i] for i in rng.integers(0, len(g), len(g))] if g else [] for g in groups]
        points = [p for g in drawn for p in g]
        weights = np.concatenate([np.full(len(g), w) for g, w in zip(drawn, group_weights, strict=True)])
        fitted = platt(points, [], weights)
        right = np.array([p[2] for p in points], dtype=float)
        at = threshold(confidences(points, fitted), right, precision, weights)
        if 0 < at < 1:
            lines.append((math.log(at / (1 - at)) - fitted["intercept"]) / fitted["slope"])
    if not lines:
        return {}
    low, mid, high = np.percentile(lines, [5, 50, 95])
    return {"score_p05": float(low), "score_p50": float(mid), "score_p95": float(high)}


POINTS_FILE = "calibration-points.json"


def fit_index(data: Path) -> Path:
    """An index of the "fit" articles alone (built once): a corpus no reader was trained on, as the
    documents people ask about are."""
    from training.prepare import split_of

    corpus, index = data / "fit-corpus", data / "fit-index"
    if not (index / "CURRENT").exists():
        corpus.mkdir(exist_ok=True)
        for title in {q["article"] for q in records(data, "fit")}:
            assert split_of(title) == "fit"
            name = f"{title}.txt"
            (corpus / name).write_text((data / "corpus" / name).read_text(encoding="utf-8"), encoding="utf-8")
        build(Settings(corpus_dir=corpus, index_dir=index))
    return index


def training_answerer(args: argparse.Namespace, reader: OnnxReader) -> Answerer:
    """The answer path, abstention off, over the index of all the training articles or (`--unseen`) of
    the "fit" articles alone."""
    scoped_search()
    where = fit_index(args.data) if args.unseen else args.data / "index"
    index = open_index(Settings(index_dir=where), verify=False)
    return Answerer(index, min_confidence=0.0, reader=reader)


def ask(args: argparse.Namespace, reader: OnnxReader) -> dict[str, list[Any]]:
    """Every labelled question asked through the answer path: its top candidate's point, by group."""
    answerer = training_answerer(args, reader)
    index = answerer.index
    questions = list(records(args.data, "fit"))
    random.Random(1).shuffle(questions)
    groups: dict[str, list[Any]] = {"inside": [], "outside": [], "near": [], "seed": []}
    cache: dict[str, object] = {}
    for n, q in enumerate(questions[: args.questions], start=1):
        scopes = {"inside": None, "outside": without(index, q["article"], cache)}
        if args.near:
            scopes["near"] = near(index, q["article"], q["answers"])
        for name, scope in scopes.items():
            point = top(answerer, q["question"], q["answers"], scope)
            if point:
                groups[name].append(point)
        if n % 250 == 0:
            print(f"{n} questions", flush=True)
    seed_settings = Settings(corpus_dir=args.seed_corpus, index_dir=args.data / "seed-index")
    build(seed_settings)
    seed = Answerer(open_index(seed_settings, verify=False), min_confidence=0.0, reader=reader)
    for item in load_items(args.seed_questions):
        point = top(seed, item.question, ()) if not item.answers else None
        if point:
            groups["seed"].append(point)
    if args.people:
        groups["people"] = ask_people(args, answerer)
        groups["people_from"] = [args.people.name]
    return groups


def ask_people(
    args: argparse.Namespace, answerer: Answerer
) -> list[tuple[float, float, bool, float, float, bool]]:
    """The hand-written calibration questions, asked of the whole training index (their articles are in
    it): each Point, then whether its question is answerable."""
    points = []
    for item in load_items(args.people):
        point = top(answerer, item.question, item.answers)
        if point:
            points.append((*point, bool(item.answers)))
    return points


@dataclass(frozen=True)
class Mix:
    """The labelled groups and what each point weighs: one unanswerable question for each answerable one
    (with --near, the near points take `near_share` of that half), the hand-written ones `--people-share`
    of the whole (each weighing `people_weight`). `weights` follows `points`' order."""

    inside: list[Point]
    outside: list[Point]
    near: list[Point]
    seed: list[Point]
    people: list[Point]
    weights: np.ndarray
    near_share: float
    people_weight: float
    people_answerable: list[bool]  # for each hand-written point, whether its question is answerable

    @property
    def groups(self) -> list[list[Point]]:
        return [self.inside, self.outside, self.near, self.seed, self.people]

    @property
    def points(self) -> list[Point]:
        return [p for group in self.groups for p in group]


def mix(groups: dict[str, list[Any]], args: argparse.Namespace) -> Mix:
    inside, outside, close, unanswerable = (
        [tuple(p) for p in groups[k]] for k in ("inside", "outside", "near", "seed")
    )
    kept = groups.get("people", []) if args.people else []
    people: list[Point] = [tuple(p[:5]) for p in kept]
    if not args.near:
        close = []
    share = args.near_weight if close else 0.0
    weights = np.concatenate(
        [
            np.ones(len(inside)),
            np.full(len(outside), 1 - share),
            np.full(len(close), share),
            np.ones(len(unanswerable)),
        ]
    )
    each = 0.0
    if people:
        each = args.people_share / (1 - args.people_share) * weights.sum() / len(people)
        weights = np.concatenate([weights, np.full(len(people), each)])
    answerable = [bool(p[5]) for p in kept]
    return Mix(inside, outside, close, unanswerable, people, weights, share, each, answerable)


def matched_precision(points: Sequence[Point], weights: np.ndarray, config: ReaderConfig) -> float:
    """The precision another reader's answers reach on its own points of this mix at its own threshold
    (its own map): what `--match` asks of the run, so that a new mix keeps the line as honest as
    the reader it replaces."""
    given = np.array([config.confidence(p[0], p[1], p[3], p[4]) >= config.answer_at for p in points])
    right = np.array([p[2] for p in points], dtype=float)
    return float(np.sum(right[given] * weights[given]) / np.sum(weights[given]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("runs/reader/data"))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--fit", type=Path, required=True, help="training/fit.py's output.")
    parser.add_argument("--questions", type=int, default=1500)
    parser.add_argument("--precision", type=float, default=0.85)
    parser.add_argument("--close", type=float, default=0.15)
    parser.add_argument("--span", action="store_true", help="Use the answer span's score in the confidence.")
    parser.add_argument(
        "--rival", action="store_true", help="Use the second candidate's final score in the confidence."
    )
    parser.add_argument(
        "--chunk", action="store_true", help="Use the question's cosine with the quote's chunk in it."
    )
    parser.add_argument("--seed-questions", type=Path, default=Path("eval/seed_questions.jsonl"))
    parser.add_argument("--seed-corpus", type=Path, default=Path("corpus"))
    parser.add_argument(
        "--near", action="store_true", help="Add on-topic unanswerable points (own article, answer removed)."
    )
    parser.add_argument(
        "--unseen",
        action="store_true",
        help='Ask of the index of the "fit" articles alone (no reader trained on any of its articles), '
        "not of all 442: the questions without their article then meet only documents never read in "
        "training, as at answer time.",
    )
    parser.add_argument(
        "--match",
        type=Path,
        default=None,
        help="Instead of --precision, the precision the packaged reader (--match-config) reaches at its "
        "own threshold on its points of the same mix, kept in MATCH/calibration-points.json (asked with "
        "the same options).",
    )
    parser.add_argument(
        "--match-config", type=Path, default=WEIGHTS_DIR, help="The model folder whose line --match keeps."
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"Refit from the points a previous run kept in MODEL/{POINTS_FILE} (same fit, no asking but "
        "of --people questions from another file).",
    )
    parser.add_argument(
        "--near-weight",
        type=float,
        default=0.5,
        help="With --near, the near points' share of the unanswerable weight (the rest: other articles).",
    )
    parser.add_argument(
        "--people", type=Path, default=None, help="Hand-written calibration questions (eval format)."
    )
    parser.add_argument(
        "--people-share",
        type=float,
        default=0.5,
        help="The --people points' share of the whole weight (what people ask, beside SQuAD's crowd).",
    )
    args = parser.parse_args()
    if not 0 <= args.people_share < 1:
        parser.error("--people-share is a share of the whole weight: from 0 up to, not including, 1")
    fitted = json.loads(args.fit.read_text())
    w = fitted["combination"]
    config = ReaderConfig(
        fitted["depth"],
        w["reader"],
        w["scorer"],
        w["rank"],
        1.0,
        0.0,
        0.0,
        0.0,
        context=fitted.get("context", False),
        sections=fitted.get("sections", False),
    )
    saved = args.model / POINTS_FILE
    if args.reuse and saved.exists():
        groups = json.loads(saved.read_text())
        if args.people and groups.get("people_from") != [args.people.name]:  # asked from another file
            groups["people"] = ask_people(args, training_answerer(args, OnnxReader(args.model)))
            groups["people_from"] = [args.people.name]
            saved.write_text(json.dumps(groups))
    else:
        (args.model / CONFIG_FILE).write_text(json.dumps({"config": asdict(config)}))
        groups = ask(args, OnnxReader(args.model))
        saved.write_text(json.dumps(groups))
    labelled = mix(groups, args)
    inside, outside, close, unanswerable, people = labelled.groups
    weights, share = labelled.weights, labelled.near_share
    points = labelled.points
    right = np.array([p[2] for p in points], dtype=float)
    final = np.array([p[0] for p in points])
    features = [f for f in FEATURES if getattr(args, f)]
    beyond_span = bool(set(features) - {"span"})
    if any(len(p) < 5 for p in points) and beyond_span:
        parser.error(f"{saved} was kept before --rival and --chunk existed: ask again (without --reuse)")
    separation = {
        "auc_final_score": auc(final, right),
        "auc_with_span": auc(confidences(points, platt(points, ["span"], weights)), right),
    }
    fitted = platt(points, features, weights)
    confidence = confidences(points, fitted)
    separation["auc_as_fitted"] = auc(confidence, right)
    if args.match:
        theirs = mix(json.loads((args.match / POINTS_FILE).read_text()), args)
        args.precision = matched_precision(theirs.points, theirs.weights, load_config(args.match_config))
    answer_at = threshold(confidence, right, args.precision, weights)
    # the inputs beyond the score were fitted on prose: structured documents' units keep the score's map
    plain = platt(points, [], weights) if beyond_span else {}
    config = replace(
        config,
        structured_slope=plain.get("slope"),
        structured_intercept=plain.get("intercept"),
        # a docs map fitted before (training/docs_confidence.py) was for the old scores: fit it again
        structured_answer_at=None,
        structured_close_at=None,
        slope=fitted["slope"],
        span_weight=fitted.get("span", 0.0),
        rival_weight=fitted.get("rival", 0.0),
        chunk_weight=fitted.get("chunk", 0.0),
        intercept=fitted["intercept"],
        answer_at=answer_at,
        close_at=args.close,
    )
    # each group's confidences and hits, in the order `points` put them together
    sizes = {"inside": inside, "outside": outside, "near": close, "seed": unanswerable, "people": people}
    cuts = np.cumsum([len(v) for v in sizes.values()])[:-1]
    conf = dict(zip(sizes, np.split(confidence, cuts), strict=True))
    hits = dict(zip(sizes, np.split(right > 0, cuts), strict=True))
    report = {
        "questions_in_corpus": len(inside),
        "questions_without_article": len(outside),
        "seed_unanswerable": len(unanswerable),
        "top1_in_corpus": float(np.mean([p[2] for p in inside])),
        "answered_in_corpus": float(np.mean(conf["inside"] >= answer_at)),
        "top1_in_corpus_after_declining": float(np.mean((conf["inside"] >= answer_at) & hits["inside"])),
        "answered_without_article": float(np.mean(conf["outside"] >= answer_at)),
        "unsure_without_article": float(
            np.mean((conf["outside"] < answer_at) & (conf["outside"] >= args.close))
        ),
        "questions_answer_removed": len(close),
        "answered_answer_removed": float(np.mean(conf["near"] >= answer_at)) if close else None,
        "seed_unanswerable_answered": int(np.sum(conf["seed"] >= answer_at)),
        **people_report(conf["people"], hits["people"], labelled.people_answerable, answer_at),
        "precision": args.precision,
        "near_weight": share,
        **separation,
        "answer_at_spread": threshold_spread(
            labelled.groups, [1.0, 1 - share, share, 1.0, labelled.people_weight], features, args.precision
        ),
        "reliability": reliability(confidence, right),
        "thresholds": tradeoffs(confidence, right, weights, conf, hits["inside"]),
    }
    (args.model / CONFIG_FILE).write_text(
        json.dumps({"config": asdict(config), "calibration": report}, indent=2)
    )
    print(json.dumps({"config": asdict(config), "calibration": report}, indent=2))


def people_report(
    confidence: np.ndarray, right: np.ndarray, answerable: Sequence[bool], answer_at: float
) -> dict[str, float | int]:
    """How the hand-written questions fare at the chosen threshold."""
    if not len(confidence):
        return {}
    asked = np.array(answerable, dtype=bool)
    given = confidence >= answer_at
    return {
        "people_answerable": int(asked.sum()),
        "people_right_served": int(np.sum(given & asked & (right > 0))),
        "people_answerable_declined": int(np.sum(~given & asked)),
        "people_unanswerable": int((~asked).sum()),
        "people_unanswerable_declined": int(np.sum(~given & ~asked)),
    }


def tradeoffs(
    confidence: np.ndarray,
    right: np.ndarray,
    weights: np.ndarray,
    conf: dict[str, np.ndarray],
    hits: np.ndarray,
) -> list[dict[str, float | None]]:
    """What each answer threshold would do: answers given in and out of the corpus and with the answer
    removed, and their precision on the whole (weighted) mix."""
    rows = []
    inside, outside, close = conf["inside"], conf["outside"], conf["near"]
    for at in np.arange(0.1, 0.95, 0.05):
        given = confidence >= at
        precision = (
            float(np.sum(right[given] * weights[given]) / np.sum(weights[given])) if given.any() else 1.0
        )
        rows.append(
            {
                "answer_at": round(float(at), 2),
                "precision": round(precision, 3),
                "answered_in_corpus": round(float(np.mean(inside >= at)), 3),
                "top1_in_corpus_after_declining": round(float(np.mean((inside >= at) & hits)), 3),
                "answered_without_article": round(float(np.mean(outside >= at)), 3),
                "answered_answer_removed": round(float(np.mean(close >= at)), 3) if len(close) else None,
            }
        )
    return rows


def reliability(confidence: np.ndarray, right: np.ndarray) -> list[dict[str, float]]:
    """Per tenth of confidence: how many and how many were right (the calibration check)."""
    out = []
    for low in np.arange(0, 1, 0.1):
        band = (confidence >= low) & (confidence < low + 0.1)
        if band.any():
            out.append(
                {
                    "from": round(float(low), 1),
                    "n": int(band.sum()),
                    "mean_confidence": round(float(confidence[band].mean()), 3),
                    "right": round(float(right[band].mean()), 3),
                }
            )
    return out


if __name__ == "__main__":
    main()
