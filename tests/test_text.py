from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from qabot import markup
from qabot.markup import HEADING
from qabot.text import (
    INTRO,
    MAX_SENTENCE_CHARS,
    PARAGRAPH,
    SENTENCE,
    Span,
    chunk,
    numbered_headings,
    rule,
    segment,
    split,
    unwrapped,
    wrap_width,
)


def sentences(text: str, start: int = 0) -> list[str]:
    return [text[s.start : s.end] for s in segment(text, start)]


def test_abbreviations_and_quotations_stay_whole() -> None:
    text = (
        "The U.S. Army sent Gen. John Smith to Yerevan. Dr. Ana Petrosyan said: “We will not leave.” "
        "Prices rose 3.5% in the U.K. last year."
    )
    assert sentences(text) == [
        "The U.S. Army sent Gen. John Smith to Yerevan.",
        "Dr. Ana Petrosyan said: “We will not leave.”",
        "Prices rose 3.5% in the U.K. last year.",
    ]


def test_headlines_bylines_and_date_lines_are_their_own_units() -> None:
    text = (
        " date 2023-12-28 Russia Considers Armenia a Strategic Ally\n\nBy Ani Avetisyan\n\n"
        "Date: 23 February 2021\n\nArmenia Invites More Russian Troops\n"
        "After its defeat, Armenia looks to Moscow."
    )
    assert sentences(text) == [
        "date 2023-12-28",
        "Russia Considers Armenia a Strategic Ally",
        "By Ani Avetisyan",
        "Date: 23 February 2021",
        "Armenia Invites More Russian Troops",
        "After its defeat, Armenia looks to Moscow.",
    ]


SPEC = """\
Support for a Protected field
=============================

The proposal would be to add support for a new Protected field, with the
following properties:

  * Protected packages should not be trivial to remove (require a force
    option for example, like Essential).
  * Protected packages must be depended on explicitly
  * Protected packages must be functional even when unpacked (think of
    a boot loader or an init system).

File triggers should not generally be used without mutual consent.
The use of a file trigger, and the name of the trigger used, should be
stated in the distribution policy, so that a package which creates a
relevant file in a maintainer script can activate the trigger explicitly.
"""


def test_hard_wrapped_plain_text_is_read_by_the_sentence() -> None:
    assert wrap_width(SPEC) == 73  # the 95th percentile of its line lengths
    units = [SPEC[s.start : s.end] for s in segment(SPEC, width=73)]
    assert units == [
        "Support for a Protected field",  # its underline is layout, not a unit
        "The proposal would be to add support for a new Protected field, with the\nfollowing properties:",
        "* Protected packages should not be trivial to remove (require a force\n    option for example, like "
        "Essential).",
        "* Protected packages must be depended on explicitly",  # an item ends where the next one starts
        "* Protected packages must be functional even when unpacked (think of\n    a boot loader or an init "
        "system).",
        "File triggers should not generally be used without mutual consent.",
        "The use of a file trigger, and the name of the trigger used, should be\nstated in the distribution "
        "policy, so that a package which creates a\nrelevant file in a maintainer script can activate the "
        "trigger explicitly.",
    ]


MANUAL = """\
Vim has a quit-and-throw-things-away command.  It will be explained later in
this chapter, together with other ways of leaving the editor behind.  It is
what you use when you have made a mess of things and want to start over: >

\t:q!
<
When your package needs to run commands as root, the builder will run the
postinst script as:

   postinst triggered "<trigger-name> <trigger-name> ..."

by passing a space-separated list of names as the second argument.
"""


def test_a_sentence_that_introduces_an_indented_block_is_quoted_with_it() -> None:
    units = [(MANUAL[s.start : s.end], s.kind) for s in split(MANUAL, "usr_02.txt")]
    assert units == [
        (MANUAL[: MANUAL.index(":q!") + 3], INTRO),  # with its short paragraph, as in Markdown
        (
            "When your package needs to run commands as root, the builder will run the\npostinst script "
            'as:\n\n   postinst triggered "<trigger-name> <trigger-name> ..."',
            INTRO,
        ),
        # a page with examples is a manual: its prose is a documentation unit too
        ("by passing a space-separated list of names as the second argument.", PARAGRAPH),
    ]
    assert {u.kind for u in split(SPEC.replace(":\n\n  *", ".\n\n  *"), "spec.txt")} == {HEADING, SENTENCE}


