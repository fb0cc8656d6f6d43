"""News-aware answers: dates, filters, timelines and syndicated duplicates."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from qabot import store
from qabot.answer import Answerer, Candidate, QuestionError, parse_filters, wants_timeline
from qabot.cli import main
from qabot.config import Settings
from qabot.corpus import _iso_date, date_from_text, text_document


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2023-12-28", "2023-12-28"),
        ("23 February 2021", "2021-02-23"),
        ("Oct. 5, 2023", "2023-10-05"),
        ("October 31, 2023", "2023-10-31"),
        ("2023-10-31T10:00:00", "2023-10-31"),
        ("yesterday", None),
    ],
)
def test_dates_are_normalised_to_iso(value: str, iso: str | None) -> None:
    assert _iso_date(value) == iso


def test_date_lines_in_the_text_date_a_document_without_front_matter() -> None:
    assert date_from_text(" date 2023-12-28 Russia Considers Armenia a Strategic Ally") == "2023-12-28"
    assert date_from_text("Date: 23 February 2021\n\nArmenia Invites More Russian Troops") == "2021-02-23"
    assert date_from_text("An article that never states its date.") is None
    doc = text_document("Date: 23 February 2021\n\nHeadline\n\nBody text.", "a.txt")
    assert doc is not None and doc.date == "2021-02-23"
    dated = text_document("---\ndate: 2020-01-02\n---\nDate: 23 February 2021\n\nBody.", "b.md")
    assert dated is not None and dated.date == "2020-01-02"  # front matter wins


def test_a_blog_posts_date_is_read_from_its_file_or_folder_name() -> None:
    """Jekyll and Docusaurus name posts by their date; front matter and a date line still win, and a name
    that only looks like a date is not one."""
    dates = {
        "_posts/2019-05-28-first-blog-post.md": "2019-05-28",
        "blog/2021-08-26-welcome/index.mdx": "2021-08-26",
        "blog/2020-01-02.md": "2020-01-02",
        "notes/2019-13-45-not-a-date.md": None,
        "docs/v2024-01-01-notes.md": None,
    }
    for path, date in dates.items():
        doc = text_document("# Post\n\nBody text.", path)
        assert doc is not None and doc.date == date, path
    dated = text_document("---\ndate: 2020-01-02\n---\n# Post\n\nBody.", "blog/2021-08-26-welcome.md")
    assert dated is not None and dated.date == "2020-01-02"
    # an article's own date line wins over a name that may be the day it was saved
    saved = text_document("Date: 23 February 2021\n\nHeadline\n\nBody.", "news/2024-01-15_reuters-123.txt")
    assert saved is not None and saved.date == "2021-02-23"


def test_filters_parse_partial_dates_and_reject_bad_ranges() -> None:
    assert parse_filters("2023", "2023-02", ["x "]).__dict__ == {
        "since": "2023-01-01",
        "until": "2023-02-28",
        "sources": ("x",),
    }
    with pytest.raises(QuestionError, match="is not a date"):
        parse_filters("last week", None)
    with pytest.raises(QuestionError, match="range is empty"):
        parse_filters("2024", "2023-06-30")


def test_since_limits_quotes_to_dated_documents_in_range(answerer: Answerer) -> None:
    answer = answerer.answer(
        "Who is the Russian ambassador to Armenia?", 3, filters=parse_filters("2023-11-01")
    )
    assert answer.quotes
    assert all(q.source.date and q.source.date >= "2023-11-01" for q in answer.quotes)


def test_source_filter_and_no_match_error(answerer: Answerer) -> None:
    only = parse_filters(sources=["armenia-invites-more-russian-troops"])
    ranked = answerer.search("Russian troops", 5, filters=only)
    assert [d.source.id for d in ranked] == ["armenia-invites-more-russian-troops"]
    with pytest.raises(QuestionError, match="no documents match"):
        answerer.answer("Anything?", filters=parse_filters("2030"))


def test_timeline_is_chronological_with_one_quote_per_document(answerer: Answerer) -> None:
    assert wants_timeline("How have relations between Russia and Armenia changed?")
    assert not wants_timeline("Who is the Russian ambassador to Armenia?")
    answer = answerer.answer("How have relations between Russia and Armenia changed?", 4)
    assert answer.timeline and len(answer.quotes) >= 2
    docs = [q.source.id for q in answer.quotes]
    assert len(set(docs)) == len(docs)
    dates = [q.source.date for q in answer.quotes if q.source.date]
    assert dates == sorted(dates)
    assert [q.source.date is None for q in answer.quotes] == sorted(
        q.source.date is None for q in answer.quotes
    )


def test_cli_filters_and_timeline_flags(seed_settings: Settings) -> None:
    options = ["--corpus", str(seed_settings.corpus_dir), "--index", str(seed_settings.index_dir)]
    result = CliRunner().invoke(
        main, ["ask", *options, "Where are Russian troops?", "--timeline", "--until", "2022", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert all(q["source"]["date"] <= "2022-12-31" for q in data["quotes"])
    bad = CliRunner().invoke(main, ["search", *options, "troops", "--since", "2024", "--until", "2023"])
    assert bad.exit_code == 1 and "range is empty" in bad.output


def test_syndicated_copies_collapse_into_one_citation(fresh_index: Settings) -> None:
    original = fresh_index.corpus_dir / "armenian-pm-sees-no-advantage-in-russian-troops.txt"
    shutil.copy(original, fresh_index.corpus_dir / "syndicated-copy.txt")
    store.build(fresh_index)
    index = store.open_index(fresh_index)
    answer = Answerer(index).answer("How many Russian troops does Armenia host?", 3)
    top = answer.quotes[0]
    assert "10,000" in top.text
    ids = {top.source.id, *(s.id for s in top.also)}
    assert ids == {"armenian-pm-sees-no-advantage-in-russian-troops", "syndicated-copy"}
    assert len({q.text for q in answer.quotes}) == len(answer.quotes)
    index.close()


def test_a_sentence_in_a_whole_book_page_is_cited_by_its_own_page(fresh_index: Settings) -> None:
    """A docs site's print.html (mdBook) or all.html (Node.js) holds every page: a quote found in both is
    cited by the page, whichever copy scored better, and the book is "also in"."""
    pages = sorted(fresh_index.corpus_dir.glob("*.txt"))
    book = "\n\n".join(p.read_text(encoding="utf-8") for p in pages)
    (fresh_index.corpus_dir / "print.txt").write_text(book, encoding="utf-8")
    lead = next(line for line in book.splitlines() if "approximately 10,000 Russian troops" in line)
    other = "The ministry gave no further details on the matter, and officials declined to comment."
    (fresh_index.corpus_dir / "brief.txt").write_text(f"In brief\n\n{other}\n\n{lead}\n\n{other}\n")
    store.build(fresh_index)
    index = store.open_index(fresh_index)
    rows = index.sentences(0, len(index.sentence_vectors) - 1)
    wanted = "Armenia currently hosts approximately 10,000 Russian troops"
    copies = {}
    for row in rows:
        doc = index.document(row.doc)
        if doc.text[row.start : row.end].startswith(wanted):
            copies.setdefault(doc.id, row)
    assert "print" in copies and len(copies) >= 2
    page = next(doc for doc in copies if doc != "print")
    answerer = Answerer(index)
    candidates = [Candidate(copies["print"], 2.0, answer=(copies["print"].start, copies["print"].start + 6))]
    candidates.append(Candidate(copies[page], 1.0))
    (quote,) = answerer._distinct(candidates, 3)
    assert quote.source.id == page and "print" in {s.id for s in quote.also}
    assert quote.start == copies[page].start and quote.score == 2.0
    assert quote.text == index.document(copies[page].doc).text[quote.start : quote.end]
    assert quote.answer == (quote.start, quote.start + 6)
    # the other way round nothing moves: the page stays, the book is "also in"
    (quote,) = answerer._distinct(candidates[::-1], 3)
    assert quote.source.id == page and "print" in {s.id for s in quote.also}
    # a short page that says the same sentence among other words is not the page of that passage
    brief = copies["brief"]
    (quote,) = answerer._distinct([Candidate(copies[page], 2.0), Candidate(brief, 1.0)], 3)
    assert quote.source.id == page and "brief" in {s.id for s in quote.also}
    index.close()


def test_citations_show_the_date(seed_settings: Settings) -> None:
    options = ["--corpus", str(seed_settings.corpus_dir), "--index", str(seed_settings.index_dir)]
    out = CliRunner().invoke(main, ["ask", *options, "How many Russian troops does Armenia host?", "-k", "1"])
    assert "(as of 2023-10-31)" in out.output
