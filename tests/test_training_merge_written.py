from __future__ import annotations

from training.merge_written import problem

TEXT = "Gyumri hosts the 102nd base. About 3,000 troops serve there."


def item(**changes: object) -> dict[str, object]:
    base = {
        "id": "q1",
        "question": "How many soldiers are stationed at the base?",
        "answers": ["3,000"],
        "sentence": "About 3,000 troops serve there.",
        "source": "Gyumri",
    }
    return {**base, **changes}


def test_a_written_question_passes_only_when_verbatim_in_its_article() -> None:
    assert problem(item(), TEXT) is None
    assert problem(item(answers=[], sentence=None), TEXT) is None
    assert problem(item(sentence="About 3000 troops serve there."), TEXT) == "sentence not verbatim"
    assert problem(item(answers=["3,000", "three thousand"]), TEXT) == "answer not verbatim: 'three thousand'"
    assert problem(item(answers=["102nd"]), TEXT) == "sentence without the first answer"
    assert problem(item(answers=[]), TEXT) == "unanswerable with a sentence"
    assert problem(item(), None) == "no article 'Gyumri'"
    assert problem({**item(), "extra": 1}, TEXT) is not None
