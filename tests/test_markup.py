"""Document structure (qabot.markup, qabot.rst) and the quote units built on it (qabot.text.split)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from qabot import evidence, markup
from qabot.corpus import load_corpus
from qabot.text import INTRO, MAX_BLOCK_CHARS, SENTENCE, split

from .conftest import ROOT

DOCS = ROOT / "tests" / "data" / "docs"


def units(text: str, path: str = "page.md", start: int = 0) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(u.kind, text[u.start : u.end], u.section) for u in split(text, path, start)]


def test_a_sentence_introducing_code_is_one_unit_with_it() -> None:
    text = "# Keys\n\nTo set the key, run this:\n\n```bash\nqabot keys set k\n```\n\nDone."
    assert units(text) == [
        ("heading", "Keys", ()),
        (INTRO, "To set the key, run this:\n\n```bash\nqabot keys set k\n```", ("Keys",)),
        (SENTENCE, "Done.", ("Keys",)),
    ]


def test_section_paths_follow_heading_levels_without_anchors_or_marks() -> None:
    text = "# Guide { #guide }\n\n## `fastapi dev` ##\n\nOne.\n\n### Deeper\n\nTwo.\n\n## Other\n\nThree."
    assert [(kind, words, section) for kind, words, section in units(text) if kind == SENTENCE] == [
        (
            SENTENCE,
            "`fastapi dev` ##\n\nOne.",
            ("Guide", "fastapi dev"),
        ),  # a heading naming code: its paragraph's
        (SENTENCE, "Two.", ("Guide", "fastapi dev", "Deeper")),
        (SENTENCE, "Three.", ("Guide", "Other")),
    ]
    assert units(text)[0] == ("heading", "Guide", ())


def test_a_section_name_keeps_what_is_inside_backticks() -> None:
    """Emphasis and link targets go, a name in code stays as written: snake_case is not emphasis."""
    assert markup.section_name("## `response_model` Parameter { #response-model-parameter }") == (
        "response_model Parameter"
    )
    assert markup.section_name("### `fs.readFile(path[, options])`") == "fs.readFile(path[, options])"
    assert (
        markup.section_name("## **Using** [the `APIRouter`](routers.md) _here_") == "Using the APIRouter here"
    )
    assert markup.section_name("The :mod:`pyramid.config` module") == "The pyramid.config module"
    assert markup.section_name("## snake_case_name") == "snake_case_name"


def test_code_is_never_split_into_sentences() -> None:
    code = "```python\nx = 1. \ny = 2! Then z.\n```"
    assert units("Some text.\n\n" + code) == [(SENTENCE, "Some text.", ()), ("code", code, ())]
    indented = "Text here.\n\n    a = 1. b = 2.\n    c = 3."
    assert units(indented)[1] == ("code", "a = 1. b = 2.\n    c = 3.", ())


def test_a_long_block_is_cut_at_line_ends_and_marked() -> None:
    lines = [f"line_{i} = {i}  # a comment that makes the line longer" for i in range(100)]
    text = "Run this:\n\n```python\n" + "\n".join(lines) + "\n```"
    spans = split(text, "page.md")
    assert [s.kind for s in spans][:2] == [INTRO, "code"]
    assert all(s.end - s.start <= MAX_BLOCK_CHARS for s in spans)
    assert [s.cut for s in spans] == [True] * (len(spans) - 1) + [False]
    assert all(text[s.end] == "\n" for s in spans[:-1])  # cut at line ends
    joined = "".join(text[s.start : s.end] for s in spans)
    assert "".join(joined.split()) == "".join(text.split())  # nothing lost


def test_a_long_html_table_is_cut_between_rows() -> None:
    rows = [
        f"  <tr>\n    <td><code>E{i}</code></td>\n    <td>Error number {i} happened.</td>\n  </tr>"
        for i in range(60)
    ]
    text = "Intro.\n\n<table>\n" + "\n".join(rows) + "\n</table>\n"
    spans = [s for s in split(text, "page.md") if s.kind == "html"]
    assert len(spans) > 2 and all(s.end - s.start <= MAX_BLOCK_CHARS for s in spans)
    for s in spans[1:]:
        assert text[s.start : s.end].startswith("<tr>")  # every piece after the first starts a row
    for s in spans[:-1]:
        assert text[s.start : s.end].endswith("</tr>")
    joined = "".join(text[s.start : s.end] for s in spans)
    assert "".join(joined.split()) == "".join(text[text.index("<table>") :].split())  # nothing lost


def test_an_introduced_list_joins_its_sentence_and_a_plain_list_is_one_unit_an_item() -> None:
    text = "Plugins:\n\n* one is here.\n* two is there.\n\nMore.\n\n* three. Four.\n* five."
    assert units(text) == [
        (INTRO, "Plugins:\n\n* one is here.\n* two is there.", ()),
        (SENTENCE, "More.", ()),
        (SENTENCE, "three. Four.", ()),
        (SENTENCE, "five.", ()),
    ]


def test_a_sentence_in_a_list_item_takes_the_list_nested_under_it() -> None:
    """npm's install page: an item's sentence introduces the flags listed under it, in Markdown and in
    reST; a sentence introducing the outer list takes the nested one with it."""
    flags = "Saves it. Control where with these flags:\n\n    * `-D, --save-dev`: dev.\n    * `-O`: optional."
    md = f"* `npm install <name>`:\n\n    {flags}\n\n* `npm install <folder>`:\n\n    Links the folder.\n"
    assert [(kind, quote) for kind, quote, _ in units(md)] == [
        (SENTENCE, "`npm install <name>`:"),
        (INTRO, flags),
        (SENTENCE, "`npm install <folder>`:"),
        (SENTENCE, "Links the folder."),
    ]
    rst = "* Saves it. Control where with these flags:\n\n  * ``-D``: dev.\n  * ``-O``: optional.\n"
    assert [(kind, quote) for kind, quote, _ in units(rst, "install.rst")] == [(INTRO, rst[2:].strip())]
    outer = "Modes:\n\n* quick, with:\n\n  * one\n  * two\n* slow.\n\nAfter."
    assert units(outer)[0] == (INTRO, outer[: outer.index("\n\nAfter")], ())


def test_short_paragraphs_are_one_unit_and_long_ones_are_sentences() -> None:
    short = "Let's say you want the client's host. Declare a `Request` parameter."
    long = " ".join(["This sentence is one of many in a long paragraph."] * 14)
    assert units(f"{short}\n\n{long}") == [
        (SENTENCE, short, ()),
        *[(SENTENCE, "This sentence is one of many in a long paragraph.", ())] * 14,
    ]
    intro = f"{long} Run this:\n\n```\nx\n```"
    assert units(intro)[-1] == (INTRO, "Run this:\n\n```\nx\n```", ())


def test_admonitions_tag_only_html_and_front_matter_are_not_units() -> None:
    text = (
        "---\ntitle: T\n---\n# Page\n\n/// tip | Note this\n\nInside the tip.\n\n///\n\n"
        '<div class="termy">\n\n```console\n$ run\n```\n\n</div>\n\n{* ../src/app.py hl[3] *}\n\n'
        "!!! note\n    Indented admonition text.\n"
    )
    start = text.index("# Page")
    assert units(text, start=start) == [
        ("heading", "Page", ()),
        (SENTENCE, "Inside the tip.", ("Page",)),
        ("code", "```console\n$ run\n```", ("Page",)),
        ("include", "{* ../src/app.py hl[3] *}", ("Page",)),
        (SENTENCE, "Indented admonition text.", ("Page",)),
    ]


def test_mkdocstrings_options_are_not_text_and_the_text_after_them_is() -> None:
    text = (
        '# Client\n\n??? abstract "API Reference"\n    ::: pkg.Client\n        options:\n'
        '            show_root_heading: true\n            filters:\n                - "!^_"\n\n'
        "Use the client in tests.\n\n::: pkg.other\n    options:\n      heading_level: 3\n"
    )
    assert units(text) == [
        ("heading", "Client", ()),
        (SENTENCE, "::: pkg.Client", ("Client",)),
        (SENTENCE, "Use the client in tests.", ("Client",)),
        (SENTENCE, "::: pkg.other", ("Client",)),
    ]


def test_colon_fences_are_not_text_and_their_bodies_are() -> None:
    """MyST's `:::{note}` (with its option lines), Docusaurus' `:::tip[Title]`, VitePress' `::: warning`
    and the `:::` closing each: a closing fence read as text made a note's paragraph end in ":" and
    introduce the next block (structlog's testing page)."""
    text = (
        "# Testing\n\n:::{note}\n:class: dropdown\nCaptured logs skip the cache.\n:::\n\n"
        "```python\nx = 1\n```\n\n:::tip[Use npm ci]\n\nIn CI, install from the lock file.\n\n:::\n\n"
        "::: warning Careful\nThis deletes the folder.\n:::\n\n::: pkg.module\n    options:\n      a: 1\n"
    )
    assert units(text) == [
        ("heading", "Testing", ()),
        (SENTENCE, "Captured logs skip the cache.", ("Testing",)),
        ("code", "```python\nx = 1\n```", ("Testing",)),
        (SENTENCE, "In CI, install from the lock file.", ("Testing",)),
        (SENTENCE, "This deletes the folder.", ("Testing",)),
        (SENTENCE, "::: pkg.module", ("Testing",)),  # mkdocstrings' line, as before
    ]
    # mkdocstrings' line for a module named like an admonition, and fences shown as indented code, stay
    assert units("::: info.models\n    options:\n      a: 1\n") == [(SENTENCE, "::: info.models", ())]
    shown = "Write this:\n\n    :::note\n    Body\n    :::"
    assert units(shown) == [(INTRO, shown, ())]


def test_mdx_pages_are_markdown_without_their_imports_and_comments() -> None:
    """Docusaurus' `.mdx` pages: `import` lines and `{/* comments */}` are not text; a heading's
    `{/* #id */}` is not its name; code keeps its imports."""
    text = (
        "import Tabs from '@theme/Tabs';\nimport {Highlight, Note} from \"../components\";\n\n"
        "# Install {/* #install */}\n\n{/* truncate */}\n\nRun this:\n\n"
        "```js\nimport fs from 'node:fs';\n```\n"
    )
    assert markup.syntax_of("docs/install.mdx") == markup.MARKDOWN
    # only the lines that open a page are its imports: a line later on is text
    later = "# Modules\n\nimport x from 'y'\n"
    assert units(later) == [("heading", "Modules", ()), (SENTENCE, "import x from 'y'", ("Modules",))]
    assert units(text, "install.mdx") == [
        ("heading", "Install", ()),
        (INTRO, "Run this:\n\n```js\nimport fs from 'node:fs';\n```", ("Install",)),
    ]


def test_an_mdx_export_is_not_text_and_code_keeps_its_exports() -> None:
    text = (
        "# Colours\n\nexport const Highlight = ({children, color}) => (\n  <span>{children}</span>\n);\n\n"
        "Write it so:\n\n```js\nexport { addTwo };\n```\n\nThis is <Highlight>green</Highlight> text.\n"
    )
    assert units(text, "colours.mdx") == [
        ("heading", "Colours", ()),
        (INTRO, "Write it so:\n\n```js\nexport { addTwo };\n```", ("Colours",)),
        (SENTENCE, "This is <Highlight>green</Highlight> text.", ("Colours",)),
    ]


def test_a_sentence_introducing_tabs_takes_the_code_of_every_tab() -> None:
    tabs = (
        'To install it, run:\n\n<Tabs>\n  <TabItem value="npm">\n\n```bash\nnpm install foo\n```\n\n'
        '  </TabItem>\n  <TabItem value="yarn">\n\n```bash\nyarn add foo\n```\n\n  </TabItem>\n</Tabs>\n\n'
    )
    found = units(tabs + "Then:\n\n```bash\nfoo --help\n```\n\n```bash\nfoo --version\n```\n", "install.mdx")
    assert found[0] == (INTRO, tabs[: tabs.index("yarn add foo") + len("yarn add foo\n```")], ())
    assert [p.text for p in markup.pieces(found[0][1])] == [
        "To install it, run:",
        "npm install foo",
        "yarn add foo",
    ]
    mkdocs = 'Install it:\n\n=== "pip"\n\n    ```bash\n    pip install foo\n    ```\n\n'
    mkdocs += '=== "uv"\n\n    ```bash\n    uv add foo\n    ```\n'
    ((kind, quote, _),) = units(mkdocs)
    assert (kind, quote) == (INTRO, mkdocs.strip())  # MkDocs' content tabs (pymdownx.tabbed)
    assert [p.text for p in markup.pieces(quote)] == ["Install it:", "pip install foo", "uv add foo"]
    # code blocks one after the other, without tabs, are two steps: the sentence takes the first
    assert found[1:] == [
        (INTRO, "Then:\n\n```bash\nfoo --help\n```", ()),
        ("code", "```bash\nfoo --version\n```", ()),
    ]


def test_wrapped_paragraph_lines_do_not_end_sentences() -> None:
    text = "This sentence is wrapped\nat a width. The next one\nis too. " + "And more words here. " * 30
    spans = units(text.strip())
    assert spans[:2] == [
        (SENTENCE, "This sentence is wrapped\nat a width.", ()),
        (SENTENCE, "The next one\nis too.", ()),
    ]
    plain = [t for _, t, _ in units("This sentence is wrapped\nat a width.", "notes.txt")]
    assert plain == ["This sentence is wrapped", "at a width."]  # in plain text a line ends a sentence


def test_rst_sections_literal_blocks_and_unknown_directives() -> None:
    text = (DOCS / "server.rst").read_text(encoding="utf-8")
    assert units(text, "server.rst") == [
        ("heading", "Running servers", ()),
        ("heading", "Production", ("Running servers",)),
        (
            INTRO,
            "Servers are started by the ``serve`` command. To serve on all interfaces, use::\n\n"
            "    qabot serve --host 0.0.0.0 --port 8080",
            ("Running servers", "Production"),
        ),
        (
            SENTENCE,
            "The default port is 8000, and the default host is 127.0.0.1.",
            ("Running servers", "Production"),
        ),
        ("include", ".. autofunction:: qabot.serve.main", ("Running servers", "Production")),
    ]


def test_titles_of_markdown_and_rst_documents_are_their_first_heading() -> None:
    titles = {d.path: d.title for d in load_corpus(DOCS).documents}
    assert titles == {
        "CHANGELOG.md": "Changelog",
        "cli.md": "The qabot command line",  # front matter first
        "server.rst": "Running servers",
        "proxy.txt": "Running behind a proxy",  # reST in a .txt file (Django's docs)
        "weather-client.md": "weather-client",
        "workers.rst": "Workers",
    }


def test_display_pieces_show_code_without_fences_or_colouring_tags() -> None:
    quote = 'Run it:\n\n<div class="termy">\n\n```console\n$ <font color="#4">uv run</font> x &amp; y\n```'
    assert markup.pieces(quote) == [
        markup.Piece(False, "Run it:"),
        markup.Piece(True, "$ uv run x & y", "console"),
    ]
    assert markup.pieces("Plain sentence.") == [markup.Piece(False, "Plain sentence.")]
    # angle brackets that are C or Rust, not colouring, stay
    code = "#include <stdio.h>\nVec<String> v; if (a<b && c>d) {}"
    assert markup.pieces(f"```c\n{code}\n```") == [markup.Piece(True, code, "c")]
    span = '```\n$ <span style="color: green;">ok</span> <b>bold</b><br/>\n```'
    assert markup.pieces(span) == [markup.Piece(True, "$ ok bold")]
    # a tab-indented block, as plain-text manuals (Vim's help) indent their examples
    assert markup.pieces("Quit and throw away all changes: >\n\n\t:qall!") == [
        markup.Piece(False, "Quit and throw away all changes: >"),
        markup.Piece(True, ":qall!"),
    ]


def test_display_pieces_read_rst_literal_blocks_as_the_page_shows_them() -> None:
    """reST's `.. code-block:: python` line names the code's language and is not shown; "with::" before
    a literal block reads "with:", and a "::" after a space is not shown (as Sphinx renders them)."""
    quote = (
        "Call it:\n\n.. code-block:: python\n   :linenos:\n\n    serve(app)\n\n"
        "Or with::\n\n    serve(app, port=80)"
    )
    assert markup.pieces(quote) == [
        markup.Piece(False, "Call it:"),
        markup.Piece(True, "serve(app)", "python"),
        markup.Piece(False, "Or with:"),
        markup.Piece(True, "serve(app, port=80)"),
    ]
    assert markup.pieces("Like this ::\n\n    x = 1")[0] == markup.Piece(False, "Like this")
    assert markup.pieces("std::\n\n    x = 1")[0] == markup.Piece(False, "std:")


def test_rst_roles_and_literals_read_as_sphinx_shows_them() -> None:
    """Shown, not quoted: a role's target or title, shortened by "~", a function's with "()", code roles
    and ``literals`` as `code`, cross-references as text; Markdown and text that only looks like a role
    are left as they are."""
    text = (
        "Use the :meth:`~Cache.cached` decorator on a :class:`flask.Flask` app; set "
        ":attr:`test_client_class <flask.Flask.test_client_class>` (see :ref:`the guide <testing>`, "
        ":pep:`8`, :py:func:`os.path.join`) and ``serve``, at 10:30 a :b: c."
    )
    assert markup.as_page(text, markup.RST) == (
        "Use the `cached()` decorator on a `flask.Flask` app; set `test_client_class` (see the guide, "
        "PEP 8, `os.path.join()`) and `serve`, at 10:30 a :b: c."
    )
    assert markup.as_page(text, markup.MARKDOWN) == text
    # a role's backslashes escape what would read as its target (CMake's `-D<var>=<value>` option)
    escaped = r"through the :option:`-D\<var\>=\<value\> <cmake -D>` option"
    assert markup.as_page(escaped, markup.RST) == "through the `-D<var>=<value>` option"
    # CMake's names hold "<" with no space before it: no title and target there; an escaped space is nothing
    cmake = r":genex:`$<TARGET_OBJECTS>`, :variable:`CMAKE_MATCH_<n>`, :option:`-D\<var\>` and :func:`a\ b`"
    assert markup.as_page(cmake, markup.RST) == "`$<TARGET_OBJECTS>`, `CMAKE_MATCH_<n>`, `-D<var>` and `ab()`"
    assert markup.as_page(r"where :math:`\alpha > 0`", markup.RST) == r"where \alpha > 0"


def test_what_is_embedded_drops_html_tags_but_keeps_what_only_looks_like_one() -> None:
    html = '<div class="termy">Run <a href="x">it</a><br/> <!-- a\nnote --><B>now</b> &amp; { #run }'
    assert markup.plain(html) == "Run it now &"
    for code in ("git checkout <branch>", "#include <stdio.h>", "Vec<String>", "sqlalchemy>=1.4,<2.0,>=1.3"):
        assert markup.plain(code) == code
    assert markup.plain("[the guide](https://example.org/guide) and <T>") == "the guide and <T>"


def test_a_file_is_read_by_its_name_and_a_txt_file_by_its_text_too() -> None:
    sphinx = "Set :setting:`DEBUG` off.\n\n.. note::\n\n   Not in production.\n"
    assert markup.syntax_of("a.md", sphinx) == markup.MARKDOWN
    assert markup.syntax_of("docs/a.rst") == markup.RST
    assert markup.syntax_of("a.html") == markup.HTML_TEXT
    assert markup.syntax_of("a.pdf", sphinx) == markup.syntax_of("a.jsonl", sphinx) == markup.PLAIN
    assert markup.syntax_of("ref/settings.txt", sphinx) == markup.RST
    assert markup.syntax_of("a.txt", "Put it in :variable:`PATH` first.") == markup.PLAIN  # a stray mention
    assert (
        markup.syntax_of("a.txt", "Usage\n=====\n\nRun it::\n\n    x\n") == markup.PLAIN
    )  # plain reads these


def test_changelogs_and_questions_about_versions() -> None:
    def changelog(path: str, title: str) -> bool:
        return evidence.is_changelog(path, title, markup.syntax_of(path))

    assert changelog("CHANGELOG.md", "Changelog")
    assert changelog("docs/release-notes.md", "Release Notes")
    assert not changelog("history-design-future.md", "History, Design and Future")
    assert not changelog("news.txt", "News")  # plain text is never read as a changelog
    assert evidence.about_versions("Which version added server-sent events?")
    assert not evidence.about_versions("How do I set the Weather API key?")


def test_changelog_sections_inside_a_page() -> None:
    for heading in ("History", "Release Notes", "0.10.3", "[0.10.4] - 2020-01-17", "v2.0.0 (2024-05-01)"):
        assert evidence.changelog_section(("mylib", heading)), heading
    for heading in ("Usage", "2.0 Migration Guide", "Python 3.8", "Browsing history", "Upgrading 8.3 to 9.0"):
        assert not evidence.changelog_section(("mylib", heading)), heading


def test_code_the_question_does_not_name_is_evidence() -> None:
    words = frozenset({"compress", "responses", "gzip"})
    assert evidence.new_code("Use `GZipMiddleware` for it.", words)
    assert evidence.new_code("Run this:\n\n```\nuvicorn main:app\n```", words)
    assert not evidence.new_code("Responses can be compressed with `gzip`.", words)
    assert not evidence.new_code("No code at all.", words)


def test_the_section_path_counts_only_for_words_the_unit_lacks() -> None:
    idf = {"log": 3.0, "level": 1.0}
    assert evidence.section_gain(("CLI", "Logging"), "Set it with --verbose.", idf) == 0.75
    assert evidence.section_gain(("CLI", "Logging"), "Set the log level.", idf) == 0.0
    assert evidence.section_gain((), "Anything.", idf) == 0.0


blocks_alphabet = st.sampled_from(
    [
        "# Title\n\n",
        "## Sub { #sub }\n\n",
        "Run this:\n\n",
        "Some words. More words!\n",
        "```py\nx = 1. y = 2.\n```\n\n",
        "    indented code\n\n",
        "* item one.\n* item two\n\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
        "/// tip\n\n",
        "///\n\n",
        '<div class="x">\n\n',
        "<p>html words</p>\n\n",
        "{* ../a.py *}\n\n",
        "> quoted text.\n\n",
        "\n",
        "é",
        "word ",
    ]
)


@settings(max_examples=120, deadline=None)
@given(st.lists(blocks_alphabet, max_size=30).map("".join), st.sampled_from(["a.md", "a.rst"]))
def test_every_unit_is_the_text_at_its_offsets_in_order(text: str, path: str) -> None:
    previous_end = 0
    for span in split(text, path):
        piece = text[span.start : span.end]
        assert piece and piece == piece.strip()
        assert previous_end <= span.start < span.end <= len(text)
        previous_end = span.end


def test_a_short_paragraph_between_an_introduction_and_its_block_joins_them() -> None:
    text = (
        "Start workers with `--workers`:\n\n//// tab | fastapi\n\n"
        "If you use `fastapi`:\n\n```\nfastapi run --workers 4\n```"
    )
    assert units(text) == [(INTRO, text, ())]
    unrelated = "Start workers:\n\nThis paragraph does not introduce anything.\n\n```\ncode\n```"
    assert [kind for kind, _, _ in units(unrelated)] == [SENTENCE, SENTENCE, "code"]


def test_reflow_joins_soft_breaks_and_keeps_the_structure() -> None:
    """Display only: a wrapped paragraph becomes one line; what starts a block, a deeper indent, a hard
    break or a literal block's "::" keeps its line break."""
    assert markup.reflow("every\nmessage fits\nits limits.") == "every message fits its limits."
    assert markup.reflow("- one\n  wrapped\n- two") == "- one wrapped\n- two"
    assert markup.reflow("1. first\n2. second") == "1. first\n2. second"
    assert markup.reflow("term\n   its definition", rst=True) == "term\n   its definition"
    assert markup.reflow("a list item's\n  wrapped line") == "a list item's wrapped line"
    assert markup.reflow("hard  \nbreak") == "hard  \nbreak"
    assert markup.reflow("Example::\n\n    code") == "Example::\n\n    code"
    assert markup.reflow("| a |\n| b |") == "| a |\n| b |"
    assert markup.reflow("Title\n=====\n\nBody\ntext.") == "Title\n=====\n\nBody text."
    assert markup.reflow("A line\n.. note:: hi") == "A line\n.. note:: hi"
    assert markup.reflow(":param x: the x\n:param y: the y") == ":param x: the x\n:param y: the y"
    assert markup.reflow("see the\n``foo`` option") == "see the ``foo`` option"
    assert markup.reflow("the same as\n:data:`hit`.") == "the same as :data:`hit`."


def test_a_rst_definition_list_is_a_list_its_terms_quoted_with_their_definitions() -> None:
    """A sentence introducing a definition list takes the terms with their definitions ("needs these
    properties and methods:" and each one, as a bullet list would be taken); a definition list no
    sentence introduces is quoted term by term, each with what it says; a list inside a definition is
    one the definition's sentence introduces."""
    text = (
        "Users\n=====\n\nThe user class needs these properties\nand methods:\n\n`is_active`\n"
        "    True if the account is active.\n\n`get_id()`\n    A unique `str` for the user.\n\n"
        "    Use it to reload the user.\n\nOptions\n-------\n\n`timeout` : int\n    Seconds to wait:\n\n"
        "    - 10 by default\n    - 0 for ever\n\n`retries`\n    How often to try again.\n"
    )
    assert units(text, "users.rst") == [
        ("heading", "Users", ()),
        (
            INTRO,
            "The user class needs these properties\nand methods:\n\n`is_active`\n    True if the account"
            " is active.\n\n`get_id()`\n    A unique `str` for the user.\n\n    Use it to reload the user.",
            ("Users",),
        ),
        ("heading", "Options", ("Users",)),
        (
            INTRO,
            "`timeout` : int\n    Seconds to wait:\n\n    - 10 by default\n    - 0 for ever",
            ("Users", "Options"),
        ),
        (SENTENCE, "`retries`\n    How often to try again.", ("Users", "Options")),
    ]


def test_a_sphinx_object_description_is_prose_under_its_signature() -> None:
    """Sphinx's `.. function::`, `.. class::`, `.. data::` (any domain) read as Sphinx reads them: the
    body is reST, its first paragraph quoted with the directive's line (options and a wrapped signature
    included), the signature the section of everything in the body; a version note's text, on the next
    line or after a blank, quoted with its line; docutils' own `.. role::` and autodoc lines stay as
    they were."""
    text = (
        "API\n===\n\n.. function:: login_user(user,\n                  remember=False)\n    :noindex:\n\n"
        "    Logs a user in. Pass the user object.\n\n    Example::\n\n        login_user(user)\n\n"
        "    .. versionadded:: 0.5\n       The `remember` flag.\n\n.. py:class:: LoginManager(app=None)\n\n"
        "   Holds the settings.\n\n   .. py:attribute:: login_view\n\n      The view to redirect to.\n\n"
        ".. versionchanged:: 0.6\n\n   Sessions are protected.\n\n.. autofunction:: logout_user\n"
    )
    function = ("API", "login_user()")
    assert units(text, "api.rst") == [
        ("heading", "API", ()),
        (
            SENTENCE,
            ".. function:: login_user(user,\n                  remember=False)\n    :noindex:\n\n"
            "    Logs a user in. Pass the user object.",
            function,
        ),
        (INTRO, "Example::\n\n        login_user(user)", function),
        (SENTENCE, ".. versionadded:: 0.5\n       The `remember` flag.", function),
        (SENTENCE, ".. py:class:: LoginManager(app=None)\n\n   Holds the settings.", ("API", "LoginManager")),
        (
            SENTENCE,
            ".. py:attribute:: login_view\n\n      The view to redirect to.",
            ("API", "LoginManager", "login_view"),
        ),
        (SENTENCE, ".. versionchanged:: 0.6\n\n   Sessions are protected.", ("API",)),
        ("include", ".. autofunction:: logout_user", ("API",)),
    ]
    role = "Roles\n=====\n\n.. role:: custom\n\nA :custom:`word` here.\n"
    assert units(role, "roles.rst") == [
        ("heading", "Roles", ()),
        (SENTENCE, "A :custom:`word` here.", ("Roles",)),
    ]


def test_cmake_variables_and_generator_expressions_are_descriptions() -> None:
    """CMake's Sphinx domain describes variables and generator expressions as Sphinx's describe functions:
    `.. variable::` and `.. genex::` are quoted with their first paragraph, under their name."""
    text = (
        "Variables\n=========\n\n.. variable:: CMAKE_GET_OS_RELEASE_FALLBACK_SCRIPTS\n\n"
        "  Scripts a user may append.\n\n.. genex:: $<BOOL:string>\n\n"
        "  Converts ``string`` to ``0`` or ``1``.\n"
    )
    assert units(text, "cmake.rst") == [
        ("heading", "Variables", ()),
        (
            SENTENCE,
            ".. variable:: CMAKE_GET_OS_RELEASE_FALLBACK_SCRIPTS\n\n  Scripts a user may append.",
            ("Variables", "CMAKE_GET_OS_RELEASE_FALLBACK_SCRIPTS"),
        ),
        (
            SENTENCE,
            ".. genex:: $<BOOL:string>\n\n  Converts ``string`` to ``0`` or ``1``.",
            ("Variables", "$<BOOL:string>"),
        ),
    ]


def test_tabs_and_panes_are_read_as_rest_their_titles_sections() -> None:
    """sphinx-tabs' and sphinx-design's panes and Sphinx's `.. only::` hold reST: their prose and code are
    read as such (not one raw block), a tab's title is the section of what it holds."""
    text = (
        "Install\n=======\n\n.. tabs::\n\n   .. tab:: pip\n\n      Install it with pip:\n\n"
        "      .. code-block:: bash\n\n         pip install x\n\n"
        "   .. tab:: conda\n\n      Use conda-forge.\n\n"
        ".. only:: html\n\n   Read the PDF too.\n"
    )
    assert units(text, "install.rst") == [
        ("heading", "Install", ()),
        (
            INTRO,
            "Install it with pip:\n\n      .. code-block:: bash\n\n         pip install x",
            ("Install", "pip"),
        ),
        (SENTENCE, "Use conda-forge.", ("Install", "conda")),
        (SENTENCE, "Read the PDF too.", ("Install",)),
    ]


def test_a_sphinx_description_shows_as_its_page_does() -> None:
    """Shown, not quoted: the signature as code before the body, a version note with its label."""
    quote = ".. function:: login_user(user,\n              remember=False)\n    :noindex:\n\n"
    quote += "    Logs a user\n    in."
    assert markup.as_page(quote, markup.RST) == "`login_user(user, remember=False)`: Logs a user in."
    assert markup.pieces(quote) == [
        markup.Piece(False, "`login_user(user, remember=False)`:\nLogs a user\nin.")
    ]
    note = ".. versionadded:: 0.5\n   The `remember` flag."
    assert markup.as_page(note, markup.RST) == "Added in version 0.5: The `remember` flag."
    assert markup.as_page(".. note:: hi", markup.RST) == ".. note:: hi"
    assert markup.as_page(quote, markup.MARKDOWN).startswith(
        ".. function::"
    )  # reST syntax, read only in reST


def test_a_version_note_and_a_link_inside_a_rest_quote_show_as_the_page_does() -> None:
    """A version note after the quote's first paragraph reads as Sphinx shows it (its body moved left, not
    a code block), a hyperlink reference as its text; e-mail addresses and ``literals`` are left alone."""
    quote = "It adds random jitter_ to the delay.\n\n.. versionadded:: 4.4"
    assert markup.as_page(quote, markup.RST) == "It adds random jitter to the delay.\n\nAdded in version 4.4."
    changed = (
        "Retries once.\n\n.. versionchanged:: 5.0\n   Now twice,\n   see `the guide <g.html>`_.\n\nNext."
    )
    assert markup.as_page(changed, markup.RST) == (
        "Retries once.\n\nChanged in version 5.0: Now twice, see the guide.\n\nNext."
    )
    assert markup.pieces(changed) == [markup.Piece(False, markup.version_notes(changed))]  # no code block
    # a note indented by a tab ends where its column does, as one indented by spaces
    tabbed = "Para.\n\n\t.. versionadded:: 1.0\n\n\tNext paragraph here."
    assert markup.as_page(tabbed, markup.RST) == "Para.\n\n\tAdded in version 1.0.\n\n\tNext paragraph here."
    kept = "Write to a_@x.org about ``class_`` or `roles`."
    assert markup.as_page(kept, markup.RST) == "Write to a_@x.org about `class_` or `roles`."
    assert (
        markup.as_page(quote, markup.MARKDOWN)
        == "It adds random jitter_ to the delay.\n\n.. versionadded:: 4.4"
    )


def test_a_heading_that_names_code_is_quoted_with_its_paragraph() -> None:
    """A Markdown heading of one code span is an object description: the first unit under it is quoted
    from the heading's words (its attribute block and blank line inside the verbatim range), under it as
    its section; a heading of words, or of code with words, stays a heading of its own."""
    text = (
        "# Middleware\n\n## `GZipMiddleware` { #gzipmiddleware }\n\nHandles GZip responses.\n\n"
        "Add it like this:\n\n```python\napp.add_middleware(GZipMiddleware)\n```\n\n"
        "### `fs.readFile(path[, options])`\n\nReads the file:\n\n```js\nfs.readFile('a')\n```\n\n"
        "## `UploadFile` with metadata\n\nAdd a description.\n\n## `Empty`\n\n### Below\n\nText.\n"
    )
    gzip = ("Middleware", "GZipMiddleware")
    assert units(text) == [
        ("heading", "Middleware", ()),
        (SENTENCE, "`GZipMiddleware` { #gzipmiddleware }\n\nHandles GZip responses.", gzip),
        (INTRO, "Add it like this:\n\n```python\napp.add_middleware(GZipMiddleware)\n```", gzip),
        (
            INTRO,
            "`fs.readFile(path[, options])`\n\nReads the file:\n\n```js\nfs.readFile('a')\n```",
            (*gzip, "fs.readFile(path[, options])"),
        ),
        ("heading", "`UploadFile` with metadata", ("Middleware",)),
        (SENTENCE, "Add a description.", ("Middleware", "UploadFile with metadata")),
        ("heading", "`Empty`", ("Middleware",)),  # nothing of its own under it
        ("heading", "Below", ("Middleware", "Empty")),
        (SENTENCE, "Text.", ("Middleware", "Empty", "Below")),
    ]
    rst = "``Thing``\n#########\n\nWhat it is.\n"
    assert units(rst, "thing.rst")[0][0] == "heading"  # reST's descriptions are its directives


def test_a_heading_that_names_code_shows_as_a_description() -> None:
    quote = "`GZipMiddleware` { #gzipmiddleware }\n\nHandles GZip\nresponses."
    assert markup.as_page(quote, markup.MARKDOWN) == "`GZipMiddleware`: Handles GZip responses."
    assert markup.pieces(quote) == [markup.Piece(False, "`GZipMiddleware`:\nHandles GZip\nresponses.")]
    assert markup.as_page("`x`\n\nText.", markup.RST) == "`x`\n\nText."


def test_a_rst_literal_block_ends_at_its_own_last_line() -> None:
    """A code block whose last line also occurs earlier in it (a closing bracket) is one block to that
    last line, not cut at the first bracket with the rest left as prose."""
    text = (
        'Cached\n======\n\nReturn it::\n\n    @app.route("/")\n    def index():\n        return Response(\n'
        "            timeout=50,\n        )\n\nThe end.\n"
    )
    assert units(text, "cache.rst") == [
        ("heading", "Cached", ()),
        (
            INTRO,
            'Return it::\n\n    @app.route("/")\n    def index():\n        return Response(\n'
            "            timeout=50,\n        )",
            ("Cached",),
        ),
        (SENTENCE, "The end.", ("Cached",)),
    ]


def test_a_rst_field_is_quoted_with_its_name() -> None:
    """A field list's value is quoted after the name that says what it is (":Number of Instances: 178",
    not "178" alone); a field whose body is a list introduces it; a name with no body stays as it is."""
    text = (
        "Wine\n====\n\n:Number of Instances: 178\n:Target: Column 11 is a measure of\n    progression.\n"
        ":Attribute Information:\n    - Alcohol\n    - Malic acid\n\n:Summary Statistics:\n\nThe end.\n"
    )
    assert units(text, "wine.rst") == [
        ("heading", "Wine", ()),
        (SENTENCE, ":Number of Instances: 178", ("Wine",)),
        (SENTENCE, ":Target: Column 11 is a measure of\n    progression.", ("Wine",)),
        (INTRO, ":Attribute Information:\n    - Alcohol\n    - Malic acid", ("Wine",)),
        (SENTENCE, ":Summary Statistics:", ("Wine",)),
        (SENTENCE, "The end.", ("Wine",)),
    ]


def test_a_rst_enumerated_list_is_a_list_its_markers_not_units_of_their_own() -> None:
    """docutils gives an enumerated item's paragraph, after its marker: the marker ("1.", "b)", "(iv)",
    "#.") is not a unit of its own, and the sentence introducing the list takes every item, as with
    bullets (CMake's command pages number the steps under a definition)."""
    text = (
        "Steps:\n\n1) Build it.\n2) Ship it.\n\n(a) Alpha comes first.\n(b) Beta second.\n\n"
        "``DEPENDS``\n  Each argument is read as follows:\n\n  1. A target is built first.\n"
        "  2. A file is a file.\n\n#. Auto one.\n#. Auto two.\n"
    )
    assert [(kind, quote) for kind, quote, _ in units(text, "steps.rst")] == [
        (INTRO, "Steps:\n\n1) Build it.\n2) Ship it."),
        (SENTENCE, "Alpha comes first."),
        (SENTENCE, "Beta second."),
        (
            INTRO,
            "``DEPENDS``\n  Each argument is read as follows:\n\n  1. A target is built first.\n"
            "  2. A file is a file.",
        ),
        (SENTENCE, "Auto one."),
        (SENTENCE, "Auto two."),
    ]
    # a marker-like word at the very end of the text is text
    assert [quote for _, quote, _ in units("Grades\n======\n\nThe best is\n\nA.", "grades.rst")][-1] == "A."


def test_rst_code_indented_by_two_spaces_is_shown_as_code() -> None:
    """reST reads a literal block by indentation deeper than its directive or "::" line, by any amount:
    CMake's pages indent code by two spaces, which Markdown would read as a paragraph (shown reflowed
    onto one line). A "::" line with nothing indented under it stays prose."""
    quote = (
        "Continuing from the above example, the code:\n\n.. code-block:: cmake\n\n"
        "  add_library(obj2 OBJECT obj2.c)\n  target_link_libraries(obj2 PUBLIC obj)\n\n"
        "  add_executable(main2 main2.c)\n\ncompiles ``obj2.c``. Or::\n\n  make all\n"
    )
    assert markup.pieces(quote, syntax=markup.RST) == [
        markup.Piece(False, "Continuing from the above example, the code:"),
        markup.Piece(
            True,
            "add_library(obj2 OBJECT obj2.c)\ntarget_link_libraries(obj2 PUBLIC obj)\n\n"
            "add_executable(main2 main2.c)",
            "cmake",
        ),
        markup.Piece(False, "compiles ``obj2.c``. Or:"),
        markup.Piece(True, "make all"),
    ]
    assert markup.pieces("A term::\nnot a block", syntax=markup.RST) == [
        markup.Piece(False, "A term::\nnot a block")
    ]
    assert markup.pieces(quote) != markup.pieces(quote, syntax=markup.RST)  # Markdown's rule sees no code
    # a tab is eight columns to docutils: tab-indented code under a "::" item indented by spaces
    tabbed = "* Build it::\n\n\tmake all\n\t    && make install\n\n  and go on."
    assert markup.pieces(tabbed, syntax=markup.RST) == [
        markup.Piece(False, "* Build it:"),
        markup.Piece(True, "make all\n    && make install"),
        markup.Piece(False, "and go on."),
    ]
    # the indentation's tabs are columns, as docutils reads them; a tab inside a line stays
    makefile = "Build with::\n\n    all:\n    \tgcc main.c\t-o main"
    assert markup.pieces(makefile, syntax=markup.RST)[1] == markup.Piece(
        True, "all:\n    gcc main.c\t-o main"
    )
    # Sphinx's doctest and console directives hold code; so does a paragraph opening with ">>>"
    doctest = "Usage:\n\n.. doctest::\n\n    >>> 1 + 1\n    2\n\nOr:\n\n>>> f(1)\n2\n\nDone."
    assert markup.pieces(doctest, syntax=markup.RST) == [
        markup.Piece(False, "Usage:"),
        markup.Piece(True, ">>> 1 + 1\n2", "pycon"),
        markup.Piece(False, "Or:"),
        markup.Piece(True, ">>> f(1)\n2", "pycon"),
        markup.Piece(False, "Done."),
    ]
    # a block in a list item or a field ends where the item's or field's next paragraph starts
    item = "Steps:\n\n1. Build it::\n\n     make\n\n   Then install it.\n2. Ship it."
    assert markup.pieces(item, syntax=markup.RST) == [
        markup.Piece(False, "Steps:\n\n1. Build it:"),
        markup.Piece(True, "make"),
        markup.Piece(False, "Then install it.\n2. Ship it."),
    ]
    field = ":param x: Example::\n\n      code\n\n   More about x."
    assert [p.code for p in markup.pieces(field, syntax=markup.RST)] == [False, True, False]
    # "::" with an indented line right under it is a definition, not a literal block
    term = "MyClass::\n   The class that does things."
    assert markup.pieces(term, syntax=markup.RST) == [markup.Piece(False, term)]
    # a quote that is a literal block (a CODE unit) is code whole
    assert markup.pieces("add_subdirectory(source_dir)", syntax=markup.RST, code=True) == [
        markup.Piece(True, "add_subdirectory(source_dir)")
    ]
    # a neighbour that is a literal block, taken from its line's start
    signature = "  configure_file(<input> <output>\n                 [COPYONLY] [@ONLY])"
    assert markup.pieces(signature, syntax=markup.RST) == [
        markup.Piece(True, "configure_file(<input> <output>\n               [COPYONLY] [@ONLY])")
    ]


rst_lines = st.sampled_from(
    [
        "Words here.",
        "Example::",
        ".. code-block:: cmake",
        "   :linenos:",
        "  two deep",
        "    four deep",
        "",
        "* item",
        "1. Step::",
        ":param x: Field::",
        ">>> f(1)",
        ".. doctest::",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(rst_lines, min_size=1, max_size=12).map("\n".join))
def test_rst_display_pieces_lose_no_words(quote: str) -> None:
    """However reST's literal blocks fall, every word of a quote is shown (but the directive's own)."""
    shown = " ".join(piece.text for piece in markup.pieces(quote, syntax=markup.RST))
    directive = {"code", "block", "cmake", "linenos", "doctest"}
    assert set(re.findall(r"\w+", quote)) - directive <= set(re.findall(r"\w+", shown))
