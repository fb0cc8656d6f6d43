"""`training.train --keep`: the squared-error term that keeps a frozen reader's relevance logits."""

from __future__ import annotations

import copy

import pytest
import torch

from training.examples import Example
from training.model import Reader, load_encoder
from training.train import Keep, model_path, step_loss, tokenizer


def _example(id: str, absent: tuple[str, ...] = ()) -> Example:
    positive = "The base in Gyumri hosts about 3,000 soldiers."
    at = positive.index("3,000")
    return Example(
        id,
        "How many soldiers are at the base?",
        ("3,000",),
        positive,
        (at, at + 5),
        ("Gyumri is a city in Armenia.", "The treaty was signed in 1995."),
        absent=absent,
    )


@pytest.fixture(scope="module")
def reader() -> Reader:
    torch.manual_seed(0)
    return Reader(load_encoder(model_path(), layers=1)).eval()


def test_the_keep_term_is_the_squared_drift_on_kept_questions_only(reader: Reader) -> None:
    """Zero while the reader is the teacher; a shift of every logit by 1 costs exactly 1 on the kept
    questions' pairs (their groups without an answer included); the other questions' pairs never count."""
    tok = tokenizer(64)
    group = [_example("squad-1", absent=("Yerevan is the capital.",)), _example("docs-1")]
    teacher = copy.deepcopy(reader)
    kept = Keep(teacher, lambda ex: ex.id.startswith("squad"), 0.1)
    with torch.no_grad():
        plain, parts = step_loss(reader, tok, group)
        assert "keep" not in parts
        same, parts = step_loss(reader, tok, group, keep=kept)
        assert parts["keep"] == pytest.approx(0.0, abs=1e-6)
        assert float(same) == pytest.approx(float(plain), abs=1e-5)
        moved = copy.deepcopy(reader)
        moved.relevance.bias += 1.0
        _, parts = step_loss(moved, tok, group, keep=kept)
        assert parts["keep"] == pytest.approx(1.0, abs=1e-4)
        _, parts = step_loss(moved, tok, group, keep=Keep(teacher, lambda ex: False, 0.1))
        assert parts["keep"] == 0.0
