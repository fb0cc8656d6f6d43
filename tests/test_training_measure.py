from __future__ import annotations

from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import load_items
from qabot.models.reader import WEIGHTS_DIR
from training.measure import auc, measure

from .conftest import EVAL_DIR


def test_auc_counts_wins_and_half_ties() -> None:
    assert auc([0.9, 0.8], [0.1, 0.8]) == 0.875
    assert auc([], [0.1]) != auc([], [0.1])  # nan: nothing to compare


def test_as_served_is_what_qabot_answers(seed_settings: Settings, answerer: Answerer) -> None:
    """One pass with abstention off, the threshold applied afterwards: the same questions answered as
    by qabot itself with its threshold."""
    questions = EVAL_DIR / "seed_questions.jsonl"
    rows = measure(seed_settings.index_dir, questions, WEIGHTS_DIR, limit=12)["rows"]
    by_id = {i.id: i for i in load_items(questions)}
    for row in rows:
        answer = answerer.answer(by_id[row["id"]].question, 3)
        assert row["served"] == answer.answered
        if len(answer.quotes) > 1:
            assert row["second"] == answer.quotes[1].confidence
