"""AsciiDoc read with its structure (qabot.asciidoc, through qabot.markup and qabot.text.split), and shown
as its page shows it."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from qabot import discord_render, markup, render, store
from qabot.answer import Answer, Answerer
from qabot.asciidoc import marked, shown
from qabot.config import Settings
from qabot.evaluate import QuoteChecker
from qabot.text import INTRO, SENTENCE, split

from .conftest import ROOT

GIT = ROOT / "eval" / "corpora" / "git" / "docs"

# Git's own layout: a two-line title, sections underlined, a [verse] synopsis, labelled lists with `+`
# continuations, a listing block attached to an item, `include::` and `ifdef::` lines, a table
PAGE = """git-stash(1)
============

NAME
----
git-stash - Stash the changes in a dirty working directory away

SYNOPSIS
--------
[verse]
'git stash' list [<log-options>]
'git stash' drop [-q | --quiet] [<stash>]

OPTIONS
-------

-k::
--keep-index::
\tAll changes already added to the index are left intact.

pop [--index] [<stash>]::

\tRemove a single stashed state from the stash list.
+
Applying the state can fail with conflicts.

include::diff-options.txt[]

Testing partial commits::
+
You can use `git stash push --keep-index` to test each part:
+
----------------------------------------------------------------
$ git add --patch foo
$ git stash push --keep-index
----------------------------------------------------------------

[[tables]]
== Limits

