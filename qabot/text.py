"""Sentence segmentation with character offsets, and chunking of sentences for the embedding model.

The one invariant everything else leans on: for every span, `text[span.start:span.end]` is the sentence.
sentencex decides where sentences end within a line (it knows U.S., Dr., Gen., quotations); in plain text
a line break ends a sentence (headlines, bylines, list lines) unless the text is hard-wrapped at a width
and the line was cut by the wrapping (`wrap_width`). pysbd, which qabot used before, was 200 times slower
(benchmarks/segmentation.py). Offsets are found by locating each segment in the
original text, so they can never drift.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from qabot import markup

# Paragraphs are separated by blank lines; headlines and date lines sit in paragraphs of their own.
_GAP = re.compile(r"\n\s*\n")
# A leading date line ("Date: 23 February 2021", "date 2023-12-28") is its own unit even when a
# headline follows on the same line.
_DATE_LINE = re.compile(
    r"(?i)date:?\s+(?:\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+\.?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4})\b"
)
# bump when segmentation, or what the loader derives for units (titles, section paths), changes, so
# incremental builds re-split every document (5: HTML pages have headings and introduced blocks; 6: what
# is embedded keeps angle brackets that are not HTML tags, HTML FAQs and prose tables read as blocks;
# 7: a reST definition list is a list, each term quoted with its definition; 8: a reST block ends at
# its last line, not at an earlier line like it; 9: Sphinx object descriptions and version notes are
# prose under their signature, tabs and panes hold reST; 10: a Markdown heading that is one code span is
# quoted with the paragraph under it; 11: a Markdown or reST page that opens with a sentence is titled
# by its file name, a Markdown page by a first-level heading only; 12: mkdocstrings' YAML options
# under a `::: name` line are not text; 13: plain text hard-wrapped at a width is read by the sentence,
# not by the line, and rule lines are not units; 14: in it, a sentence that introduces an indented block
# is quoted with the block; 15: in it, a paragraph up to MAX_PARAGRAPH_CHARS is one unit, as in Markdown;
# 16: an underlined line of plain text is a heading; 17: text wrapped at up to 120 columns, as a PDF's
# extracted lines are, is hard-wrapped; 18: plain text's units carry their underlined headings' path;
# 19: a wrapped line goes on only when it is mostly letters, not a row of numbers or box drawing; 20: a
# paragraph over a separator line is not a heading; 21: a rule line parts paragraphs and blocks too; 22:
# a wrapped manual's prose units are documentation units, `PARAGRAPH`; 23: a .txt file with reST's
# explicit markup is read as reST, `markup.syntax_of`; 24: numbered headings of wrapped plain text,
# `numbered_headings`; 25: a reST enumerated item's marker is not a unit of its own, and its list is
# introduced as a bullet list is; 26: CMake's `.. variable::` and `.. genex::` are object descriptions;
# 27: a marker-like word that ends a reST text is text; 28: a sentence in a list item introduces the
# list nested under it, `Block.lists`; 29: colon fences (MyST, Docusaurus, VitePress) and MDX's imports
# and comments are not text, `.mdx` is Markdown; 30: a colon fence is not one indented as code, MDX's
# imports only those opening the page; 31: AsciiDoc read with its structure, `.adoc` files and `.txt` files
# with AsciiDoc's markup, `qabot.asciidoc`; 32: its numbered items, breaks and header lines, and more of its
# marks: one-line titles, cross references, a term over its description, a file an AsciiDoc page includes;
# MDX's `export` statements; a
# sentence introducing code takes the code of the other tabs after it; MkDocs' content tabs, `=== "pip"`)
SEGMENTER_VERSION = 32
MAX_SENTENCE_CHARS = 1000  # longer runs (tables, unpunctuated dumps) are cut at whitespace


SENTENCE = "sentence"
INTRO = "intro"  # a sentence introducing a block (code, list, table, include) quoted with the block
# Prose of a hard-wrapped manual (plain text with indented examples): a documentation unit like the
# examples around it, read and trusted as they are, so that one page's quotes are not ranked by one
# confidence and labelled by another (wrapped prose without examples stays prose: docs/benchmarks.md)
PARAGRAPH = "paragraph"
# A sentence ending so introduces what follows it ("Run the live server:", "It looks like this.")
_INTRODUCES = re.compile(
    r"(?:[:：]|\b(?:like this|as follows|like so|the following|for example|for instance|below))[.!]?$",
    re.IGNORECASE,
)
# Blocks longer than this are cut at a line end, visibly (`Span.cut`), the rest quoted on its own:
# about 30 lines of code, which is what a terminal panel or a Discord message shows comfortably.
MAX_BLOCK_CHARS = 1500
# A paragraph of documentation up to this long is quoted whole: its sentences lean on each other ("Let's
# say you want X." "Then declare Y."); a longer one is quoted by the sentence.
MAX_PARAGRAPH_CHARS = 600
_TERM_ALONE = re.compile(r"(?:::|;;)\s*\n\s*\n\s*\Z")
CHAINED_CHARS = 200  # a paragraph this short between an introducing sentence and its block joins them
# Plain text is either a paragraph a line (news, exports) or hard-wrapped at a width (licences, specs,
# READMEs, e-mail), where a line that reaches near the width was cut by the wrapping, not by its writer.
MAX_WRAP_WIDTH = 120  # a PDF page's extracted lines run to about 110 characters
FULL_LINE = 0.75  # of the width: a line at least this long continues on the next
# A line not ending a clause, followed by one that starts lowercase, continues too (an indented block is
# wrapped narrower than the page).
_OPEN_END = re.compile(r"[^.!?:;]$")
# An underline or separator ("=====", "-----", "*****"), or the "<" that closes an example in Vim's help:
# layout, not text.
_RULE = re.compile(r"[ \t]*(?:([=\-~^*#_+])\1{2,}|<)[ \t]*")
MAX_TITLE_CHARS = 100  # an underlined line longer than this is a paragraph over a separator
# A line that starts a list item starts a unit even after a full line.
_ITEM = re.compile(r"[ \t]*(?:[*+\-•]|\d{1,3}[.)]|[a-z][.)]|\([0-9a-zA-Z]{1,3}\))[ \t]")


@dataclass(frozen=True)
class Span:
    """A quotable unit, `text[start:end]`: a sentence, or in a structured document also a heading, a
    code block, a table, or a sentence with the block it introduces (`kind`), under its `section`
    path of headings. `cut` marks a block that continues past `end` (in the next unit)."""

    start: int
    end: int
    kind: str = SENTENCE
    section: tuple[str, ...] = ()
    cut: bool = False


def split(text: str, path: str, start: int = 0, syntax: str = "") -> list[Span]:
    """The units of a document: Markdown and reST by their structure (qabot.markup), an HTML page's text
    by its blocks (`_html_units`), others as sentences; how it is read is `syntax` (a `Document`'s), or
    `markup.syntax_of` when not given."""
    syntax = syntax or markup.syntax_of(path, text[start:])
    if syntax == markup.HTML_TEXT:
        return _html_units(text, start)
    if not markup.structured(syntax):
        width = wrap_width(text, start)
        headings = numbered_headings(text, start, width) if width else frozenset()
        spans = segment(text, start, width=width, headings=headings)
        plain = _sections(text, _indented_blocks(text, spans) if width else spans, headings)
        if width and any(u.kind == INTRO for u in plain):  # a manual: its prose is documentation too
            return [
                Span(u.start, u.end, PARAGRAPH, u.section, u.cut) if u.kind == SENTENCE else u for u in plain
            ]
        return plain
    try:
        blocks = markup.blocks(text, syntax, start)
    except Exception:  # a parser bug on odd input (docutils has raised on some): lose structure, not text
        return segment(text, start, wrapped=True)
    return units(text, blocks)


_HTML_HEADING = re.compile(r"(#{1,6}) +(\S[^\n]*)")
_HTML_CODE = re.compile(r"^(`{3,})\n(?:.*?\n)?\1$", re.DOTALL | re.MULTILINE)


def _html_units(text: str, start: int) -> list[Span]:
    """Units of a page's extracted text (qabot.extract lays a paragraph out on one line and marks
    headings and code as Markdown does): a paragraph's sentences; a code block, and a block of several
    lines (a list, a table, a term with its definition), whole, as Markdown's blocks are, with the
    sentence introducing it when there is one ("Here is the corresponding code:"); each under the
    headings above it."""
    out: list[Span] = []
    path: list[tuple[int, str]] = []  # (level, words) of the headings above
    paragraphs = _html_paragraphs(text, start)
    i = 0
    while i < len(paragraphs):
        first, last, code = paragraphs[i]
        section = tuple(name for _, name in path)
        heading = None if code else _HTML_HEADING.fullmatch(text, first, last)
        if heading:
            level = len(heading.group(1))
            path = [h for h in path if h[0] < level]
            out.append(Span(heading.start(2), last, markup.HEADING, tuple(name for _, name in path)))
            path.append((level, " ".join(heading.group(2).split())))
        elif code or "\n" in text[first:last]:
            kind = markup.CODE if code else SENTENCE
            out.extend(_block_units(text, first, [markup.Block(kind, first, last)], kind, section))
        else:
            sentences = segment(text, first, last)
            after = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
            if (
                after is not None
                and (after[2] or "\n" in text[after[0] : after[1]])
                and _introduces(text, sentences)
            ):
                taken = [markup.Block(markup.CODE if after[2] else SENTENCE, after[0], after[1])]
                out.extend(_with_blocks(text, sentences, taken, section))
                i += 2
                continue
            out.extend(Span(s.start, s.end, SENTENCE, section) for s in sentences)
        i += 1
    return out


def _html_paragraphs(text: str, start: int) -> list[tuple[int, int, bool]]:
    """The blank-line separated paragraphs of a page's text as (start, end, is fenced code); a code
    block is one paragraph whatever blank lines it holds."""
    out: list[tuple[int, int, bool]] = []
    cursor = start
    for code in [*_HTML_CODE.finditer(text, start), None]:
        end = len(text) if code is None else code.start()
        for gap in [*_GAP.finditer(text, cursor, end), None]:
            stop = end if gap is None else gap.start()
            first, last = markup.trimmed(text, cursor, stop)
            if last > first:
                out.append((first, last, False))
            cursor = end if gap is None else gap.end()
        if code is not None:
            out.append((code.start(), code.end(), True))
            cursor = code.end()
    return out


def units(text: str, blocks: Sequence[markup.Block]) -> list[Span]:
    """Quote units of a structured document: sentences of prose, headings, and blocks whole, a sentence
    that introduces a block quoted together with it (`INTRO`); code is never split into sentences."""
    out: list[Span] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.kind == markup.PROSE:
            sentences = segment(text, block.start, block.end, wrapped=True)
            if block.end - block.start <= MAX_PARAGRAPH_CHARS and len(sentences) > 1:
                sentences = [Span(sentences[0].start, sentences[-1].end)]  # a short paragraph is one unit
            elif len(sentences) > 1 and _TERM_ALONE.match(text, sentences[0].end - 2, sentences[1].start):
                # an AsciiDoc term over its description ("--patch::", a blank line, "Interactively …")
                sentences = [Span(sentences[0].start, sentences[1].end), *sentences[2:]]
            taken = _introduced(text, blocks, i) if sentences else []
            if taken and _introduces(text, sentences):
                out.extend(_with_blocks(text, sentences, taken, block.section))
                i += 1 + len(taken)
                continue
            out.extend(Span(s.start, s.end, SENTENCE, block.section) for s in sentences)
        else:
            out.extend(_block_units(text, block.start, [block], block.kind, block.section))
        i += 1
    return _described(text, out)


# A heading that names one thing of code ("## `GZipMiddleware`", "### `fs.readFile(path[, options])`") is
# the Markdown form of an object description: the paragraph under it says what that thing is or does
# ("Handles GZip responses for any request that includes ...") and is read with it, as a Sphinx
# description's body is read with its signature (qabot.rst).


def _described(text: str, units: list[Span]) -> list[Span]:
    """`units` with each heading that is one code span joined to the unit after it when that unit is the
    first of the prose under it (a sentence, or a sentence with the block it introduces): one verbatim
    range from the heading's words to the unit's end, under the heading's section."""
    out: list[Span] = []
    i = 0
    while i < len(units):
        head = units[i]
        after = units[i + 1] if i + 1 < len(units) else None
        if (
            head.kind == markup.HEADING
            and after is not None
            and after.kind in {SENTENCE, INTRO}
            and after.section[:-1] == head.section
            and markup.CODE_NAME.fullmatch(text, head.start, head.end)
            and markup.HEADING_TAIL.fullmatch(text, head.end, after.start)
        ):
            out.append(Span(head.start, after.end, after.kind, after.section, after.cut))
            i += 2
            continue
        out.append(head)
        i += 1
    return out


