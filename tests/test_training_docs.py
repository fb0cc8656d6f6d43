"""Reader groups from documentation headings (training/docs.py), on the small docs corpus of test_docs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qabot.config import Settings
from training.docs import asked, docs_member, examples, topic, with_sections

from .conftest import DOCS


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Setting the key", True),
        ("How do I skip a test?", True),
        ("Can I change the interval of a periodic task at runtime?", True),
        ("Requirements File Format", False),  # a noun heading: its first unit seldom answers it
        ("Logging", False),  # too short to stand as a question
        ("0.135.0", False),
        ("app.add_middleware(cls, **options)", False),  # an identifier, not a topic
        ("`app.state` and `request.state`", False),  # one plain word
    ],
)
def test_a_heading_is_a_question_when_it_names_a_task_in_words(heading: str, expected: bool) -> None:
    assert topic(heading) is expected


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Registering custom markers", "how do I register custom markers?"),
        ("Using Transient Queues", "how do I use transient queues?"),  # Title Case read as words
        ("Routing requests", "how do I route requests?"),  # not "rout"
        ("How to set up bash completion", "how do I set up bash completion?"),
        ("Using a FieldListFilter", "how do I use a FieldListFilter?"),  # a name keeps its case
        ("String formatting", None),  # not a gerund
        ("Does Django scale?", None),  # already a question
    ],
)
def test_a_task_heading_is_also_asked_as_a_help_channel_asks(heading: str, expected: str | None) -> None:
    assert asked(heading) == expected


def test_docs_folders_are_kept_without_release_notes_or_other_files() -> None:
    assert docs_member("flask-3.1.3/docs/patterns/celery.rst") == "patterns/celery.rst"
    assert docs_member("django-5.2.19/docs/topics/http/middleware.txt") == "topics/http/middleware.txt"
    assert docs_member("django-5.2.19/docs/releases/5.2.txt") is None
    assert docs_member("flask-3.1.3/docs/changes.rst") is None
    assert docs_member("flask-3.1.3/src/flask/app.py") is None
    assert docs_member("flask-3.1.3/README.md") is None


def test_a_group_asks_a_heading_and_answers_with_the_unit_under_it(docs_settings: Settings) -> None:
    settings = docs_settings
    groups = {g.question: g for g in examples(settings, how_to=True)}
    group = groups["Setting the key"]
    how = groups["how do I set the key?"]  # the same section, asked as a person asks
    assert how.positive == group.positive and how.id == f"{group.id}-how"
    assert groups.keys() == {g.question for g in examples(settings)} | {
        q for q in groups if q.startswith("how do I")
    }
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    under = cli[cli.index("## Setting the key") :]
    assert group.positive in under and group.positive in cli
    assert group.answer == (0, 0)  # no span: a heading names a topic, not an answer's words
    assert len(group.negatives) == 3 and group.positive not in group.negatives
    # read, by a reader trained with section paths, under its own heading (the question itself)
    assert len(group.sections) == 4 and group.sections[0].endswith("› Setting the key")
    following = under[: under.index("\n## ", 1)]  # the section's own text: never a negative
    assert not any(n in following for n in group.negatives)


def test_groups_written_before_section_paths_get_them_from_the_index(docs_settings: Settings) -> None:
    groups = examples(docs_settings)
    bare = [replace(g, sections=(), absent_sections=()) for g in groups]
    added, missing = with_sections(bare, docs_settings)
    assert missing == 0 and [g.sections for g in added] == [g.sections for g in groups]
    assert all(len(g.sections) == 1 + len(g.negatives) for g in added)
