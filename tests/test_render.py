"""Terminal and JSON renderings of the reader's extensions: confidence, answer span, the three outcomes."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console
from rich.text import Text

from qabot import markup, render
from qabot.answer import Answer, Quote, Source

SOURCE = Source("doc", "A Title", "doc.txt", "2024-01-02", None)
TEXT = "Russia keeps about 3,000 soldiers in Armenia."
AT = 200 + TEXT.index("3,000")


def marked_quote(confidence: float = 0.91) -> Quote:
    return Quote(TEXT, 200, 200 + len(TEXT), 3.2, SOURCE, confidence=confidence, answer=(AT, AT + 5))


def printed(answer: Answer) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(render.answer_text(answer))
    return console.export_text()


def test_json_carries_confidence_and_the_answer_in_document_offsets() -> None:
    out = render.answer_json(Answer("How many?", True, (marked_quote(),)))
    [q] = out["quotes"]
    assert out["status"] == "answered"
    assert q["confidence"] == 0.91
    assert q["answer"] == {"text": "3,000", "start": AT, "end": AT + 5}
    assert q["start"] <= q["answer"]["start"] < q["answer"]["end"] <= q["end"]


def test_json_of_an_unsure_answer_keeps_its_quotes_and_says_it_declined() -> None:
    out = render.answer_json(Answer("How many?", False, (marked_quote(0.3),)))
    assert out["answered"] is False
    assert out["status"] == "unsure"
    assert out["quotes"][0]["confidence"] == 0.3


def test_the_terminal_puts_confidence_in_words_and_the_answer_in_bold() -> None:
    answer = Answer("How many?", True, (marked_quote(),))
    text = printed(answer)
    assert "[1] very likely answers it (91 %)" in text
    console = Console(width=100, record=True, color_system="standard", force_terminal=True)
    console.print(render.answer_text(answer))
    styled = console.export_text(styles=True)
    assert "\x1b[1m3,000\x1b[0m" in styled  # bold exactly on the answer


def test_the_terminal_flags_an_unsure_answer_and_still_shows_the_passage() -> None:
    text = printed(Answer("How many?", False, (marked_quote(0.3),)))
    assert render.UNSURE_NOTICE in text
    assert "unlikely to answer it (30 %)" in text
    assert "3,000 soldiers" in text


def test_confidence_words_cover_the_whole_range() -> None:
    assert render.confidence_words(0.95).startswith("very likely")
    assert render.confidence_words(0.75).startswith("likely")
    assert render.confidence_words(0.5).startswith("may answer")
    assert render.confidence_words(0.05) == "unlikely to answer it (5 %)"


WRAPPED = (
    "Run the server with\n`--reload` to restart it\non every change:\n\n- in development\n"
    "- never in production"
)


def test_a_markdown_quote_reads_its_soft_line_breaks_as_spaces() -> None:
    """Docs wrapped at 80 columns are shown as the rendered page shows them: one paragraph a line (the
    terminal wraps it), list items still one a line; the answer stays in bold; plain text is left as it
    is (its line breaks may mean something)."""
    at = 1000 + WRAPPED.index("`--reload` to restart")
    quote = Quote(WRAPPED, 1000, 1000 + len(WRAPPED), 3.0, Source("p", "Page", "docs/run.md", None, None))
    quote = replace(quote, answer=(at, at + len("`--reload` to restart")), before="A\nwrapped neighbour.")
    console = Console(width=200, record=True, color_system="standard", force_terminal=True)
    console.print(render.answer_text(Answer("How do I restart on change?", True, (quote,))))
    styled = console.export_text(styles=True, clear=False)
    assert "Run the server with \x1b[1m`--reload` to restart\x1b[0m it on every change:" in styled
    shown = console.export_text()
    assert "A wrapped neighbour." in shown
    lines = [line.strip("│ ") for line in shown.splitlines()]
    assert "- in development" in lines and "- never in production" in lines
    plain = replace(quote, source=Source("p", "Page", "notes/run.txt", None, None))
    lines = [line.strip("│ ") for line in printed(Answer("How?", True, (plain,))).splitlines()]
    assert "▶ Run the server with" in lines


def test_a_quote_inside_an_indented_block_shows_as_its_page_does() -> None:
    """A quote that starts inside a reST warning (four columns in) is shown with its other lines moved
    left as much: its wrapped sentence reads as one, its example as code, not everything after the first
    line as deeper than it."""
    page = (
        ".. warning::\n\n    When using ``cached`` on a view, put it between the\n    ``@route`` decorator"
        " and your function. Example::\n\n        @app.route('/')\n        def index():\n"
        "            return 'Cached'\n"
    )
    start = page.index("When")
    assert markup.column(page, start) == 4 and markup.column(page, page.index("put")) == 0
    text = page[start:].rstrip()
    quote = Quote(text, start, start + len(text), 3.0, Source("p", "Usage", "docs/usage.rst", None, None))
    quote = replace(quote, indent=markup.column(page, start))
    lines = [line.strip("│").rstrip() for line in printed(Answer("Where?", True, (quote,))).splitlines()]
    wanted = "▶ When using `cached` on a view, put it between the `@route` decorator and your function."
    assert any(line.strip().startswith(wanted) for line in lines)
    code = [line for line in lines if "def index():" in line or "return 'Cached'" in line]
    assert len(code) == 2 and code[1].index("return") - code[0].index("def") == 4


def test_a_wrapped_list_item_goes_on_under_its_text_not_its_marker() -> None:
    """A docs list item longer than the terminal wraps with a hanging indent, as the page shows it,
    nested items included, the answer inside it still in bold; prose around the list is unchanged."""
    text = (
        "This includes, for example:\n\n* Email notifications sent after an action:\n"
        "    * sending an email is slow, so you can return the response right away and send the "
        "email notification in the background.\n* Processing data."
    )
    at = 1000 + text.index("send the email notification")
    quote = Quote(text, 1000, 1000 + len(text), 3.0, Source("p", "Page", "docs/tasks.md", None, None))
    quote = replace(quote, answer=(at, at + len("send the email notification")))
    console = Console(width=60, record=True, color_system="standard", force_terminal=True)
    console.print(render.answer_text(Answer("How do I email after responding?", True, (quote,))))
    styled = console.export_text(styles=True, clear=False)
    lines = [line.strip("│").rstrip() for line in console.export_text().splitlines()]
    first = next(i for i, line in enumerate(lines) if "* sending an email" in line)
    column = lines[first].index("sending")
    assert lines[first].startswith("     * sending")  # the panel's margin, then the item's own indent
    assert lines[first + 1][:column].strip() == "" and lines[first + 1][column] != " "
    assert any(line.startswith(" * Processing data.") for line in lines)
    assert "\x1b[1msend the" in styled  # the answer keeps its bold inside the item
    prose = Text("no list\nhere")
    assert render.hanging(prose) is prose


def test_a_rst_heading_cites_its_roles_as_the_page_shows_them() -> None:
    source = Source("api", "waitress API", "docs/api.rst", None, None, (":mod:`waitress` API",))
    assert render.section_title(source) == "waitress API › `waitress` API"
    markdown = replace(source, path="docs/api.md", syntax=markup.MARKDOWN)
    assert render.section_title(markdown) == "waitress API › :mod:`waitress` API"


def test_a_neighbour_that_is_itself_a_quote_is_shown_once_and_named() -> None:
    first = Quote("The pool holds 40 tokens.", 0, 25, 1.0, SOURCE, "Limits", "Raise them with total_tokens.")
    second = Quote("Raise them with total_tokens.", 26, 55, 0.9, SOURCE, "The pool holds 40 tokens.", "Done.")
    elsewhere = replace(second, source=replace(SOURCE, id="other"))  # the same words in another page
    text = printed(Answer("How do I raise it?", True, (first, second)))
    assert text.count("Raise them with total_tokens.") == 1
    assert text.count("The pool holds 40 tokens.") == 1
    assert "Limits" in text and "Done." in text  # neighbours that are not quotes stay
    assert "(followed by [2])" in text and "(follows [1])" in text  # the passage goes on in the other
    assert printed(Answer("How?", True, (first, elsewhere))).count("Raise them with total_tokens.") == 2
    assert render.answer_json(Answer("How?", True, (first, second)))["quotes"][0]["context"] == {
        "before": "Limits",
        "after": "Raise them with total_tokens.",
    }  # JSON keeps each quote's neighbours as they are


def test_a_long_neighbour_in_prose_is_shortened_where_it_meets_the_quote() -> None:
    """A neighbour that is a whole definition list (pages of it) is context, not the answer: the one
    before keeps its end, the one after its start, each about PROSE_CONTEXT_CHARS long."""
    before = "Start of the list. " + "Term one is explained here at length. " * 40 + "The last line."
    after = "Right after the quote. " + "More words that follow on. " * 40
    quote = Quote("The quoted sentence.", 0, 20, 1.0, SOURCE, before, after)
    text = printed(Answer("What is it?", True, (quote,)))
    flat = " ".join(line.strip("│ ") for line in text.splitlines())
    assert "The last line." in flat and "Start of the list." not in flat
    assert "Right after the quote." in flat and flat.count("More words that follow on.") < 20
    assert "▶ The quoted sentence." in flat
    assert render.shortened("short", keep="tail") == "short"
    # a cut between words keeps the word beside it; a line break is between words too
    assert render.shortened("first\n" + "y" * 396 + " end", keep="tail") == "… " + "y" * 396 + " end"
    assert render.shortened("x" * 10 + "\n" + "z" * 395) == "x" * 10 + " …"


def test_a_neighbour_inside_an_indented_block_reads_as_one_paragraph() -> None:
    """A neighbour that starts inside a definition (two columns in) has its other lines moved left as much,
    as the quote's are: its wrapped sentence reads as one line, not as a line and a deeper one."""
    source = Source("set", "set", "command/set.rst", None, None)
    before = "The cache entry is not visible if a normal\n  variable of the same name exists."
    quote = Quote("It is possible for the entry to exist.", 0, 38, 1.0, source, before, before_indent=2)
    flat = [line.strip("│ ").rstrip() for line in printed(Answer("Cache?", True, (quote,))).splitlines()]
    assert "The cache entry is not visible if a normal variable of the same name exists." in flat