# Vim's help ends a line that introduces an example with " >"; other plain text with a colon.
_PLAIN_INTRODUCES = re.compile(_INTRODUCES.pattern.replace("$", r"(?:\s+>)?$"), re.IGNORECASE)


def _indent(text: str, at: int) -> int:
    """The indentation of the line holding offset `at`, tabs to the next multiple of 8."""
    line_start = text.rfind("\n", 0, at) + 1
    return len(text[line_start:at].expandtabs(8)) if not text[line_start:at].strip() else 0


def _indented_blocks(text: str, spans: list[Span]) -> list[Span]:
    """Hard-wrapped plain text's units with each sentence that introduces an indented block (a command,
    an example, a list: "…throws away all changes: >" over "\t:q!") joined with that block, one verbatim
    range up to MAX_BLOCK_CHARS: the answer to "how do I …" is usually the block, which no sentence holds."""
    out: list[Span] = []
    i = 0
    while i < len(spans):
        intro = spans[i]
        j = i + 1
        if intro.kind == SENTENCE and _PLAIN_INTRODUCES.search(text, intro.start, intro.end):
            depth = _indent(text, intro.start)
            while (
                j < len(spans)
                and _indent(text, spans[j].start) > depth
                and spans[j].end - intro.start <= MAX_BLOCK_CHARS
                and not text[spans[j - 1].end : spans[j].start].strip()  # no rule line between
            ):
                j += 1
        first = intro.start
        if j > i + 1:  # a short paragraph ending in the introduction comes along, as in Markdown (`units`)
            while (
                out
                and out[-1].kind == SENTENCE
                and not _apart(text, out[-1].end, first)
                and intro.end - out[-1].start <= MAX_PARAGRAPH_CHARS
            ):
                first = out.pop().start
        out.append(Span(first, spans[j - 1].end, INTRO) if j > i + 1 else intro)
        i = j
    return _short_paragraphs(text, out)


