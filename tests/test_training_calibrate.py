from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qabot import retrieve
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import contains_answer, load_items
from qabot.models.reader import ReaderConfig
from qabot.store import open_index
from training.calibrate import (
    SMALL_SCOPE,
    _filtered,
    confidences,
    fit_index,
    matched_precision,
    near,
    people_report,
    platt,
    threshold,
    threshold_spread,
)
from training.prepare import split_of

from .conftest import EVAL_DIR


def test_near_leaves_the_article_without_its_answer(
    answerer: Answerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "answer removed" calibration questions are labelled unanswerable: no quote qabot can give
    within that scope (searched as calibrate.py searches) may hold a gold answer, and the rest of the
    article stays searchable."""
    monkeypatch.setattr(retrieve, "SCOPED_EXACT_MAX", SMALL_SCOPE)
    monkeypatch.setattr(retrieve, "keyword_chunks", _filtered(retrieve.keyword_chunks))
    index = answerer.index
    items = [i for i in load_items(EVAL_DIR / "seed_questions.jsonl") if i.answers and i.source][:6]
    assert items
    for item in items:
        assert item.source is not None
        own = index.scope(sources=[item.source])
        scope = near(index, item.source, item.answers)
        assert 0 < len(scope.chunks) < len(own.chunks)
        assert set(scope.chunks.tolist()) <= set(own.chunks.tolist())
        candidates, _ = answerer.ranked(item.question, k=10, scope=scope)
        assert candidates
        assert not any(contains_answer(answerer.sentence_text(c.sentence), item.answers) for c in candidates)
        assert {c.sentence.doc for c in candidates} == set(own.docs)


def test_the_threshold_counts_each_point_by_its_weight() -> None:
    """Near points weigh half an unanswerable question each: the precision reached at a threshold is
    right answers over the weight of all answers given."""
    confidence, right = np.array([0.9, 0.8, 0.7]), np.array([1.0, 0.0, 1.0])
    assert threshold(confidence, right, 0.8) == 0.9  # 2 right of 3 at 0.7: 0.67
    assert threshold(confidence, right, 0.8, np.array([1.0, 0.5, 1.0])) == 0.7  # 2 of 2.5: 0.8


def test_the_hand_written_questions_are_counted_at_the_threshold() -> None:
    """An answerable question counts as served right only when it is answered and its top quote holds the
    answer; an unanswerable one as declined when its confidence is under the threshold."""
    confidence = np.array([0.9, 0.6, 0.2, 0.7, 0.1])
    right = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    answerable = [True, True, True, False, False]
    assert people_report(confidence, right, answerable, 0.5) == {
        "people_answerable": 3,
        "people_right_served": 1,
        "people_answerable_declined": 1,
        "people_unanswerable": 2,
        "people_unanswerable_declined": 1,
    }
    assert people_report(np.array([]), np.array([]), [], 0.5) == {}


def test_the_fitted_confidence_learns_that_a_close_rival_means_doubt() -> None:
    """Points whose top quote is right when it beats its rival: the fitted map weighs the score up and the
    rival down, and its confidences are the map applied to each point (what ReaderConfig computes)."""
    rng = np.random.default_rng(0)
    score, rival = rng.normal(3, 2, 400), rng.normal(2, 2, 400)
    right = (score - rival + rng.normal(0, 1, 400)) > 0.5
    points = [(s, 0.0, bool(r), v, 0.5) for s, r, v in zip(score, right, rival, strict=True)]
    fitted = platt(points, ["rival"])
    assert fitted["slope"] > 0 > fitted["rival"]
    assert set(fitted) == {"slope", "rival", "intercept"}
    z = fitted["slope"] * score + fitted["rival"] * rival + fitted["intercept"]
    assert np.allclose(confidences(points, fitted), 1 / (1 + np.exp(-z)))
    # the score alone separates worse
    alone = confidences(points, platt(points))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(right, confidences(points, fitted)) > roc_auc_score(right, alone)


def test_the_threshold_spread_brackets_the_line_drawn_from_all_points() -> None:
    """Drawn again and again from the same points, the threshold (on the score's scale) spreads around
    the one chosen from all of them, and more questions narrow it."""
    rng = np.random.default_rng(1)

    def points(n: int) -> list[tuple[float, float, bool, float, float]]:
        score = rng.normal(2, 2, n)
        right = rng.random(n) < 1 / (1 + np.exp(-(score - 2)))
        return [(float(s), 0.0, bool(r), 0.0, 0.0) for s, r in zip(score, right, strict=True)]

    few, many = points(300), points(3000)
    spread = threshold_spread([few], [1.0], [], 0.8)
    fitted = platt(few)
    at = threshold(confidences(few, fitted), np.array([p[2] for p in few], dtype=float), 0.8)
    line = (np.log(at / (1 - at)) - fitted["intercept"]) / fitted["slope"]
    assert spread["score_p05"] < line < spread["score_p95"]
    narrow = threshold_spread([many], [1.0], [], 0.8)
    assert narrow["score_p95"] - narrow["score_p05"] < spread["score_p95"] - spread["score_p05"]
    assert threshold_spread([few], [1.0], ["rival"], 0.8) == {}


def test_the_unseen_index_holds_the_fit_articles_alone(seed_settings: Settings, tmp_path: Path) -> None:
    """`--unseen` calibrates over the "fit" articles only: no article of the "train" split is in it."""
    titles = [f"Article {n}" for n in range(40)]
    fit = [t for t in titles if split_of(t) == "fit"][:2]
    train = [t for t in titles if split_of(t) == "train"][:1]
    (tmp_path / "corpus").mkdir()
    (tmp_path / "shards").mkdir()
    with gzip.open(tmp_path / "shards" / "0.jsonl.gz", "wt", encoding="utf-8") as out:
        for title in fit + train:
            body = f"{title}\n\nThe river in {title} floods in spring. Its bridge was built in 1890.\n"
            (tmp_path / "corpus" / f"{title}.txt").write_text(body, encoding="utf-8")
            record = {"id": title, "question": "When was the bridge built?", "answers": ["1890"]}
            out.write(json.dumps({**record, "article": title, "split": split_of(title)}) + "\n")
    shutil.copytree(seed_settings.index_dir / "models", tmp_path / "fit-index" / "models")
    index = open_index(Settings(index_dir=fit_index(tmp_path)), verify=False)
    try:
        assert sorted(row.id for row in index.sources()) == sorted(fit)
    finally:
        index.close()


def test_matching_a_reader_asks_the_precision_its_own_line_reaches() -> None:
    """`--match`: the precision the packaged reader's answers reach at its own threshold on its points;
    asked of those same points, that precision gives back the same threshold."""
    rng = np.random.default_rng(2)
    score = rng.normal(2, 2, 2000)
    right = rng.random(2000) < 1 / (1 + np.exp(-(score - 2)))
    points = [(float(s), 0.0, bool(r), 0.0, 0.0) for s, r in zip(score, right, strict=True)]
    fitted = platt(points)
    confidence = confidences(points, fitted)
    line = threshold(confidence, right.astype(float), 0.8)
    config = ReaderConfig(10, 1.0, 0.0, 0.0, fitted["slope"], fitted["intercept"], line, 0.15)
    weights = np.ones(len(points))
    matched = matched_precision(points, weights, config)
    given = confidence >= line
    assert matched == pytest.approx(right[given].mean())
    assert matched >= 0.8
    assert threshold(confidence, right.astype(float), matched) == pytest.approx(line)
    # a stricter line keeps a higher precision
    stricter = ReaderConfig(10, 1.0, 0.0, 0.0, fitted["slope"], fitted["intercept"], line + 0.2, 0.15)
    assert matched_precision(points, weights, stricter) > matched
