"""HTML, PDF and notebook documents: extracted text is what citations index, and `qabot show` prints it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qabot import markup, store
from qabot.answer import Answerer
from qabot.cli import main
from qabot.config import Settings
from qabot.corpus import load_corpus
from qabot.evaluate import QuoteChecker
from qabot.extract import html_text, notebook_text, unfurnished
from qabot.text import split

ARTICLE = """<!DOCTYPE html><html><head><title>Gyumri garrison grows | Example News</title>
<meta name="date" content="2024-03-05"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Gyumri garrison grows</h1>
<p>The garrison in Gyumri received forty new armoured vehicles in March, officials said on Tuesday.</p>
<p>The vehicles replace older models that had served since the late nineties at the base.</p>
<p>Local residents said the convoy took three hours to pass through the city centre.</p>
</article><footer>Subscribe to our newsletter. Cookie settings. Privacy policy.</footer></body></html>"""


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with the given lines of text (Helvetica), built by hand: no writer library needed."""
    return pages_pdf([lines])


def pages_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of these pages, each with its lines of text."""
    streams = [
        "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET" for lines in pages
    ]
    first = 4  # the first page's object number; each page is followed by its content stream
    kids = " ".join(f"{first + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, stream in enumerate(streams):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {first + 2 * i + 1} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    (tmp_path / "garrison.html").write_text(ARTICLE, encoding="utf-8")
    (doc,) = load_corpus(tmp_path).documents
    assert doc.title.startswith("Gyumri garrison grows")
    assert doc.date == "2024-03-05"
    assert "forty new armoured vehicles" in doc.text
    assert "Cookie settings" not in doc.text and "Sport" not in doc.text


MANUAL = """<!DOCTYPE html><html><head><title>Setup (libffi)</title></head><body><article>
<h1>Setup</h1><p>The first thing you must do is create an <code>ffi_cif</code> object that
matches the signature of the function you wish to call.  To prepare it, use
the function <code>ffi_prep_cif</code>.</p>
<p>You will need the following things installed before you start, each of them in a recent version:</p>
<ul><li>a C compiler that supports the
C99 standard and its complex types;</li><li>the make program, or another build tool that reads makefiles;</li>
<li>a shell that runs the configure script, with its usual utilities.</li></ul>
<table><tr><td>FFI_OK</td><td>everything
worked</td></tr><tr><td>FFI_BAD_ABI</td><td>the abi is invalid</td></tr></table>
<pre class="example">int main()
{
  ffi_cif cif;
}
</pre>
<p>That is all there is to it, and the example above shows every step of a whole call.</p>
</article></body></html>"""


def test_html_paragraphs_read_as_the_page_shows_them(tmp_path: Path) -> None:
    """A manual's HTML source wrapped at 80 columns: each paragraph is one line of the extracted text,
    blocks apart by a blank line, list items and table rows one a line, code with its own lines; so a
    sentence is not cut at the source's wrapping ("… create an ffi_cif object that" was one)."""
    (tmp_path / "setup.html").write_text(MANUAL, encoding="utf-8")
    (doc,) = load_corpus(tmp_path).documents
    assert (
        "The first thing you must do is create an ffi_cif object that matches the signature of the "
        "function you wish to call. To prepare it, use the function ffi_prep_cif.\n\n"
    ) in doc.text
    assert (
        "- a C compiler that supports the C99 standard and its complex types;\n"
        "- the make program, or another build tool that reads makefiles;\n"
    ) in doc.text
    assert "FFI_OK | everything worked\nFFI_BAD_ABI | the abi is invalid\n\n" in doc.text
    assert "```\nint main()\n{\n  ffi_cif cif;\n}\n```\n\nThat is all" in doc.text
    sentences = [doc.text[u.start : u.end] for u in split(doc.text, doc.path)]
    assert "To prepare it, use the function ffi_prep_cif." in sentences
    assert not any(s.endswith("object that") for s in sentences)
    # a block of several lines (code, a list, a table) is one unit, as in Markdown, not a line each
    assert "```\nint main()\n{\n  ffi_cif cif;\n}\n```" in sentences
    assert "FFI_OK | everything worked\nFFI_BAD_ABI | the abi is invalid" in sentences
    # the sentence introducing the list is quoted with it, the whole list one unit
    (listed,) = [s for s in sentences if "- " in s]
    assert listed.startswith("You will need the following things") and listed.count("\n- ") == 3