def _short_paragraphs(text: str, units: list[Span]) -> list[Span]:
    """`units` with each paragraph of sentences up to MAX_PARAGRAPH_CHARS long read as one unit, as a
    Markdown paragraph is (`units`): a list item and a block stay units of their own."""
    out: list[Span] = []
    run: list[Span] = []

    def close() -> None:
        if len(run) > 1 and run[-1].end - run[0].start <= MAX_PARAGRAPH_CHARS:
            out.append(Span(run[0].start, run[-1].end))
        else:
            out.extend(run)
        run.clear()

    for unit in units:
        item = _ITEM.match(text, text.rfind("\n", 0, unit.start) + 1)
        if unit.kind != SENTENCE or item or (run and _apart(text, run[-1].end, unit.start)):
            close()
        if unit.kind == SENTENCE and not item:
            run.append(unit)
        else:
            out.append(unit)
    close()
    return out


_NEXT_CHAR = re.compile(r"\s*(\S)")


def _apart(text: str, end: int, start: int) -> bool:
    """Whether two units are in different paragraphs: a blank line or a rule line lies between them."""
    return bool(_GAP.search(text, end, start)) or bool(text[end:start].strip())


# A numbered heading of plain text at a line's start: "2.1. Stream", "3.3 Invoking asn1Decoding",
# "A.1 GNU Free Documentation License", "Chapter 5. Protocol" (DocBook's text)
_NUMBERED = re.compile(
    r"(?:(Chapter|Appendix)[^\S\n]+)?((?:\d{1,2}|[A-Z])(?:\.\d{1,2})*)\.?[^\S\n]+(\S.*?)[^\S\n]*"
)
_CONTENTS_LINE = re.compile(r"(?:\.[^\S\n]?){3}")  # dot leaders: a contents line