def test_an_underlined_line_is_a_heading_never_quoted_alone() -> None:
    first = split(SPEC, "protected-field.txt")[0]
    assert (SPEC[first.start : first.end], first.kind) == ("Support for a Protected field", HEADING)
    assert [s.kind for s in split("Title\n=====\n\nA line.\n", "a.txt")] == [HEADING, SENTENCE]
    # a paragraph over a separator stays a paragraph
    news = "Armenia asked for more troops.\n-----\nThe Kremlin agreed.\n"
    assert [s.kind for s in split(news, "news.txt")] == [SENTENCE, SENTENCE]
    # Vim's "<" closes an example: the example's last line is not a heading
    assert [s.kind for s in split("Type: >\n\t:q!\n<\nThen go on.\n", "a.txt")] == [SENTENCE] * 3


def test_plain_text_units_carry_their_underlined_headings() -> None:
    text = (
        "Triggers\n========\n\nConcepts\n--------\n\nA trigger is named.\n\nInternals\n=========\n\nState.\n"
    )
    units = [(text[s.start : s.end], s.kind, s.section) for s in split(text, "triggers.txt")]
    assert units == [
        ("Triggers", HEADING, ()),
        ("Concepts", HEADING, ("Triggers",)),
        ("A trigger is named.", SENTENCE, ("Triggers", "Concepts")),
        ("Internals", HEADING, ()),  # "=" is the first level: it closes "Triggers" and "Concepts"
        ("State.", SENTENCE, ("Internals",)),
    ]
    # an underlined title that opens like a numbered one ("A Guide") keeps its underline's level
    guide = "A Guide to Foo\n==============\n\nUsage\n-----\n\nRun it.\n"
    assert split(guide, "guide.txt")[-1].section == ("A Guide to Foo", "Usage")


FORMAT = """The Archive Format
==================

1 Conventions
The words of this specification are wrapped at a width, as a PDF's lines
or a specification's are, and the sentences go on from one line to the
next one.
1.1 Byte order
Every integer is stored little endian, the least significant byte first,
in every field of the file.
2 Layout
2.1 Header
header bytes come first: they are the magic bytes and the version, which
the reader checks before anything else.
2 CARD16 MAJOR_VERSION
4 CARD32 ALIAS_LIST_OFFSET
"""


def test_numbered_headings_of_wrapped_text_give_its_sections() -> None:
    units = [(FORMAT[s.start : s.end].split("\n")[0], s.kind, s.section) for s in split(FORMAT, "f.txt")]
    title, conventions, layout = "The Archive Format", "1 Conventions", "2 Layout"
    assert units == [
        (title, HEADING, ()),
        (conventions, HEADING, (title,)),
        (
            "The words of this specification are wrapped at a width, as a PDF's lines",
            SENTENCE,
            (title, conventions),
        ),
        ("1.1 Byte order", HEADING, (title, conventions)),
        (
            "Every integer is stored little endian, the least significant byte first,",
            SENTENCE,
            (title, conventions, "1.1 Byte order"),
        ),
        (layout, HEADING, (title,)),
        ("2.1 Header", HEADING, (title, layout)),
        # not joined with the heading above it; a table's rows are no headings
        (
            "header bytes come first: they are the magic bytes and the version, which",
            SENTENCE,
            (title, layout, "2.1 Header"),
        ),
    ]


def test_numbered_lines_that_are_not_headings() -> None:
    width = 72
    steps = "1. Download the archive\n2. Unpack it\n3. Run the installer\n"
    assert numbered_headings(steps, 0, width) == frozenset()  # no section of two levels: a list
    contents = "1.1 Byte order . . . . . . . 3\n1.2 Integers      4\n"
    assert numbered_headings(contents, 0, width) == frozenset()  # a table of contents
    prose = "2.1 the reader checks the version\n  1.2 Indented\n3.1 Ends a sentence.\n"
    assert numbered_headings(prose, 0, width) == frozenset()
    assert numbered_headings("Chapter\xa05.\xa0Protocol\n", 0, width) == frozenset({0})  # DocBook's text
    assert numbered_headings("1 Porting\n1.1 Changes in Python 3\n", 0, width) == frozenset({0, 10})
    # a numbered list at the margin (a PDF's text loses indentation) is written unlike the chapters
    manual = "1 Introduction\n1.1 Getting Started\n1. Download it\n2. Unpack It\n2 Utilities\n2.1 Decoder\n"
    found = sorted(manual[at : manual.index("\n", at)] for at in numbered_headings(manual, 0, width))
    assert found == ["1 Introduction", "1.1 Getting Started", "2 Utilities", "2.1 Decoder"]
    # an appendix numbers its own chapters: taken where its sections follow
    policy = "7. Porting\n7.1. Notes\n1. Build Dependencies\n2. Packaging Tools\n2.5. CDBS\n3. Upgrades\n"
    found = sorted(policy[at : policy.index("\n", at)] for at in numbered_headings(policy, 0, width))
    assert found == ["2. Packaging Tools", "2.5. CDBS", "3. Upgrades", "7. Porting", "7.1. Notes"]