.Sizes
|===
| entries | 1000
|===
"""


def units(text: str, path: str = "git-stash.adoc") -> list[tuple[str, str, tuple[str, ...]]]:
    return [(u.kind, text[u.start : u.end], u.section) for u in split(text, path)]


def test_git_s_pages_are_read_as_asciidoc_and_plain_text_is_not() -> None:
    assert markup.syntax_of("git-stash.txt", PAGE) == markup.ASCIIDOC
    assert markup.syntax_of("page.adoc", "Just text.") == markup.ASCIIDOC
    assert markup.syntax_of("notes.txt", "A note.\n\nNAME\n----\nplain text, a rule line\n") == markup.PLAIN
    assert marked((GIT / "git-rebase.txt").read_text(encoding="utf-8"))


def test_titles_sections_and_blocks() -> None:
    found = units(PAGE)
    section = ("git-stash(1)", "OPTIONS")
    assert ("heading", "git-stash(1)", ()) in found
    assert ("heading", "SYNOPSIS", ("git-stash(1)",)) in found
    assert (
        "code",
        "'git stash' list [<log-options>]\n'git stash' drop [-q | --quiet] [<stash>]",
        ("git-stash(1)", "SYNOPSIS"),
    ) in found  # a [verse] paragraph keeps its lines
    # a term is read with its description, after a blank line too
    assert (
        SENTENCE,
        "-k::\n--keep-index::\n\tAll changes already added to the index are left intact.",
        section,
    ) in found
    assert (
        SENTENCE,
        "pop [--index] [<stash>]::\n\n\tRemove a single stashed state from the stash list.",
        section,
    ) in found
    # the listing block after a `+` is the item's, introduced by the sentence before it, under its term
    intro = [text for kind, text, _ in found if kind == INTRO]
    assert intro == [
        "Testing partial commits::\n+\nYou can use `git stash push --keep-index` to test each part:\n+\n"
        "----------------------------------------------------------------\n$ git add --patch foo\n"
        "$ git stash push --keep-index\n----------------------------------------------------------------"
    ]
    # a one-line title without its anchor, a table, and no unit of `include::`, `[[tables]]` or `.Sizes`
    assert ("heading", "Limits", ("git-stash(1)",)) in found
    assert ("table", "|===\n| entries | 1000\n|===", ("git-stash(1)", "Limits")) in found
    assert not [t for _, t, _ in found if t.startswith(("include::", "[[", ".Sizes", "+"))]


def test_a_quote_is_shown_without_asciidoc_s_lines_and_with_its_code() -> None:
    quote = units(PAGE)
    intro = next(text for kind, text, _ in quote if kind == INTRO)
    pieces = markup.pieces(intro, syntax=markup.ASCIIDOC)
    assert [(p.code, p.text) for p in pieces] == [
        (False, "Testing partial commits::\nYou can use `git stash push --keep-index` to test each part:"),
        (True, "$ git add --patch foo\n$ git stash push --keep-index"),
    ]
    described = "-k::\n--keep-index::\n\tAll changes already added to the index are left intact."
    assert markup.as_page(described, markup.ASCIIDOC) == (
        "-k::\n--keep-index::\nAll changes already added to the index are left intact."
    )
    # a `+` line is not shown; the answer's marks stay on its words
    marked_page = markup.as_page("A.\n+\nB.", markup.ASCIIDOC, marked=(0, 7))
    assert marked_page.replace(markup.ANSWER_MARK, "|") == "|A. B.|"


def test_every_unit_of_git_s_docs_is_verbatim_and_none_is_markup_alone() -> None:
    for path in sorted(GIT.glob("git-*.txt"))[:12]:
        text = path.read_text(encoding="utf-8")
        for unit in split(text, path.name):
            words = text[unit.start : unit.end]
            assert words.strip() == words and words
            assert words not in {"+", "--", "----"} and not words.startswith(
                ("include::", "ifdef::", "endif::")
            )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["x::", "+", "----", "text.", "", "\tdesc.", "* item", "== T", "[verse]"]),
        max_size=25,
    )
)
def test_any_line_mix_splits_into_verbatim_units(lines: list[str]) -> None:
    text = "\n".join(lines)
    for unit in split(text, "page.adoc"):
        assert 0 <= unit.start < unit.end <= len(text)
    shown("\n".join(lines))  # and shows without failing


def test_macros_read_as_their_words_shown_and_embedded() -> None:
    from qabot.asciidoc import plain

    words = "See linkgit:git-log[1], <<STANDALONE,the guide>> and the ``Interactive Mode'' section."
    assert (
        markup.inline(words, markup.ASCIIDOC) == "See git-log(1), the guide and the Interactive Mode section."
    )
    assert plain("-p::\n\tPick hunks.\n+\ninclude::x.txt[]\nSee link:https://git-scm.com[the book].") == (
        "-p::\n\tPick hunks.\nSee the book."
    )


def test_git_s_page_answers_with_its_example_verbatim_in_the_terminal_and_on_discord(
    seed_settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "git-stash.txt").write_text(PAGE, encoding="utf-8")
    index_dir = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir / "models", index_dir / "models")
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    store.build(settings)
    index = store.open_index(settings)
    try:
        answer = Answerer(index, min_confidence=0.0).answer(
            "how do I test each part before committing it?", k=3
        )
    finally:
        index.close()
    assert answer.quotes and all(QuoteChecker(corpus)(q) for q in answer.quotes)  # verbatim at its offsets
    example = next(q for q in answer.quotes if "$ git stash push --keep-index" in q.text)
    assert example.source.section == ("git-stash(1)", "OPTIONS")
    console = Console(width=100, record=True)
    console.print(render.answer_text(Answer("q?", True, (example,))))
    terminal = console.export_text()
    assert "$ git add --patch foo" in terminal and "\n+\n" not in terminal and "----\n" not in terminal
    (message,) = discord_render.answer_embeds(Answer("q?", True, (example,)))
    shown = "".join(e.description or "" for e in message)
    assert "```\n$ git add --patch foo\n$ git stash push --keep-index\n```" in shown
    assert "-------" not in shown


def test_numbered_items_breaks_and_a_manpage_of_cross_references() -> None:
    text = "= Steps\n\n. Install it\n. Run it\n.. with a flag\n\n'''\n\n<<<\n\nDone."
    assert [t for _, t, _ in units(text)] == ["Steps", "Install it", "Run it", "with a flag", "Done."]
    page = "NAME\n----\nx - does y\n\nSee <<X1,*A*>>, <<X2>> and <<X3,*C*>>.\n"
    assert markup.syntax_of("x.1.txt", page) == markup.ASCIIDOC


def test_a_short_command_page_is_asciidoc_and_rest_s_literal_markers_are_not() -> None:
    page = "git-x(1)\n========\n\nOPTIONS\n-------\n-p::\n--patch::\n\tDo it.\n\n-q::\n\tQuietly.\n"
    assert markup.syntax_of("git-x.txt", page) == markup.ASCIIDOC
    rest_like = "Guide\n=====\n\nFor example::\n\n    run it\n\nOr::\n\n    run that\n\nThen::\n\n    stop\n"
    assert markup.syntax_of("guide.txt", rest_like) == markup.PLAIN
    assert markup.syntax_of("wiki.txt", "== One ==\ntext\n== Two ==\n") == markup.PLAIN  # two marks, not 3


def test_a_page_s_one_line_title_is_its_title() -> None:
    from qabot.corpus import text_document

    page = "// the guide\n[[top]]\n= Getting Started [[start]]\n"
    page += "Jane Doe <jane@example.org>\nv1.0, 2019-01-01\n:toc:\n"
    doc = text_document(page + "\n== Install\n\nRun it.\n", "guide.adoc")
    assert doc is not None and doc.title == "Getting Started"
    # the header's author and revision lines are not text
    assert [t for _, t, _ in units(doc.text)] == ["Getting Started", "Install", "Run it."]
    git = text_document((GIT / "git-stash.txt").read_text(encoding="utf-8"), "git-stash.txt")
    assert git is not None and git.title == "git-stash(1)"


def test_a_fragment_an_asciidoc_page_includes_is_asciidoc(tmp_path: Path) -> None:
    from qabot.corpus import load_corpus

    (tmp_path / "git-rerere.txt").write_text(
        PAGE.replace("include::diff-options.txt[]", "include::opts.txt[]")
    )
    (tmp_path / "opts.txt").write_text(
        "--rerere-autoupdate::\n--no-rerere-autoupdate::\n\tUpdate the index.\n"
    )
    (tmp_path / "notes.txt").write_text("--not-an-option::\n\tA note that nothing includes.\n")
    syntaxes = {d.path: d.syntax for d in load_corpus(tmp_path).documents}
    assert syntaxes == {
        "git-rerere.txt": markup.ASCIIDOC,
        "opts.txt": markup.ASCIIDOC,
        "notes.txt": markup.PLAIN,
    }