def numbered_headings(text: str, start: int, width: int) -> frozenset[int]:
    """Where the numbered headings of hard-wrapped plain text start (specs, RFCs, PDF manuals): a line at
    the margin, numbered ("2.1.", "3.3", "A.1"), at most MAX_TITLE_CHARS long and not a wrapped line going
    on in lowercase, whose title starts with a capital (or a quote or code mark) and does not end like a
    sentence or a list item (a question may), with no columns or dot leaders in it. A number of one level
    ("2 Utilities", "1. Copyright") is a heading only in a text that also numbers sections of two levels or
    more, written as those are (with or without a closing dot: "1." under "1.1." and "1" under "1.1", where
    a numbered list item at the margin differs), and only the next in the count or the chapter of the
    sections that follow it (a table's rows, "4 CARD32 ALIAS_LIST_OFFSET", are neither); "Chapter 5." and
    "Appendix B." are headings by their word."""
    found: list[tuple[int, str, bool, bool]] = []  # where, the number, named ("Chapter"), closing dot
    lines = text[start:].split("\n")
    at = start
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        match = _NUMBERED.fullmatch(line) if len(line) <= MAX_TITLE_CHARS else None
        if match is not None:
            named, number, title = match.group(1), match.group(2), match.group(3)
            if not (
                (_full(line, width) and after.lstrip()[:1].islower())
                or not (title[0].isupper() or title[0] in "\"'`_*<([")
                or title.endswith((".", ",", ";", ":", "!"))
                or re.search(r"\s{2}", title)
                or _CONTENTS_LINE.search(title)
                or (number.isalpha() and not named)  # "A Query packet is sent …", "X Consortium"
            ):
                dotted = line[match.end(2) : match.start(3)].lstrip()[:1] == "."
                found.append((at, number, bool(named), dotted))
        at += len(line) + 1
    sections = [(number, dotted) for _, number, named, dotted in found if "." in number and not named]
    if not sections:
        return frozenset(at for at, _, named, _ in found if named)
    dotted_style = 2 * sum(dotted for _, dotted in sections) >= len(sections)
    headings = []
    count: int | None = None  # the last chapter number of one level taken
    for i, (at, number, named, dotted) in enumerate(found):
        if not named and "." not in number:
            # the chapter the next numbered section belongs to
            below = next((n.split(".")[0] for _, n, nm, _ in found[i + 1 :] if "." in n and not nm), None)
            if dotted != dotted_style:
                continue
            if not (count is None or int(number) == count + 1 or below == number):
                continue
            count = int(number)
        headings.append(at)
    return frozenset(headings)