def test_a_list_a_sentence_introduces_is_quoted_with_it() -> None:
    units = [SPEC[s.start : s.end] for s in split(SPEC, "protected-field.txt")]
    assert units[1].startswith("The proposal would be")
    assert units[1].endswith("a boot loader or an init system).")
    # a short paragraph is one unit; a long one is quoted by the sentence
    assert units[2] == SPEC[SPEC.index("File triggers") :].strip()
    long = SPEC + "\n" + "This sentence is one of many in a long paragraph, wrapped at a width.\n" * 12
    sentences = [long[s.start : s.end] for s in split(long, "protected-field.txt")]
    assert sentences[-1] == "This sentence is one of many in a long paragraph, wrapped at a width."


def test_rows_of_numbers_in_wrapped_text_stay_lines() -> None:
    rows = (
        "acos0000 acos 0.0 0.0 -> 1.5707963267948966 -0.0 0.0 0.0 1.0\nacos0001 acos 0.0 -0.0 -> 1.57 0.0\n"
    )
    units = [rows[s.start : s.end] for s in segment(rows, width=60)]
    assert units == rows.splitlines()  # full lines, but not of words: a data row ends where its line does


def test_a_pdf_pages_lines_are_wrapped_text() -> None:
    lines = [
        "This specification uses the XDG Base Directory Specification [BaseDir] to define the prefixes",
        "which the database is stored. In the rest of this document, paths shown with the prefix <MIME>",
        "that the files should be loaded from the mime subdirectory of every directory in the data",
        "and from the user's own directory first, since those files are meant to replace the shared ones",
    ]
    ends = [" below", " indicate", " directories,", " there."]
    page = "".join(line + end + "\n" for line, end in zip(lines, ends, strict=True)) * 2
    assert wrap_width(page) == 103  # wider than a manual's 80 columns
    first = split(page, "spec.pdf")[0]
    assert page[first.start : first.end].endswith("below\nwhich the database is stored.")


def test_a_wrapped_quote_shows_as_a_paragraph() -> None:
    quote = SPEC[SPEC.index("The proposal") : SPEC.index("File triggers")].strip()
    assert unwrapped(quote) == (
        "The proposal would be to add support for a new Protected field, with the following properties:\n\n"
        "  * Protected packages should not be trivial to remove (require a force option for example, like "
        "Essential).\n"
        "  * Protected packages must be depended on explicitly\n"
        "  * Protected packages must be functional even when unpacked (think of a boot loader or an init "
        "system)."
    )
    assert markup.as_page(quote, markup.PLAIN) == unwrapped(quote)
    assert unwrapped("Status: draft\nURL: https://x.test/spec") == "Status: draft\nURL: https://x.test/spec"


def test_a_paragraph_a_line_is_not_wrapped_text() -> None:
    news = (
        "Armenia Invites More Russian Troops\n\nAfter its defeat, Armenia looks to Moscow for security and "
        "asks for more troops at the 102nd base in Gyumri.\nThe Kremlin agreed on Tuesday.\n"
        "officials in Yerevan welcomed the decision, which was made after weeks of talks between them.\n"
    ) * 3
    assert wrap_width(news) is None
    units = [news[s.start : s.end] for s in split(news, "news.txt")]
    assert units[:4] == [
        "Armenia Invites More Russian Troops",
        "After its defeat, Armenia looks to Moscow for security and asks for more troops at the 102nd base "
        "in Gyumri.",
        "The Kremlin agreed on Tuesday.",
        "officials in Yerevan welcomed the decision, which was made after weeks of talks between them.",
    ]


