"""The docs confidence map: fitted on measured docs rows, honest on them, answered at prose's probability."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from qabot.models.reader import ReaderConfig
from training.docs_confidence import as_before, check, docs_points, fit, old_map, with_docs_map

PROSE = ReaderConfig(10, 0.8, 0.35, 0.55, slope=0.85, intercept=-3.0, answer_at=0.28, close_at=0.15)


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def rows_from(slope: float, intercept: float, n: int = 3000) -> list[tuple[float, float, float, str]]:
    """Docs points whose top quote holds the answer with probability sigmoid(slope * score + intercept)."""
    rng = random.Random(0)
    out = []
    for i in range(n):
        score = rng.uniform(-2.0, 8.0)
        out.append((score, 0.0, float(rng.random() < sigmoid(slope * score + intercept)), f"p{i % 10}"))
    return out


def test_docs_quotes_are_answered_at_the_same_probability_as_prose() -> None:
    kept = dataclasses.replace(PROSE, structured_answer_at=0.2, structured_close_at=0.1)
    config = with_docs_map(kept, 0.3, -1.8)
    assert config.floors(True) == config.floors(False) == PROSE.floors(False)
    for score in [x / 10 for x in range(-40, 100)]:
        shown = config.confidence(score, structured=True)
        assert shown == pytest.approx(sigmoid(0.3 * score - 1.8))
        assert (shown >= config.floors(True)[0]) == (sigmoid(0.3 * score - 1.8) >= PROSE.answer_at), score
    assert config.confidence(3.0) == PROSE.confidence(3.0)  # prose keeps its map


def test_fitted_on_docs_rows_the_label_matches_the_rate() -> None:
    points = rows_from(0.3, -1.8)
    fitted = fit(points, PROSE)
    assert fitted.structured_slope == pytest.approx(0.3, abs=0.06)
    before, after = check(points, as_before(PROSE)), check(points, fitted)
    assert after["calibration_error"] < 0.03 < 0.1 < before["calibration_error"]
    # at prose's threshold on an honest map, fewer quotes pass than on prose's overconfident one
    assert 0 < after["answered"] < before["answered"]
    assert abs(after["answered_mean_confidence"] - after["answered_right"]) < 0.03


def test_only_rows_whose_top_quote_is_a_docs_unit_with_a_score_count() -> None:
    rows = [
        {"id": "a", "hit1": True, "score": 2.5, "structured": True},
        {"id": "b", "hit1": False, "score": 1.0, "structured": False},
        {"id": "c", "hit1": False, "score": None, "structured": True},
        {"id": "d", "hit1": False, "score": 0.5},
    ]
    assert docs_points(rows, {"a": "flask/quickstart"}) == [(2.5, 0.0, 1.0, "flask")]


def test_a_prose_map_reading_more_than_the_score_cannot_be_carried_over() -> None:
    with pytest.raises(ValueError):
        old_map(dataclasses.replace(PROSE, rival_weight=-0.5))
    own = dataclasses.replace(PROSE, rival_weight=-0.5, structured_slope=0.4, structured_intercept=-2.0)
    assert old_map(own) == (0.4, -2.0)