def _sections(text: str, units: list[Span], numbered: Collection[int] = ()) -> list[Span]:
    """Plain text's units under their headings' path, as a Markdown page's are: an underlined heading's
    level is its underline's character, in the order the text first uses them (as reST does), from 0; a
    numbered heading's (one starting at one of `numbered`) is its number's depth, from 1 (under the
    underlined title a text may open with)."""
    if not any(u.kind == markup.HEADING for u in units):
        return units
    levels: dict[str, int] = {}
    path: list[tuple[int, str]] = []
    out = []
    for unit in units:
        if unit.kind == markup.HEADING:
            match = _NUMBERED.fullmatch(text, unit.start, unit.end) if unit.start in numbered else None
            if match is not None:  # "2.1." is 2, "Chapter 5." is 1
                level = match.group(2).count(".") + 1
            else:
                found = _NEXT_CHAR.match(text, unit.end)
                level = levels.setdefault(found.group(1) if found else "", len(levels))
            path = [p for p in path if p[0] < level]
            out.append(Span(unit.start, unit.end, unit.kind, tuple(n for _, n in path)))
            path.append((level, text[unit.start : unit.end]))
        else:
            out.append(Span(unit.start, unit.end, unit.kind, tuple(n for _, n in path), unit.cut))
    return out


def _introduces(text: str, sentences: Sequence[Span]) -> bool:
    """Whether a paragraph's last sentence introduces what follows it ("Run the live server:")."""
    return bool(sentences) and bool(_INTRODUCES.search(text[sentences[-1].start : sentences[-1].end]))


def _with_blocks(
    text: str, sentences: Sequence[Span], taken: Sequence[markup.Block], section: tuple[str, ...]
) -> list[Span]:
    """A paragraph's sentences, the last quoted together with the blocks it introduces (`INTRO`)."""
    head = [Span(s.start, s.end, SENTENCE, section) for s in sentences[:-1]]
    return head + _block_units(text, sentences[-1].start, taken, INTRO, section)


# between two code blocks, only the tags of tabs (Docusaurus' `</TabItem>` and `<TabItem value="yarn">`,
# Mintlify's `<Tab title="…">`, VitePress' `<CodeGroup>`, MkDocs' `=== "uv"`): the same step in another tool
_TAB_GAP = re.compile(
    r"(?:\s*</?(?:Tabs?|TabItem|Tabs\.Tab|CodeGroup|CodeGroupItem)(?:\s[^<>]*)?>"
    r"|\s*={3}[!+]?[ \t]+\"[^\n]*)+\s*"
)