# A page of a generated manual (texinfo): no <article> or <main>, headings, a definition list with
# permalink anchors, a <pre> example with a blank line in it.
GENERATED = """<!DOCTYPE html><html><head><title>Primitive Types (libffi)</title></head><body lang="en">
<div class="subsection" id="Primitive-Types"><div class="header">
<p>Next: <a href="Structures.html">Structures</a>, Up: <a href="Types.html">Types</a>
[<a href="Index.html">Index</a>]</p></div><hr>
<h4 class="subsection">2.3.1 Primitive Types</h4>
<p><code>Libffi</code> provides a number of built-in type descriptors that can
be used to describe argument and return types:</p>
<dl compact="compact">
<dt id="index-ffi_005ftype_005fvoid"><span><code>ffi_type_void</code><a href="#index-ffi_005ftype_005fvoid"
 class="copiable-anchor"> &para;</a></span></dt>
<dd><p>The type <code>void</code>.  This cannot be used for argument types, only
for return values.</p></dd>
<dt id="index-ffi_005ftype_005fsint64"><span><code>ffi_type_sint64</code>
<a href="#index-ffi_005ftype_005fsint64" class="copiable-anchor"> &para;</a></span></dt>
<dd><p>A signed, 64-bit integer type.</p></dd>
</dl>
<h4 class="subsubsection">2.3.1.1 Pointers</h4>
<p>Each of these is of type <code>ffi_type</code>, so you must take the address when passing
to <code>ffi_prep_cif</code>, as in this example from the test suite below.</p>
<p>Here is the corresponding code to describe the call to libffi:</p>
<div class="example"><pre class="example">ffi_cif cif;
ffi_type *args[1];

args[0] = &amp;ffi_type_pointer;
</pre></div>
</div></body></html>"""


def test_a_generated_manual_keeps_its_headings_terms_and_examples(tmp_path: Path) -> None:
    """trafilatura reads a page without an article element down its recovery path, which drops headings
    and definition terms: the page is read as an article, terms sit above their definitions, headings
    are the section path of what follows them, and an example keeps its lines."""
    (tmp_path / "Primitive-Types.html").write_text(GENERATED, encoding="utf-8")
    (tmp_path / "policy.html").write_text(
        '<html><head><title>Abstract¶</title></head><body><div class="section">'
        '<h1>Abstract<a class="headerlink" href="#abstract">¶</a></h1>'
        "<p>This document describes the packaging of Python.</p></div></body></html>",
        encoding="utf-8",
    )
    doc, policy = load_corpus(tmp_path).documents
    assert "¶" not in doc.text and "Next:" not in doc.text  # permalinks and the navigation bar go
    assert policy.title == "Abstract"  # the <h1> repeats the title: a line, not a heading
    assert policy.text == "Abstract\n\nThis document describes the packaging of Python."
    units = {doc.text[u.start : u.end]: u for u in split(doc.text, doc.path)}
    assert "#### 2.3.1 Primitive Types\n" in doc.text
    assert units["2.3.1 Primitive Types"].kind == "heading"
    term = units["ffi_type_sint64\nA signed, 64-bit integer type."]
    assert term.section == ("2.3.1 Primitive Types",)
    assert units["2.3.1.1 Pointers"].section == ()  # same level (h4): a sibling, not a child
    example = "Here is the corresponding code to describe the call to libffi:\n\n"
    example += "```\nffi_cif cif;\nffi_type *args[1];\n\nargs[0] = &ffi_type_pointer;\n```"
    intro = units[example]
    assert intro.kind == "intro" and intro.section == ("2.3.1.1 Pointers",)


DOCBOOK_SECTION = (
    '<div class="sect1"><div class="titlepage"><div><div><h2 class="title" style="clear: both">'
    '<a name="s{n}"></a>{n}. {name}</h2></div></div></div><p>{body}</p><p>{body}</p></div>'
)


def test_a_docbook_heading_wrapped_in_divs_is_kept() -> None:
    """DocBook puts each heading alone in three <div>s, which trafilatura's main pass discards."""
    body = (
        "Compile your program with -g to include debugging information so that the error messages "
        "include exact line numbers, which makes the reports much easier to read and act upon."
    )
    names = ["Introduction", "Preparing your program", "Running your program"]
    sections = "".join(DOCBOOK_SECTION.format(n=n, name=name, body=body) for n, name in enumerate(names, 1))
    page = f'<html><head><title>Quick Start</title></head><body><div class="article">{sections}</div></body>'
    text, _ = html_text(page.encode())
    assert "\n\n## 2. Preparing your program\n\n" in text and "\n\n## 3. Running your program\n\n" in text
    assert [u.section for u in split(text, "quick-start.html")][-1] == ("3. Running your program",)


