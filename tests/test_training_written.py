from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from qabot import store
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.evaluate import contains_answer
from training.examples import HARD, Corpus, Example
from training.prepare import split_of
from training.written import (
    docs_example,
    example,
    hard_negatives,
    held,
    positive,
    project,
    trainable,
    unanswered_example,
)

from .conftest import DOCS

WEATHER_KEY = {
    "id": "wd-1",
    "question": "where do i put my api token for the weather thing so it's used by default?",
    "answers": ["qabot keys set weather"],
    "sentence": "qabot keys set weather --value sk-12345",
    "source": "cli",
}


@pytest.fixture(scope="module")
def docs_scorer(docs_settings: Settings) -> Iterator[Answerer]:
    """The scorer's answer path over the small docs corpus, as training.written --docs uses it."""
    index = store.open_index(docs_settings)
    yield Answerer(index, mode="scorer")
    index.close()


def corpus_of(seed_settings: Settings, tmp_path: Path) -> Corpus:
    data = tmp_path / "data"
    data.mkdir()
    (data / "corpus").symlink_to(seed_settings.corpus_dir.resolve())
    (data / "index").symlink_to(seed_settings.index_dir.resolve())
    return Corpus(data)


def test_a_written_question_trains_on_the_sentence_the_helper_quoted(
    answerer: Answerer, seed_settings: Settings, tmp_path: Path
) -> None:
    """The positive is the index's sentence holding the answer inside the quoted sentence (not its first
    mention elsewhere), the span marks the answer in it, and no negative holds a gold answer."""
    corpus = corpus_of(seed_settings, tmp_path)
    doc = "armenia-invites-more-russian-troops"
    text = corpus.text(doc)
    mentions = [i for i in range(len(text)) if text.startswith("Gyumri", i)]
    assert len(mentions) >= 2
    start, end = corpus.holder(doc, mentions[-1], mentions[-1] + 6) or (0, 0)
    quoted = text[start:end].strip()
    item = {
        "id": "w-1",
        "question": "Where is the Russian base in Armenia located?",
        "answers": ["Gyumri"],
        "sentence": quoted,
        "source": doc,
    }
    place = positive(item, corpus)
    assert place is not None and place[:2] == (start, end)
    ex = example(item, corpus, answerer)
    assert ex is not None
    assert ex.positive == text[start:end]
    assert ex.positive[ex.answer[0] : ex.answer[1]] == "Gyumri"
    assert len(ex.negatives) == HARD and len(ex.contexts) == HARD + 1
    assert not any(contains_answer(n, item["answers"]) for n in ex.negatives)


def test_a_written_question_with_near_also_trains_on_its_article_without_the_answer(
    answerer: Answerer, seed_settings: Settings, tmp_path: Path
) -> None:
    corpus = corpus_of(seed_settings, tmp_path)
    doc = "armenia-invites-more-russian-troops"
    text = corpus.text(doc)
    at = text.index("Gyumri")
    start, end = corpus.holder(doc, at, at + 6) or (0, 0)
    item = {
        "id": "w-2",
        "question": "Where is the Russian base in Armenia located?",
        "answers": ["Gyumri"],
        "sentence": text[start:end].strip(),
        "source": doc,
    }
    plain = example(item, corpus, answerer)
    ex = example(item, corpus, answerer, near_n=3)
    assert plain is not None and ex is not None
    assert plain.absent == () and (ex.positive, ex.negatives) == (plain.positive, plain.negatives)
    assert len(ex.absent) == 3 and len(ex.absent_contexts) == 3
    assert all(a in text and "Gyumri" not in a for a in ex.absent)
    lone = unanswered_example({**item, "answers": [], "sentence": None}, answerer, 3)
    assert lone is not None and lone.positive == "" and len(lone.absent) == 3
    assert all(a in text for a in lone.absent)


def test_a_sentence_not_in_the_article_or_without_the_answer_gives_no_group(
    answerer: Answerer, seed_settings: Settings, tmp_path: Path
) -> None:
    corpus = corpus_of(seed_settings, tmp_path)
    item = {
        "question": "q",
        "answers": ["Gyumri"],
        "sentence": "Not in the article.",
        "source": "armenia-invites-more-russian-troops",
    }
    assert positive(item, corpus) is None
    text = corpus.text(item["source"])
    first = text.split(".")[0]
    assert "Gyumri" not in first
    assert positive({**item, "sentence": first}, corpus) is None