def _introduced(text: str, blocks: Sequence[markup.Block], i: int) -> list[markup.Block]:
    """The block(s) right after prose block `i` that a sentence can introduce: a code block (with the
    code blocks of the other tabs after it), a table, an
    include line, or a whole list opening after it, at the same depth or nested in the list item the
    sentence is in (as many of its blocks as fit MAX_BLOCK_CHARS, at least one); or a short paragraph
    that introduces one in turn ("You can start workers with `--workers`:" "If you use the `fastapi`
    command:" and the command)."""
    if i + 1 >= len(blocks):
        return []
    after = blocks[i + 1]
    if after.kind == markup.CODE:  # and the same code in the other tabs (`<TabItem value="yarn">`)
        taken = [after]
        for b in blocks[i + 2 :]:
            gap = text[taken[-1].end : b.start]
            if b.kind != markup.CODE or not _TAB_GAP.fullmatch(gap) or b.end - after.start > MAX_BLOCK_CHARS:
                break
            taken.append(b)
        return taken
    if after.kind in {markup.TABLE, markup.INCLUDE}:
        return [after]
    if after.kind == markup.PROSE and not after.lists and after.end - after.start <= CHAINED_CHARS:
        then = _introduced(text, blocks, i + 1)
        chained = then and then[0].kind != markup.PROSE and _INTRODUCES.search(text[after.start : after.end])
        return [after, *then] if chained else []
    inner = blocks[i].lists
    opened = after.lists[: len(inner) + 1]
    if len(opened) <= len(inner) or opened[: len(inner)] != inner or after.kind == markup.HEADING:
        return []
    taken = [after]
    for b in blocks[i + 2 :]:
        if b.lists[: len(opened)] != opened or b.end - after.start > MAX_BLOCK_CHARS:
            break
        taken.append(b)
    return taken


def _block_units(
    text: str, start: int, blocks: Sequence[markup.Block], kind: str, section: tuple[str, ...]
) -> list[Span]:
    """`text[start:blocks[-1].end]` as one unit, or cut at line ends into units of MAX_BLOCK_CHARS at
    most (the first of kind `kind`, the rest of the block's own kind) when it is longer."""
    end = blocks[-1].end
    out: list[Span] = []
    while end - start > MAX_BLOCK_CHARS:
        cut = _row_start(text, start, start + MAX_BLOCK_CHARS) if blocks[-1].kind == markup.HTML else -1
        if cut <= start:
            cut = text.rfind("\n", start + 1, start + MAX_BLOCK_CHARS)
        if cut <= start:  # one very long line: cut at a space, or anywhere
            cut = max(text.rfind(" ", start + 1, start + MAX_BLOCK_CHARS), start + MAX_BLOCK_CHARS)
        first, last = markup.trimmed(text, start, cut)
        if last > first:
            out.append(Span(first, last, kind, section, cut=True))
        kind = blocks[-1].kind if kind == INTRO else kind
        start = cut
    first, last = markup.trimmed(text, start, end)
    if last > first:
        out.append(Span(first, last, kind, section))
    return out


_ROW = re.compile(r"\n[ \t]*<tr\b", re.IGNORECASE)


def _row_start(text: str, start: int, limit: int) -> int:
    """The last line end in `text[start:limit]` before an HTML table row (so a cut piece of a long table
    holds whole rows), or -1; not in the first half, where a cut would leave a short piece."""
    rows = [m.start() for m in _ROW.finditer(text, start + 1, limit)]
    return rows[-1] if rows and rows[-1] > start + (limit - start) // 2 else -1