def test_code_in_a_page_is_fenced_and_quoted_with_the_sentence_introducing_it() -> None:
    """A <pre> is laid out between Markdown fence lines (longer ones when the code holds three backticks),
    so a one-line command is a block, a blank line or a "# comment" line inside stays code, and the
    terminal and Discord show it as code."""
    page = (
        "<html><head><title>Quick start</title></head><body><article><p>Memcheck is the default tool. "
        "If you normally run your program like this:</p><pre>myprog arg1 arg2</pre>"
        "<p>Write the suppression file as follows:</p><pre># a comment line\n\n{\n   ignore\n}</pre>"
        "<p>In Markdown a fence is written like this:</p><pre>```\ncode\n```</pre></article></body></html>"
    )
    text, _ = html_text(page.encode())
    units = [text[u.start : u.end] for u in split(text, "quick-start.html")]
    assert units == [
        "Memcheck is the default tool.",
        "If you normally run your program like this:\n\n```\nmyprog arg1 arg2\n```",
        "Write the suppression file as follows:\n\n```\n# a comment line\n\n{\n   ignore\n}\n```",
        "In Markdown a fence is written like this:\n\n````\n```\ncode\n```\n````",
    ]
    assert [p.code for p in markup.pieces(units[1])] == [False, True]
    assert markup.pieces(units[1])[1].text == "myprog arg1 arg2"


def test_two_flavours_of_an_example_in_one_pre_are_two_blocks() -> None:
    """Node.js's pages hold an example's ES module and CommonJS forms as two <code>s in one <pre> behind a
    toggle: each is a block of its own, not the second's first line run onto the first's last."""
    page = (
        "<html><head><title>Readline</title></head><body><article><p>Use the 'line' event:</p>"
        '<pre><input type="checkbox" checked><code class="language-js mjs">import { open } from '
        "'node:fs';\nopen();</code><code class=\"language-js cjs\">const { open } = require('node:fs');\n"
        "open();</code></pre><p>It is slower.</p></article></body></html>"
    )
    text, _ = html_text(page.encode())
    assert (
        "```\nimport { open } from 'node:fs';\nopen();\n```\n\n```\nconst { open } = require('node:fs');"
        in text
    )
    after = page.replace("</pre>", "</pre>After it.").replace("<p>It is slower.</p>", "")
    flat = html_text(after.encode())[0]
    assert flat.index("open();") < flat.index("require(") < flat.index("After it.")  # the page's order
    units = [text[u.start : u.end] for u in split(text, "readline.html")]
    assert units[:2] == [
        "Use the 'line' event:\n\n```\nimport { open } from 'node:fs';\nopen();\n```",
        "```\nconst { open } = require('node:fs');\nopen();\n```",
    ]


def test_a_table_laying_out_prose_is_read_as_paragraphs() -> None:
    """DocBook's FAQ is a table of question and answer cells; quoted as one table, an answer came with
    its neighbours, 1,500 characters at a time."""
    answer = "First of all: relax, it's probably not a bug, but a feature. " * 6
    page = (
        "<html><body><article><table><tr><td>4.1.</td><td>My program uses the C++ STL. Valgrind reports "
        f"leaks.</td></tr><tr><td></td><td>{answer}</td></tr></table>"
        "<table><tr><td>FFI_OK</td><td>everything worked</td></tr></table></article></body></html>"
    )
    text, _ = html_text(page.encode())
    cells = ["4.1.", "My program uses the C++ STL. Valgrind reports leaks.", answer.strip()]
    assert text == "\n\n".join([*cells, "FFI_OK | everything worked"])


