from dataclasses import replace

from tests.test_training_criteria import CONFIG
from training.honesty import Row, at_honesty, confidence, served_right


def test_readers_are_compared_where_they_decline_as_many_unanswerable_questions() -> None:
    rows = [
        Row("seed", True, True, 0.9),
        Row("seed", True, True, 0.4),
        Row("fastapi", True, True, 0.6),
        Row("seed", True, False, 0.7),
        Row("seed", False, False, 0.5),
        Row("seed", False, False, 0.3),
    ]
    one = at_honesty(rows, 1)
    assert one is not None and (one.declined, one.threshold, one.right, one.right_prose) == (1, 0.4, 3, 2)
    two = at_honesty(rows, 2)
    assert two is not None and (two.declined, two.threshold, two.right, two.right_prose) == (2, 0.6, 2, 1)
    assert at_honesty(rows, 3) is None


def test_the_squad_cost_counts_right_quotes_at_the_threshold() -> None:
    rows = [Row("squad", True, True, 0.9), Row("squad", True, True, 0.3), Row("squad", True, False, 0.8)]
    assert served_right(rows, 0.5) == 1 / 3
    assert served_right(rows, 0.2) == 2 / 3
    assert served_right([], 0.5) == 0.0


def test_a_structured_unit_is_read_through_the_runs_docs_map() -> None:
    config = replace(CONFIG, structured_slope=0.5, structured_intercept=-1.0)
    prose = {"confidence": 0.8, "score": 2.0, "structured": False}
    unit = {"confidence": 0.8, "score": 2.0, "structured": True}
    assert confidence(prose, config) == 0.8
    assert confidence(unit, config) == 0.5  # sigmoid(0.5 * 2.0 - 1.0)
    assert confidence(unit, None) == 0.8  # without --docs-map: as stored
    no_map = replace(config, structured_slope=None, structured_intercept=None)
    assert confidence(unit, no_map) == 0.8