def segment(
    text: str,
    start: int = 0,
    end: int | None = None,
    wrapped: bool = False,
    width: int | None = None,
    headings: Collection[int] = (),
) -> list[Span]:
    """Sentences of `text[start:end]` as spans into `text`, in order, stripped of surrounding whitespace.

    A line break ends a sentence, unless `wrapped` (the lines of Markdown and reST paragraphs are wrapped
    at a width, not at sentence ends) or the line before it reaches near `width` (plain text hard-wrapped
    at that width, `wrap_width`). A line starting at one of `headings` is a heading of its own
    (`numbered_headings`).
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for gap in _GAP.finditer(text, start, end):
        _paragraph(text, cursor, gap.start(), spans, wrapped, width, headings)
        cursor = gap.end()
    _paragraph(text, cursor, end, spans, wrapped, width, headings)
    return spans


def wrap_width(text: str, start: int = 0) -> int | None:
    """The width plain `text` is hard-wrapped at, or None when its lines end where its writer ended them.

    Hard-wrapped: nearly every line (the 95th percentile) fits in MAX_WRAP_WIDTH, and a fair share of the
    full lines of words go on with a lowercase word, as a sentence cut by wrapping does (a log's or a
    tab-separated table's lines seldom do). News files, a paragraph a line, have far longer lines.
    """
    lines = [line.rstrip() for line in text[start:].split("\n")]
    lengths = sorted(len(line) for line in lines if line.strip())
    if len(lengths) < 4:
        return None
    width = lengths[len(lengths) * 19 // 20]
    if width > MAX_WRAP_WIDTH:
        return None
    after_full = [nxt.lstrip() for line, nxt in itertools.pairwise(lines) if _full(line, width) and nxt]
    continued = sum(nxt[:1].islower() for nxt in after_full)
    return width if continued >= 2 and 5 * continued >= len(after_full) else None


def rule(line: str) -> bool:
    """An underline or separator line ("=====", "-----", Vim's "<"): layout, never a unit of plain text."""
    return bool(_RULE.fullmatch(line.rstrip("\r")))


def _full(line: str, width: int) -> bool:
    """A line of words (not a tab-separated table's cells, nor a row of numbers) reaching near the
    wrapping width."""
    return len(line) >= FULL_LINE * width and line.count(" ") >= 3 and _wordy(line)


def _wordy(line: str) -> bool:
    """At least half of the line's characters are letters: prose, not data or box drawing."""
    return 2 * sum(map(str.isalpha, line)) >= len(line) - line.count(" ")


def _paragraph(
    text: str,
    start: int,
    end: int,
    out: list[Span],
    wrapped: bool = False,
    width: int | None = None,
    headings: Collection[int] = (),
) -> None:
    while start < end and text[start].isspace():
        start += 1
    date = _DATE_LINE.match(text, start, end)
    if date:
        out.append(Span(date.start(), date.end()))
        start = date.end()
    if wrapped:
        _line(text, start, end, out)
        return
    for first, last, heading in _line_runs(text, start, end, width, headings):
        if heading:
            _emit(text, first, last, out, markup.HEADING)
        else:
            _line(text, first, last, out)


def _line_runs(
    text: str, start: int, end: int, width: int | None, headings: Collection[int] = ()
) -> Iterable[tuple[int, int, bool]]:
    """The runs of lines of a plain-text paragraph read as one: each line alone, or with a `width`, a line
    that goes on (reaching near the width, or open and followed by a lowercase word) joined with the next
    unless that one starts a list item; and whether the run is a heading (one line, underlined, or a line
    starting at one of `headings`, which no line joins). Rule lines are left out."""
    run: tuple[int, int] | None = None
    previous = ""
    while start < end:
        newline = text.find("\n", start, end)
        line_end = end if newline < 0 else newline
        line = text[start:line_end]
        if rule(text[text.rfind("\n", 0, start) + 1 : line_end]):  # the whole line (a date may open it)
            if run:
                yield run[0], run[1], line.strip() != "<" and _title_like(text[run[0] : run[1]])
            run, previous = None, ""
        elif start in headings:
            if run:
                yield run[0], run[1], False
            yield start, line_end, True
            run, previous = None, ""
        else:
            if run and width is not None and _goes_on(previous, line, width):
                run = (run[0], line_end)
            else:
                if run:
                    yield run[0], run[1], False
                run = (start, line_end)
            previous = line
        start = line_end + 1
    if run:
        yield run[0], run[1], False


def _title_like(run: str) -> bool:
    """Whether an underlined run of lines reads as a heading: one short line not ending a sentence (a
    paragraph-a-line text may put a separator under a paragraph)."""
    run = run.strip()
    return "\n" not in run and len(run) <= MAX_TITLE_CHARS and not run.endswith((".", "!", "?"))


def _goes_on(previous: str, line: str, width: int) -> bool:
    """Whether hard-wrapped `line` continues the sentence of the line before it: that one reaches near the
    width, or ends open and this one starts lowercase; never when this one starts a list item."""
    previous = previous.rstrip()
    open_end = line.lstrip()[:1].islower() and bool(_OPEN_END.search(previous)) and _wordy(previous)
    return (_full(previous, width) or open_end) and not _ITEM.match(line)


def unwrapped(quote: str) -> str:
    """A plain-text quote with the line breaks its wrapping made read as spaces, for display (a terminal
    wraps again): the breaks `segment` read through, judged within the quote, its longest line taken as
    the width. Blank lines, list items and lines that end a sentence keep their breaks."""
    lines = quote.split("\n")
    width = max(len(line.rstrip()) for line in lines)
    if len(lines) < 2 or width > MAX_WRAP_WIDTH:
        return quote
    out = [lines[0]]
    for previous, line in itertools.pairwise(lines):
        if previous.strip() and line.strip() and not rule(line) and _goes_on(previous, line, width):
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _line(text: str, start: int, end: int, out: list[Span]) -> None:
    cursor = start
    for piece in _splitter()("en", text[start:end]):
        if text.startswith(piece, cursor):  # the usual case: the pieces are the line, cut up
            found = cursor
        else:  # the segmenter changed the text after all: keep the rest of the line as one unit
            found = text.find(piece, cursor, end) if piece else -1
            if found < 0:
                piece, found = text[cursor:end], cursor
            _emit(text, cursor, found, out)  # anything the segmenter skipped
        _emit(text, found, found + len(piece), out)
        cursor = found + len(piece)
    if cursor < end:
        _emit(text, cursor, end, out)


@lru_cache(maxsize=1)
def _splitter() -> Callable[[str, str], Iterable[str]]:
    from sentencex import segment as split  # here, not at the top: only builds segment

    return cast(Callable[[str, str], Iterable[str]], split)


def _emit(text: str, start: int, end: int, out: list[Span], kind: str = SENTENCE) -> None:
    """`text[start:end]` without surrounding whitespace, cut into runs of MAX_SENTENCE_CHARS at most."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    start += len(piece) - len(piece.lstrip())
    end = start + len(stripped)
    if end - start <= MAX_SENTENCE_CHARS:
        out.append(Span(start, end, kind))
    else:
        out.extend(Span(s, e, kind) for s, e in _pieces(text, start, end, MAX_SENTENCE_CHARS))


def _pieces(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut `text[start:end]` into runs of at most `limit` characters, at whitespace where there is any."""
    out: list[tuple[int, int]] = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        out.append((start, end))
    # trim trailing whitespace left before a cut
    return [(s, e - (len(text[s:e]) - len(text[s:e].rstrip()))) for s, e in out if text[s:e].strip()]


def chunk_sections(
    units: Sequence[Span], token_counts: Sequence[int], budget: int, overlap: int = 1
) -> list[tuple[int, int]]:
    """`chunk` within each section: a chunk never spans a heading, so a chunk is about one section and
    is embedded under its path. Plain sentences (no headings) are chunked as one run, with `overlap`.
    Sections are chunked without overlap: a chunk of one section already shares its context (the
    path it is embedded under), and repeating units costs a third more embedding work."""
    if not any(u.section or u.kind != SENTENCE for u in units):
        return chunk(token_counts, budget, overlap)
    out: list[tuple[int, int]] = []
    first = 0
    for i in range(1, len(units) + 1):
        if i == len(units) or units[i].kind == markup.HEADING or units[i].section != units[i - 1].section:
            out.extend((first + a, first + b) for a, b in chunk(token_counts[first:i], budget, 0))
            first = i
    return out


def chunk(token_counts: Sequence[int], budget: int, overlap: int = 1) -> list[tuple[int, int]]:
    """Runs of consecutive sentences `(first, last)` (inclusive) whose token counts fit `budget`.

    Neighbouring chunks share `overlap` sentences, so a sentence is never judged only without its context.
    A sentence longer than the budget gets a chunk of its own (the model truncates it).
    """
    chunks: list[tuple[int, int]] = []
    n = len(token_counts)
    first = 0
    while first < n:
        last, used = first, token_counts[first]
        while last + 1 < n and used + token_counts[last + 1] <= budget:
            last += 1
            used += token_counts[last]
        chunks.append((first, last))
        if last == n - 1:
            break
        first = max(last + 1 - overlap, first + 1)
    return chunks
