from __future__ import annotations

import gzip
import json
from dataclasses import asdict
from pathlib import Path

from qabot.answer import Answerer
from qabot.config import Settings
from training.examples import Corpus, Example, blanked, load_groups, with_history


def _example(positive: str, answer: str, answers: tuple[str, ...] = ()) -> Example:
    at = positive.index(answer)
    return Example(
        "q1",
        "Who is the Russian ambassador to Armenia?",
        answers or (answer,),
        positive,
        (at, at + len(answer)),
        ("A wrong sentence.",),
    )


def test_blanked_cuts_the_answer_out_and_mends_the_punctuation() -> None:
    ex = _example(
        "In an interview, Sergei Kopyrkin, the Russian ambassador to Armenia, praised the alliance.",
        "Sergei Kopyrkin",
    )
    assert blanked(ex) == "In an interview, the Russian ambassador to Armenia, praised the alliance."


def test_blanked_refuses_a_sentence_that_still_answers_or_is_too_short() -> None:
    twice = _example("Kopyrkin said it, and Kopyrkin repeated it in Yerevan on Monday.", "Kopyrkin")
    assert blanked(twice) is None  # the answer's second occurrence still answers
    other = _example(
        "Kopyrkin, Russia's envoy, also called Sergei, spoke on Monday in Yerevan.",
        "Kopyrkin",
        ("Kopyrkin", "Sergei"),
    )
    assert blanked(other) is None  # another gold answer is still there
    assert blanked(_example("It was Kopyrkin.", "Kopyrkin")) is None


def test_groups_written_whole_load_back_as_examples(tmp_path: Path) -> None:
    group = Example("docs-1", "Setting the key", (), "Run this: qabot keys set", (0, 0), ("a", "b", "c"))
    path = tmp_path / "examples.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as sink:
        sink.write(json.dumps(asdict(group)) + "\n")
    assert load_groups(path) == [group]


def test_with_history_asks_a_share_after_another_question_of_the_same_article() -> None:
    def ex(i: int) -> Example:
        return Example(f"q{i}", f"Question {i}?", ("a",), "a b", (0, 1), ("c",))

    groups = [ex(i) for i in range(200)]
    article_of = {f"q{i}": "Armenia" if i % 2 else "Russia" for i in range(200)}
    asked = with_history(groups, article_of, 0.3)
    changed = [(old, new) for old, new in zip(groups, asked, strict=True) if new != old]
    assert 30 < len(changed) < 90  # about the share asked for
    for old, new in changed:
        previous, last = new.question.rsplit(" ", 2)[0], " ".join(new.question.split()[-2:])
        assert last == old.question and previous != old.question  # the last question is still the one
        number = int(previous.split()[1].rstrip("?"))
        assert article_of[f"q{number}"] == article_of[old.id]  # asked after one of its own article
        assert (new.positive, new.answer, new.negatives) == (old.positive, old.answer, old.negatives)
    assert with_history(groups, article_of, 0.3) == asked  # the same draw on every run


def test_training_reads_each_sentence_with_the_context_the_answer_path_reads(
    answerer: Answerer, seed_settings: Settings, tmp_path: Path
) -> None:
    """A reader trained with context must meet, when serving, the very context it was trained with."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "corpus").symlink_to(seed_settings.corpus_dir.resolve())
    (data / "index").symlink_to(seed_settings.index_dir.resolve())
    corpus = Corpus(data)
    index = answerer.index
    rows = index.sentences(0, 60)
    served = answerer.contexts(rows)
    trained = [corpus.context(index.document(r.doc).id, r.start) for r in rows]
    assert trained == served
    first = next(i for i, r in enumerate(rows) if i == 0 or rows[i - 1].doc != r.doc)
    assert served[first] == index.document(rows[first].doc).title  # nothing before a document's start
    later = next(i for i, r in enumerate(rows) if i > first + 2 and rows[i - 1].doc == r.doc)
    previous = answerer.sentence_text(rows[later - 1])
    assert served[later].endswith(previous.strip())
