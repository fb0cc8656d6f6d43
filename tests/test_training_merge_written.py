from __future__ import annotations

from pathlib import Path

from training.merge_written import problem, source_text

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


def test_a_source_is_its_file_whatever_the_suffix(tmp_path: Path) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "Gyumri.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "docs" / "guide" / "install.rst").write_text("Run ``pip install x``.", encoding="utf-8")
    (tmp_path / "docs" / "guide" / "install.html").write_text(
        "<p>not a page we write about</p>", encoding="utf-8"
    )
    (tmp_path / "docs" / "guide" / "install.extra.rst").write_text("another page", encoding="utf-8")
    (tmp_path / "docs" / "two.md").write_text("a", encoding="utf-8")
    (tmp_path / "docs" / "two.rst").write_text("b", encoding="utf-8")
    assert source_text(tmp_path, "news/Gyumri") == TEXT
    assert source_text(tmp_path, "docs/guide/install") == "Run ``pip install x``."
    assert source_text(tmp_path, "docs/two") is None  # which of the two is meant cannot be known
    assert source_text(tmp_path, "docs/guide/missing") is None
    assert source_text(tmp_path, "news/Gyumri [1]") is None