def test_a_written_question_about_a_docs_page_trains_on_the_unit_that_quotes_the_snippet(
    docs_scorer: Answerer,
) -> None:
    """A snippet from a code block makes the unit qabot quotes (its introducing sentence with the block)
    the positive, with the answer marked in it; a heading holding the answer gives no group."""
    item = WEATHER_KEY
    ex = docs_example(item, docs_scorer)
    assert ex is not None
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert ex.positive.startswith("To set the default key") and ex.positive in cli
    assert ex.positive[ex.answer[0] : ex.answer[1]] == "qabot keys set weather"
    assert len(ex.negatives) == HARD and len(ex.contexts) == HARD + 1
    assert not any(contains_answer(n, item["answers"]) for n in ex.negatives)
    heading = {**item, "answers": ["Setting the key"], "sentence": "## Setting the key"}
    assert docs_example(heading, docs_scorer) is None
    assert docs_example({**item, "source": "no-such-page"}, docs_scorer) is None
    assert ex.absent == () and ex.absent_contexts == ()
    # with --near: units of the same page that hold no gold answer, read as the reader reads them
    near = docs_example(item, docs_scorer, near_n=2)
    assert near is not None and near.negatives == ex.negatives
    assert len(near.absent) == 2 and len(near.absent_contexts) == 2
    # and as a reader trained with section paths reads them: each unit's page title and headings
    assert len(ex.sections) == HARD + 1
    assert ex.sections[0] == "The qabot command line › Command line › Setting the key"
    assert len(near.absent_sections) == 2 and all(p.startswith("The qabot") for p in near.absent_sections)
    assert all(a in cli and a != ex.positive for a in near.absent)
    assert not any(contains_answer(a, item["answers"]) for a in near.absent)


def test_a_docs_question_s_negatives_come_from_its_own_project(docs_scorer: Answerer) -> None:
    """A question is asked of its project's pages, so its hard negatives are drawn there (a page outside
    any folder is its own project's whole index, as the test corpus is flat)."""
    assert project("celery/userguide/tasks") == "celery" and project("cli") is None
    index = docs_scorer.index
    cli = index.scope(sources=["cli"])
    rows = hard_negatives(docs_scorer, WEATHER_KEY["question"], WEATHER_KEY["answers"], lambda s: False, cli)
    assert rows is not None and {r.doc for r in rows} == set(cli.docs)
    whole = hard_negatives(docs_scorer, WEATHER_KEY["question"], WEATHER_KEY["answers"], lambda s: False)
    assert whole is not None and {r.doc for r in whole} != set(cli.docs)  # elsewhere, other pages come in


def test_training_reads_the_contexts_of_the_way_it_was_asked_to(docs_scorer: Answerer) -> None:
    """--sections: docs units with their section paths, prose alone; --context: prose with its title and
    previous unit, docs units alone; both: each its own."""
    from training.train import read_with

    docs = docs_example(WEATHER_KEY, docs_scorer, near_n=2)
    assert docs is not None
    n = HARD + 1
    prose = Example("p", "q?", ("a",), "A.", (0, 1), ("B.",) * HARD, ("C.",), ("T [SEP] Z.",) * n, ("T",))
    for ex in (docs, prose):
        assert read_with(ex, prose=True, sections=False).contexts == ex.contexts
    assert docs.contexts == ("",) * n  # a docs unit is never read with its previous unit
    sections = read_with(docs, prose=False, sections=True)
    assert sections.contexts == docs.sections and sections.absent_contexts == docs.absent_sections
    assert all(sections.contexts) and all(sections.absent_contexts)
    assert read_with(prose, prose=False, sections=True).contexts == ("",) * n
    assert read_with(prose, prose=True, sections=True).contexts == prose.contexts
    assert read_with(docs, prose=True, sections=True).contexts == docs.sections


def test_questions_about_the_articles_calibration_is_fitted_on_bring_no_group() -> None:
    titles = ("Copper", "London", "Greeks", "Paper")
    items = [{"id": str(n), "source": title} for n, title in enumerate(titles)]
    kept = [i["source"] for i in trainable(items)]
    assert kept == ["London", "Paper"]
    assert all(split_of(title) == "fit" for title in ("Copper", "Greeks"))


def test_a_quarter_of_the_docs_pages_are_held_out_and_always_the_same() -> None:
    pages = [f"project/page-{n}" for n in range(400)]
    kept = [p for p in pages if held(p)]
    assert 0.18 < len(kept) / len(pages) < 0.32
    assert kept == [p for p in pages if held(p)]


def test_a_question_its_docs_page_does_not_answer_brings_only_a_group_without_an_answer(
    docs_scorer: Answerer,
) -> None:
    """Its page's best units for the question, no positive; and train.step_loss trains on that group
    alone, with a group that has a positive beside it in the same batch."""
    from training.model import Reader, load_encoder
    from training.train import model_path, step_loss, tokenizer

    item = {"id": "wd-u", "question": "can the weather key be rotated automatically?", "answers": []}
    lone = unanswered_example({**item, "source": "cli"}, docs_scorer, 3)
    assert lone is not None and lone.positive == "" and lone.negatives == ()
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert 1 <= len(lone.absent) <= 3 and all(a in cli for a in lone.absent)
    assert len(lone.absent_contexts) == len(lone.absent) == len(lone.absent_sections)
    assert unanswered_example({**item, "source": "no-such-page"}, docs_scorer, 3) is None
    ex = docs_example(WEATHER_KEY, docs_scorer)
    assert ex is not None
    torch.manual_seed(0)
    model = Reader(load_encoder(model_path(), 2))
    loss, parts = step_loss(model, tokenizer(64), [lone])
    assert torch.isfinite(loss) and parts["span"] == 0.0
    loss.backward()
    assert model.relevance.weight.grad is not None and model.relevance.weight.grad.abs().sum() > 0
    both, _ = step_loss(model, tokenizer(64), [ex, lone])
    assert torch.isfinite(both)
