from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from qabot import store
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import Item, load_items
from qabot.models.reader import WEIGHTS_DIR
from training.measure import ask, auc, cited, measure

from .conftest import DOCS, EVAL_DIR


def test_auc_counts_wins_and_half_ties() -> None:
    assert auc([0.9, 0.8], [0.1, 0.8]) == 0.875
    assert auc([], [0.1]) != auc([], [0.1])  # nan: nothing to compare


def test_cited_finds_the_answer_in_a_heading_of_the_path_not_in_part_of_a_word() -> None:
    path = ("Advanced Middleware", "`HTTPSRedirectMiddleware`")
    assert cited(path, ["HTTPSRedirectMiddleware"])
    assert not cited(path, ["GZipMiddleware"])
    assert not cited(path, ["HTTPS"])  # normalised whole words, as the top-1 counts them
    assert not cited((), ["HTTPSRedirectMiddleware"])


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
            assert row["rival"] == answer.quotes[1].score


def test_within_project_asks_only_the_documents_of_the_questions_project(
    seed_settings: Settings, tmp_path: Path
) -> None:
    """Two projects with the same page: asked within its project, every quote comes from that project's
    folder; asked of the whole index, the other project's copy may answer."""
    corpus = tmp_path / "corpus"
    for project in ("alpha", "beta"):
        shutil.copytree(DOCS, corpus / project)
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    shutil.copytree(seed_settings.index_dir / "models", index_dir / "models")
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    store.build(settings)
    answerer = Answerer(store.open_index(settings), min_confidence=0.0)
    item = Item(question="How do I set the Weather API key?", answers=("qabot keys set weather",))
    for project in ("alpha", "beta"):
        answer = ask(answerer, replace(item, source=f"{project}/cli"), within_project=True)
        assert answer.quotes and all(q.source.path.startswith(f"{project}/") for q in answer.quotes)
    everywhere = ask(answerer, replace(item, source="alpha/cli"))
    assert {q.source.path.split("/")[0] for q in everywhere.quotes} == {"alpha", "beta"}
