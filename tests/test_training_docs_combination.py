"""A docs combination fitted and judged on read heads (training/docs_combination.py)."""

from __future__ import annotations

import json
from pathlib import Path

from qabot.config import Settings
from qabot.models.reader import WEIGHTS_DIR, OnnxReader
from training.docs_combination import fit, read_heads, top_k


def test_the_heads_are_read_as_the_answer_path_reads_them(docs_settings: Settings, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    items = [
        {"id": "1", "question": "how do I set the weather key?", "answers": ["qabot keys set weather"]},
        {"id": "2", "question": "which level does logging default to?", "answers": ["`warning`"]},
        {"id": "3", "question": "who wrote it?", "answers": []},  # unanswerable: not read
    ]
    questions.write_text("".join(json.dumps(i) + "\n" for i in items))
    rows = read_heads(docs_settings.index_dir, questions, OnnxReader(WEIGHTS_DIR))
    assert [r["id"] for r in rows] == ["1", "2"]
    for r in rows:
        assert len(r["reader"]) == len(r["scorer"]) == len(r["holds"]) > 0
        assert r["scorer"] == sorted(r["scorer"], reverse=True)  # the scorer's order
        assert any(r["holds"])


def test_the_fitted_weights_follow_the_feature_that_finds_the_answer() -> None:
    """Here the reader's logit marks the answer and the scorer's order never puts it first."""
    rows = [
        {"project": "p", "reader": [0.0, 2.0, 0.5], "scorer": [3.0, 2.0, 1.0], "holds": [False, True, False]},
        {"project": "p", "reader": [0.1, 0.0, 1.5], "scorer": [3.0, 2.0, 1.0], "holds": [False, False, True]},
    ]
    assert top_k(rows, [0, 1, 0], 3) == 0.0
    assert top_k(rows, [1, 0, 0], 3) == 1.0
    assert top_k(rows, fit(rows, 3), 3) == 1.0
    assert top_k(rows, [0, 1, 0], 3, k=3) == 1.0