def test_a_faq_laid_out_in_tables_reads_as_headings_questions_and_answers() -> None:
    """DocBook's FAQ: a table of contents linking to the questions below, then a table per section whose
    cells hold the heading, each question (after a link target, which made trafilatura drop it) and its
    answer's paragraphs and code. The contents go; the rest reads as the page shows it, each question
    the heading of its answer."""
    answer = "Valgrind runs the procedure in glibc when the program exits, to free what it allocated."
    page = (
        "<html><head><title>Valgrind FAQ</title></head><body><div class='article'><h1>Valgrind FAQ</h1><dl>"
        "<dt>1. <a href='faq.html#s1'>Background</a></dt><dd>1.1. <a href='faq.html#q1'>Why?</a></dd></dl>"
        "<table><tr class='qandadiv'><td colspan='2'><a name='s1'></a><h3>1. Background</h3></td></tr>"
        "<tr class='toc'><td>1.1. <a href='faq.html#q1'>Why?</a><br>1.2. <a href='#q2'>How?</a></td></tr>"
        "<tr class='question'><td><a name='q1'></a><b>1.1.</b></td><td><b>Why does it crash at exit?</b></td>"
        f"</tr><tr class='answer'><td></td><td><p>{answer}</p><p>Use the option:</p>"
        "<pre>--run-libc-freeres=no</pre></td></tr>"
        "<tr class='question'><td><a name='q2'></a><b>1.2.</b></td><td><b>My program dies like this:</b>"
        "<pre>valgrind: m_mallocfree.c:248</pre></td></tr>"
        f"<tr class='answer'><td></td><td><p>{answer}<br>Line two.</p></td></tr></table></div></body></html>"
    )
    text, _ = html_text(page.encode())
    assert text.split("\n\n") == [
        "Valgrind FAQ",
        "### 1. Background",
        "###### 1.1. Why does it crash at exit?",
        answer,
        "Use the option:",
        "```\n--run-libc-freeres=no\n```",
        "###### 1.2. My program dies like this:",
        "```\nvalgrind: m_mallocfree.c:248\n```",
        f"{answer} Line two.",
    ]
    # each question heads its answer, as in a Markdown FAQ: the answer is quoted under it
    first = next(u for u in split(text, "faq.html") if text[u.start : u.end] == answer)
    assert first.section == ("1. Background", "1.1. Why does it crash at exit?")


def test_an_mdbook_heading_made_of_a_link_is_kept_and_no_date_is_guessed() -> None:
    """mdBook's heading text is a link of class "header" (not a navigation bar), and a copyright line
    is no date: a page's date is one it states in its markup, as for `qabot add`."""
    body = "Running cargo test runs all the tests in parallel and captures their output by default. " * 4
    page = (
        "<html><head><title>Running Tests</title></head><body><main>"
        '<h2 id="controlling"><a class="header" href="#controlling">Controlling How Tests Are Run</a></h2>'
        f"<p>{body}</p><p>{body}</p></main><footer><p>© 2018 The Rust Project Developers</p></footer>"
        "</body></html>"
    )
    text, meta = html_text(page.encode())
    assert text.startswith("## Controlling How Tests Are Run\n\nRunning cargo test")
    assert "date" not in meta
    # trafilatura takes the part of the <title> a menu's <h1> repeats, the book's name: the page's is kept
    named = page.replace("<title>Running Tests</title>", "<title>Running Tests - The Rust Book</title>")
    menu = '<div class="menu-bar"><h1 class="menu-title">The Rust Book</h1></div>'
    named = named.replace("<body>", f"<body>{menu}")
    assert html_text(named.encode())[1]["title"] == "Running Tests - The Rust Book"
    # a timestamp in an example is no date either (Node.js's assert page prints one in a comment)
    example = page.replace("</main>", "<pre><code>// + 2018-04-26T00:49:08.604Z</code></pre></main>")
    assert "date" not in html_text(example.encode())[1]
    stated = example.replace("<head>", '<head><meta name="date" content="2024-03-05">')
    assert html_text(stated.encode())[1]["date"] == "2024-03-05"
    declared = '<?xml version="1.0" encoding="UTF-8"?>' + example
    assert "date" not in html_text(declared.encode())[1]
    # the title is read from the whole page: a first heading holding code is still its title
    module = page.replace("<main>", "<main><h1><code>asyncio</code> Asynchronous I/O</h1>").replace(
        "<title>Running Tests</title>", "<title>asyncio Asynchronous I/O - Python 3.12 documentation</title>"
    )
    assert html_text(module.encode())[1]["title"] == "asyncio Asynchronous I/O"