def test_segment_starts_after_the_given_offset() -> None:
    text = "---\ntitle: x\n---\nFirst one. Second one."
    start = text.index("First")
    assert sentences(text, start) == ["First one.", "Second one."]


def test_very_long_runs_are_cut_at_whitespace() -> None:
    text = " ".join(["word"] * 2000)
    spans = segment(text)
    assert len(spans) > 1
    assert all(s.end - s.start <= MAX_SENTENCE_CHARS for s in spans)
    assert all(text[s.start : s.end] == text[s.start : s.end].strip() for s in spans)


alphabet = st.sampled_from(
    [
        "U.S. ",
        "Dr. ",
        "He said. ",
        "“Quoted.” ",
        "\n",
        "\n\n",
        " ",
        ".",
        "?",
        "!",
        "é",
        "\u200b",
        "\t",
        "Armenia",
        "3.5",
        "date 2023-12-28 ",
        "Gen.",
        "—",
        "a",
        "B",
        "\r\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(alphabet, max_size=60).map("".join), st.integers(0, 10))
def test_every_span_is_the_text_at_its_offsets(text: str, start: int) -> None:
    start = min(start, len(text))
    spans = segment(text, start)
    previous_end = start
    for span in spans:
        piece = text[span.start : span.end]
        assert piece and piece == piece.strip()
        assert previous_end <= span.start < span.end <= len(text)
        previous_end = span.end
    # nothing but whitespace is lost between sentences
    covered = "".join(text[s.start : s.end] for s in spans)
    assert "".join(covered.split()) == "".join(text[start:].split())


def assert_layout_only_lost(text: str, spans: list[Span], start: int = 0) -> None:
    """Units of `text[start:]` in order, each verbatim and stripped, and nothing lost between them but
    whitespace and rule lines."""
    previous_end = start
    for span in spans:
        piece = text[span.start : span.end]
        assert piece and piece == piece.strip()
        assert previous_end <= span.start < span.end <= len(text)
        previous_end = span.end
    covered = "".join(text[s.start : s.end] for s in spans)
    kept = [line for line in text[start:].split("\n") if not rule(line)]
    assert "".join(covered.split()) == "".join("".join(kept).split())


wrapped_alphabet = st.sampled_from(["word ", "Word. ", "a", "\n", "\n\n", "  * ", "1. ", "-----", "=== "])


@settings(max_examples=150, deadline=None)
@given(st.lists(wrapped_alphabet, max_size=80).map("".join), st.integers(4, 60))
def test_wrapped_units_are_the_text_at_their_offsets(text: str, width: int) -> None:
    assert_layout_only_lost(text, segment(text, width=width))


plain_alphabet = st.sampled_from(
    [
        "a wrapped line of words that goes on to the width and past it for sure\n",
        "to end. ",
        "Short line:\n",
        "Use this: >\n\n\t:q!\n",
        "\tindented code\n",
        "  * an item of a list\n",
        "Heading\n",
        "=======\n",
        "-----\n",
        "<\n",
        "\n",
        "date 2023-12-28 ",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(plain_alphabet, max_size=60).map("".join))
def test_plain_text_units_are_ordered_verbatim_and_lose_only_layout(text: str) -> None:
    # wrapped or not, with blocks, paragraphs and headings
    assert_layout_only_lost(text, split(text, "manual.txt"))


@given(st.lists(st.integers(1, 60), min_size=1, max_size=40), st.integers(20, 128), st.integers(0, 2))
def test_chunks_cover_every_sentence_within_budget(counts: list[int], budget: int, overlap: int) -> None:
    chunks = chunk(counts, budget, overlap)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(counts) - 1
    covered = {i for first, last in chunks for i in range(first, last + 1)}
    assert covered == set(range(len(counts)))
    for (first, last), (next_first, _) in itertools.pairwise(chunks):
        assert next_first > first
        assert next_first <= last + 1
    for first, last in chunks:
        assert first == last or sum(counts[first : last + 1]) <= budget


def test_chunk_overlap_shares_one_sentence() -> None:
    assert chunk([10] * 6, budget=30, overlap=1) == [(0, 2), (2, 4), (4, 5)]
    assert chunk([10] * 6, budget=30, overlap=0) == [(0, 2), (3, 5)]


def test_span_is_a_value() -> None:
    assert Span(1, 2) == Span(1, 2)