def test_pdf_text_and_unreadable_pdf(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(minimal_pdf(["Annual report.", "The base hosts 5,000 troops."]))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    result = load_corpus(tmp_path)
    (doc,) = result.documents
    assert "The base hosts 5,000 troops." in doc.text
    assert [p.path for p in result.problems] == ["broken.pdf"]


def test_a_pdf_is_read_without_its_running_heads_and_page_numbers(tmp_path: Path) -> None:
    """A printed page's head and number are layout: they neither start a page's text nor cut a sentence
    that goes on over the page break."""
    body = [
        [
            "The garrison at Gyumri was reinforced in March, when forty armoured",
            "vehicles arrived by rail. Their",
        ],
        ["crews trained for six weeks before the vehicles were assigned to the", "two battalions."],
        ["The second battalion moved to the border in May."],
    ]
    pages = [["Garrison report", *lines, str(number)] for number, lines in enumerate(body, start=1)]
    (tmp_path / "report.pdf").write_bytes(pages_pdf(pages))
    (doc,) = load_corpus(tmp_path).documents
    assert "Garrison report" not in doc.text and not re.search(r"^\d+$", doc.text, re.MULTILINE)
    units = [doc.text[u.start : u.end] for u in split(doc.text, doc.path)]
    crossing = "Their\ncrews trained for six weeks before the vehicles were assigned to the\ntwo battalions."
    assert any(crossing in unit for unit in units)


def test_page_furniture_is_told_from_text() -> None:
    """Chapter heads numbered as the pages are go, front matter's roman numbers go; a number that is not
    the page's, a line repeated on too few pages and every line inside a page stay."""
    pages = [
        "i\nContents",
        "1\n1 Introduction\nThe library parses ASN.1.",
        "Chapter 1: Introduction 2\nIt is portable.\nNothing else is needed.",
        "Chapter 1: Introduction 3\nIt counts 7 types.\nSee chapter 2",
        "Chapter 2: Utilities 4\nTwo tools ship with it.\nUsage 12",
    ]
    assert unfurnished(pages) == [
        "Contents",
        "1 Introduction\nThe library parses ASN.1.",  # the chapter's number, not the page's
        "It is portable.\nNothing else is needed.",
        "It counts 7 types.\nSee chapter 2",
        "Two tools ship with it.\nUsage 12",
    ]
    listing = [f"int f{i}(void) {{\n  return {i};\n}}" for i in range(4)]
    assert unfurnished(listing) == listing  # a closing brace is no running foot
    # numbered at the foot only: a chapter's first line at the top stays; so do a footnote's mark and a
    # table's last cell, which are not the page's number
    chapters = ["1 Introduction\nIt parses.\n1", "It is portable.\n2", "2 Tools\nTwo ship.\n3", "Size:\n4\n4"]
    assert unfurnished([*chapters, "Two more.\n¹\n5"]) == [
        "1 Introduction\nIt parses.",
        "It is portable.",
        "2 Tools\nTwo ship.",
        "Size:\n4",
        "Two more.\n¹",
    ]


_PAGE_LINE = st.one_of(
    st.sampled_from(["Running head", "Chapter 2: Tools 7", "12", "iv", "- 3 -", "}", ""]),
    st.text(st.sampled_from("ab 1.:-"), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PAGE_LINE, min_size=1, max_size=6), max_size=8))
def test_only_a_pages_edges_are_left_out(pages: list[list[str]]) -> None:
    """Whatever the pages, each keeps a run of its lines, losing at most two at either edge."""
    texts = ["\n".join(lines) for lines in pages]
    for text, kept in zip(texts, unfurnished(texts), strict=True):
        lines = text.split("\n")
        runs = {
            "\n".join(lines[a : len(lines) - b]).strip()
            for a in range(3)
            for b in range(3)
            if a + b < len(lines) or len(lines) == 1
        }
        assert kept in runs or kept == text.strip()


def test_quotes_from_html_and_pdf_are_verbatim_in_the_extracted_text(fresh_index: Settings) -> None:
    corpus = fresh_index.corpus_dir
    (corpus / "garrison.html").write_text(ARTICLE, encoding="utf-8")
    (corpus / "report.pdf").write_bytes(
        minimal_pdf(["Annual report of the garrison.", "It counts 812 tanks."])
    )
    store.build(fresh_index)
    index = store.open_index(fresh_index)
    answerer = Answerer(index, min_confidence=0.0)
    checker = QuoteChecker(corpus)
    html_quote = answerer.answer("How many armoured vehicles did the Gyumri garrison receive?", 1).quotes[0]
    pdf_quote = answerer.answer("How many tanks does the garrison count?", 1).quotes[0]
    assert html_quote.source.path == "garrison.html" and "forty" in html_quote.text
    assert pdf_quote.source.path == "report.pdf" and "812 tanks" in pdf_quote.text
    assert checker(html_quote) and checker(pdf_quote)
    options = ["--corpus", str(corpus), "--index", str(fresh_index.index_dir)]
    shown = CliRunner().invoke(main, ["show", *options, "garrison", "--json"])
    text = json.loads(shown.output)["text"]
    assert text[html_quote.start : html_quote.end] == html_quote.text
    missing = CliRunner().invoke(main, ["show", *options, "nothing-like-this"])
    assert missing.exit_code == 1 and "no indexed document" in missing.output
    index.close()


def notebook(cells: list[dict[str, object]], language: str = "python") -> bytes:
    """A Jupyter notebook of format 4 with these cells, as Jupyter writes one."""
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": language}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}).encode()


NOTEBOOK = notebook(
    [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": ["# Ordinary Least Squares\n", "\n", "Fit a line."],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": "X = sm.add_constant(X)\nmodel = sm.OLS(y, X)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["lots of output\n"]}],
        },
        {"cell_type": "raw", "metadata": {}, "source": "raw cell"},
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "Our model needs an intercept, so we add a column of 1s:",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": ["s = '```'\n", "X = sm.add_constant(X)"],
            "outputs": [],
        },
        {"cell_type": "code", "metadata": {}, "source": [], "outputs": []},
    ]
)


def test_a_notebook_is_read_as_its_markdown_and_code_cells(tmp_path: Path) -> None:
    text, meta = notebook_text(NOTEBOOK)
    assert meta == {"title": "Ordinary Least Squares"}
    assert text == (
        "# Ordinary Least Squares\n\nFit a line.\n\n"
        "```python\nX = sm.add_constant(X)\nmodel = sm.OLS(y, X)\n```\n\n"
        "Our model needs an intercept, so we add a column of 1s:\n\n"
        "````python\ns = '```'\nX = sm.add_constant(X)\n````"
    )  # outputs, raw and empty cells left out; a fence longer than any in the code
    (tmp_path / "ols.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (tmp_path / "old.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": []}), encoding="utf-8")
    result = load_corpus(tmp_path)
    (doc,) = result.documents
    assert (doc.title, doc.syntax) == ("Ordinary Least Squares", markup.MARKDOWN)
    problems = {p.path: p.reason for p in result.problems}
    assert problems.keys() == {"broken.ipynb", "old.ipynb"} and "format 3" in problems["old.ipynb"]
    units = [(u.kind, doc.text[u.start : u.end]) for u in split(doc.text, doc.path, 0, doc.syntax)]
    assert ("intro", text[text.index("Our model") :]) in units  # the sentence with the code it introduces


def test_a_notebook_quote_is_verbatim_in_its_extracted_text(fresh_index: Settings) -> None:
    (fresh_index.corpus_dir / "ols.ipynb").write_bytes(NOTEBOOK)
    store.build(fresh_index)
    index = store.open_index(fresh_index)
    try:
        quote = (
            Answerer(index, min_confidence=0.0).answer("how do I add an intercept column to X?", 1).quotes[0]
        )
    finally:
        index.close()
    assert quote.source.path == "ols.ipynb" and "sm.add_constant(X)" in quote.text
    assert QuoteChecker(fresh_index.corpus_dir)(quote)


def test_a_docs_site_s_name_is_left_out_of_its_pages_titles(tmp_path: Path) -> None:
    def page(title: str, heading: str) -> str:
        words = f"<p>{heading} does one thing well, as this page explains at some length for the reader.</p>"
        body = f"<body><main><h1>{heading}</h1>{words}</main></body>"
        return f"<html><head><title>{title}</title></head>{body}</html>"

    for name in ("add", "build", "check"):
        (tmp_path / f"cargo-{name}.html").write_text(page(f"cargo {name} - The Cargo Book", f"cargo {name}"))
    (tmp_path / "faq.html").write_text(page("Frequently Asked Questions - Cargo FAQ", "FAQ"))
    (tmp_path / "notes.md").write_text("# Release - The Cargo Book\n\nA note.\n")
    titles = {d.path: d.title for d in load_corpus(tmp_path).documents}
    assert titles == {
        "cargo-add.html": "cargo add",
        "cargo-build.html": "cargo build",
        "cargo-check.html": "cargo check",
        "faq.html": "Frequently Asked Questions - Cargo FAQ",  # its own tail, on one page only
        "notes.md": "Release - The Cargo Book",  # a Markdown page's title is its own
    }


def sphinx_page(title: str, body: str) -> str:
    """A page as Sphinx's classic theme lays it out: the text in div.body, a sidebar, a footer."""
    return (
        f"<html><head><title>{title} — Requests documentation</title></head><body><div class='document'>"
        f"<div class='documentwrapper'><div class='bodywrapper'><div class='body' role='main'>{body}"
        "</div></div></div><div class='sphinxsidebar' role='navigation'><a href='index.html'>Home</a>"
        "</div></div><div class='footer'>&copy; 2022</div></body></html>"
    )


def test_a_long_highlighted_code_block_keeps_its_lines() -> None:
    """trafilatura puts a long <div class="highlight"> (Sphinx's code pages) in a <quote>: its code is still
    a fenced block line by line, not one run-on paragraph split into "sentences"."""
    code = "\n".join(
        f"<span class='k'>def</span> <span class='nf'>f{i}</span>(x):\n"
        f"    <span class='k'>return</span> x + {i}\n"
        for i in range(40)
    )
    html = sphinx_page(
        "m", f"<h1>Source code for m</h1><div class='highlight'><pre><span></span>{code}</pre></div>"
    )
    text, _ = html_text(html.encode())
    assert "```\ndef f0(x):\n    return x + 0\n\ndef f1(x):" in text
    assert markup.pieces(text[text.index("```") :])[0].code


def test_the_files_a_sphinx_build_makes_beside_its_pages_are_skipped_and_reported(tmp_path: Path) -> None:
    """A built Sphinx site holds each page's source again (_sources/), the package's code as pages
    (_modules/) and index pages of links: read, every answer would be there twice or quote a listing."""
    site = tmp_path / "html"
    words = "<p>Requests lets you set a timeout on every request, in seconds, with the timeout argument.</p>"
    for rel, content in {
        "user/advanced.html": sphinx_page("Advanced Usage", f"<h1>Advanced Usage</h1>{words}"),
        "_sources/user/advanced.rst.txt": "Advanced Usage\n==============\n\nSet a timeout.\n",
        "_modules/requests/api.html": sphinx_page(
            "requests.api", "<h1>Source code</h1><pre>def get(): pass</pre>"
        ),
        "genindex.html": sphinx_page("Index", "<h1>Index</h1><ul><li><a href='api.html'>get()</a></li></ul>"),
        "search.html": sphinx_page("Search", "<h1>Search</h1><p>Please activate JavaScript to search.</p>"),
        "searchindex.js": "Search.setIndex({})",
    }.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(content)
    (tmp_path / "notes" / "_sources").mkdir(parents=True)  # outside a build, a folder of that name is read
    (tmp_path / "notes" / "_sources" / "ideas.md").write_text("# Ideas\n\nWrite the timeout guide.\n")
    loaded = load_corpus(tmp_path)
    assert [d.path for d in loaded.documents] == ["html/user/advanced.html", "notes/_sources/ideas.md"]
    generated = {p.path: p.generated for p in loaded.problems if p.generated}
    assert generated == {
        "html/_sources/user/advanced.rst.txt": "_sources",
        "html/_modules/requests/api.html": "_modules",
        "html/genindex.html": "index pages",
        "html/search.html": "index pages",
    }
    result = CliRunner().invoke(main, ["index", "--corpus", str(tmp_path), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    line = "skipped 4 files a docs generator makes beside its pages: index pages (2), "
    assert line + "_modules, _sources" in out  # the largest part first, then in path order


def test_the_files_doxygen_makes_beside_its_pages_are_skipped(tmp_path: Path) -> None:
    """Doxygen's output: search stubs ("Loading... Searching... No Matches"), source listings, pages of the
    docs' own source files and index pages go; the guides and references stay."""
    words = "<p>GLFW_RESIZABLE specifies whether the windowed mode window will be resizable by the user.</p>"
    pages = {
        "window_guide.html": sphinx_page("Window guide", f"<h1>Window guide</h1>{words}"),
        "group__window.html": sphinx_page("Window reference", f"<h1>Window reference</h1>{words}"),
        "d6/d30/glfw3_8h_source.html": sphinx_page(
            "glfw3.h Source File", "<pre>#define GLFW_RESIZABLE 0x20003</pre>"
        ),
        "window_8dox.html": sphinx_page("window.dox File Reference", "<p>Go to the source code.</p>"),
        "dir_49e56c.html": sphinx_page("docs Directory Reference", "<p>Files</p>"),
        "files.html": sphinx_page("File List", "<p>Here is a list of all files.</p>"),
        "search/all_0.html": "<html><body><div>Loading...</div><div>Searching...</div></body></html>",
        "doxygen.css": "body { }",
    }
    for rel, content in pages.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content)
    loaded = load_corpus(tmp_path)
    assert [d.path for d in loaded.documents] == ["group__window.html", "window_guide.html"]
    assert {p.path: p.generated for p in loaded.problems if p.generated} == {
        "dir_49e56c.html": "index pages",
        "files.html": "index pages",
        "d6/d30/glfw3_8h_source.html": "source listings",  # in a folder, as CREATE_SUBDIRS puts pages
        "search/all_0.html": "search",
        "window_8dox.html": "pages of the docs' source files",
    }


def test_a_site_name_heading_every_title_is_left_out(tmp_path: Path) -> None:
    """Doxygen titles every page "Project: Page" ("GLFW: Window guide"); a head shared by few pages stays."""

    def page(title: str) -> str:
        words = "<p>This page explains one part of the library at some length for the reader.</p>"
        body = f"<body><main><h1>{title}</h1>{words}</main></body>"
        return f"<html><head><title>{title}</title></head>{body}</html>"

    for name in ("Window guide", "Input guide", "Context guide", "Monitor guide"):
        (tmp_path / f"{name.split()[0].lower()}.html").write_text(page(f"GLFW: {name}"))
    (tmp_path / "faq.html").write_text(page("Note: read this first"))
    titles = sorted(d.title for d in load_corpus(tmp_path).documents)
    assert titles == [
        "Context guide",
        "Input guide",
        "Monitor guide",
        "Note: read this first",
        "Window guide",
    ]


def test_a_doxygen_page_keeps_its_headings_code_and_declarations() -> None:
    """Doxygen's pages: an empty <div id="main-nav"> is not the article (taking it for one lost every heading
    and the member documentation), code is a <div> a line with a hidden hover card after it, a member's
    declaration is a table, and its heading starts with a "◆" permalink."""
    page = (
        "<html><head><title>GLFW: Window reference</title></head><body><div id='top'><div id='main-nav'>"
        "</div></div><div class='contents'><div class='textblock'><h2><a class='anchor' id='swap'></a>"
        "Swapping buffers</h2><p>When the entire frame has been rendered, the buffers need to be swapped "
        "with one another, so the back buffer becomes the front buffer and vice versa.</p>"
        "<div class='fragment'><div class='line'><a class='code' href='#x'>glfwSwapBuffers</a>(window);</div>"
        "<div class='line'>glfwPollEvents();</div><div class='ttc' id='x'><div class='ttname'>glfwSwapBuffers"
        "</div><div class='ttdeci'>void glfwSwapBuffers(GLFWwindow *window)</div></div></div>"
        "<h2 class='memtitle'><span class='permalink'><a href='#ga1'>&#9670;&#160;</a></span>"
        "glfwMakeContextCurrent()</h2><div class='memitem'><div class='memproto'><table class='memname'><tr>"
        "<td class='memname'>void glfwMakeContextCurrent </td><td>(</td><td class='paramtype'>GLFWwindow "
        "*&#160;</td><td class='paramname'><em>window</em></td><td>)</td></tr></table></div>"
        "<div class='memdoc'><p>This function makes the OpenGL or OpenGL ES context of the specified window "
        "current on the calling thread.</p><dl class='params'><dt>Parameters</dt><dd><table class='params'>"
        "<tr><td class='paramdir'>[in]</td><td class='paramname'>window</td><td>The window whose context to "
        "make current, or <code>NULL</code> to detach the current context.</td></tr></table></dd></dl>"
        "</div></div></div></div></body></html>"
    )
    text, _ = html_text(page.encode())
    assert "## Swapping buffers" in text
    assert "```\nglfwSwapBuffers(window);\nglfwPollEvents();\n```" in text
    assert "void glfwSwapBuffers(GLFWwindow *window)" not in text  # the hover card
    assert "## glfwMakeContextCurrent()" in text and "◆" not in text
    assert "```\nvoid glfwMakeContextCurrent (GLFWwindow * window)\n```" in text
    assert (
        "- [in] window The window whose context to make current, or NULL to detach the current context."
        in text
    )
