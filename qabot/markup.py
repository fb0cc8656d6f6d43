"""The structure of a Markdown or reStructuredText document, as blocks with offsets into its text.

Markdown is parsed by markdown-it-py (CommonMark with tables), reStructuredText by docutils. Both give
block structure with line numbers; offsets are found on those lines in the original text, so a block's
`start:end` always indexes the file as read. Each block carries its section path: the headings above it
("First Steps", "Check it"), which the citation shows and ranking reads as evidence.

Documentation syntax neither parser knows is handled by line, before parsing and without moving a line:
`/// tip` and `!!! note` admonition lines are blanked (their content parses as ordinary Markdown), and a
`{* path *}` include line is a block of its own. Anything a parser leaves out (a reST directive docutils
does not know, say) becomes prose, so no text is lost.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qabot.extract import HTML_SUFFIXES, NOTEBOOK_SUFFIXES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it import MarkdownIt

PROSE = "prose"  # a paragraph (also inside list items, block quotes, admonitions)
HEADING = "heading"
CODE = "code"  # fenced or indented code, reST literal blocks
TABLE = "table"
HTML = "html"  # an HTML fragment with visible text (tag-only lines are dropped)
INCLUDE = "include"  # `{* ../docs_src/app.py hl[3] *}`: code kept in another file
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdx"}
RST_SUFFIXES = {".rst", ".rest"}
ASCIIDOC_SUFFIXES = {".adoc", ".asciidoc", ".asc"}

SECTION_SEP = " › "


def section_path(title: str, section: Sequence[str]) -> str:
    """A unit's page title and the headings above it as one line ("FastAPI › Tutorial › First Steps"),
    a heading that repeats the title shown once."""
    return SECTION_SEP.join(dict.fromkeys(p for p in (title.strip(), *section) if p))


# `/// tip`, `!!! note`, `??? note` and a content tab, `=== "pip"` (pymdownx), whose body is indented
_ADMONITION = re.compile(r"^[ \t]*(?:/{3,4}(?:[ \t].*)?|[!?]{3}\+?[ \t]+\w.*|={3}[!+]?[ \t]+\".*)$")
_INDENTED_ADMONITION = re.compile(r"^[ \t]*(?:[!?]{3}\+?[ \t]+\w|={3}[!+]?[ \t]+\")")
# mkdocstrings' `::: package.name` line, whose indented YAML options below it are settings, not text
_AUTODOC = re.compile(r"^[ \t]*:::[ \t]+\S")
# A colon fence's line: MyST's `:::{note}` (its `:class:` option lines follow), Docusaurus' `:::tip[Title]`,
# VitePress' `::: warning Title`, and the bare `:::` that closes each; the body between is Markdown. Not
# indented as code, and not mkdocstrings' `::: info.models`
_COLON_FENCE = re.compile(
    r"^ {0,3}:{3,}(?:[ \t]*|[ \t]*\{[\w:-]+\}.*|[A-Za-z][\w-]*(?:\[.*\])?(?:[ \t].*)?"
    r"|[ \t]+(?i:note|tip|info|warning|danger|caution|important|details|seealso)(?:[ \t].*)?)$"
)
_DIRECTIVE_OPTION = re.compile(r"^[ \t]*:[\w-]+:(?:[ \t].*)?$")
# MDX: the `import … from "…"` lines that open a page, and a `{/* comment */}` line, are not text
_MDX_IMPORT = re.compile(
    r"^import[ \t]+(?:(?:[\w$]+|\{[^}]*\}|\*[ \t]+as[ \t]+[\w$]+)(?:[ \t]*,[ \t]*(?:\{[^}]*\}|[\w$]+))*"
    r"[ \t]+from[ \t]+)?([\x22\x27])[^\x22\x27]+\1[ \t]*;?[ \t]*$"
)
_MDX_COMMENT = re.compile(r"^ {0,3}\{/\*.*\*/\}[ \t]*$")
_FENCE_MARKS = re.compile(r" {0,3}(`{3,}|~{3,})")
# MDX's `export const Highlight = ({children}) => (` (to the next blank line): code of the page, not its text
_MDX_EXPORT = re.compile(r"^export[ \t]+(?:const|let|var|function|class|default|async[ \t]+function|\{)")
_INCLUDE = re.compile(r"\{\*.*\*\}")
_HEADING_MARKS = re.compile(r"^[ \t]*#{1,6}[ \t]+|[ \t]+#+[ \t]*$")
# `{ #anchor }` after a heading, or MDX's `{/* #anchor */}`
_ATTRIBUTES = re.compile(r"[ \t]*\{(?:[ \t]*[#.][^{}]*|/\*.*?\*/)\}[ \t]*$")
_TAG = re.compile(r"<[^<>]*>")
# The tags that colour docs' console output (`<font color="#4E9A06">`, `<span style=…>`): only these are
# dropped from code shown, since C's `#include <stdio.h>`, `Vec<String>` or `a<b && c>d` are code too.
_COLOURING = re.compile(
    r"</?(?:font|span|b|i|u|strong|em|mark|small|kbd|samp|var|code|a|br)"
    r"""(?:\s+[\w:-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?)*\s*/?>""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Block:
    """A run of the document's text of one kind, under the headings `section` (outermost first).

    `lists` are the numbers of the lists around the block, outermost first (empty outside lists), so
    that a sentence introducing a list can take all of it, nested lists included, and a sentence in a
    list's item can take the list nested under it ("additional flags:" and the flags).
    """

    kind: str
    start: int
    end: int
    section: tuple[str, ...] = ()
    lists: tuple[int, ...] = ()


# How a document's text is read (`syntax_of`)
MARKDOWN = "markdown"
RST = "rst"
ASCIIDOC = "asciidoc"
HTML_TEXT = "html"  # an HTML page's text as qabot.extract lays it out
PLAIN = "plain"
# reST's explicit markup that plain text does not have: a directive (".. note::", ".. |x| image::") or a
# link target (".. _label:") at a line start, and an interpreted role (":class:`Model`")
_RST_DIRECTIVE = re.compile(r"^\.\. (?:[\w-]+(?::[\w-]+)*::|_[^:\n]+:|\|[^|\n]+\| [\w-]+::)", re.MULTILINE)
_RST_ROLE = re.compile(r"(?<![\w:-]):[\w-]+(?::[\w-]+)*:`[^`\n]+`")
# a fenced code block (text qabot.extract laid out from a page marks code so): reST shown, not written
_FENCE = re.compile(r"^[ \t]*```.*?(?:^[ \t]*```[^\n]*$|\Z)", re.DOTALL | re.MULTILINE)
RST_MARKS = 2  # one is a stray mention ("place it in :variable:`PATH`" in a plain-text note)


def _suffix(path: str) -> str:
    return path[path.rfind(".") :].lower() if "." in path else ""


def syntax_of(path: str, text: str = "") -> str:
    """How the text of the file at `path` is read: Markdown, reST, AsciiDoc, an HTML page's text or plain
    text, by the file's name; a `.txt` file whose text has reST's explicit markup (`RST_MARKS` directives,
    link targets or roles, outside fenced code) is reST, as Sphinx projects such as Django keep their
    sources in `.txt` files, and one with AsciiDoc's (`asciidoc.marked`) is AsciiDoc, as Git's are."""
    suffix = _suffix(path)
    if suffix in MARKDOWN_SUFFIXES | NOTEBOOK_SUFFIXES:  # a notebook's extracted text is Markdown
        return MARKDOWN
    if suffix in RST_SUFFIXES:
        return RST
    if suffix in ASCIIDOC_SUFFIXES:
        return ASCIIDOC
    if suffix in HTML_SUFFIXES:
        return HTML_TEXT
    if suffix == ".txt" and _rst_marked(text):
        return RST
    if suffix == ".txt":
        from qabot.asciidoc import marked

        return ASCIIDOC if marked(text) else PLAIN
    return PLAIN


def _rst_marked(text: str) -> bool:
    if "```" in text:
        text = _FENCE.sub("", text)
    found = 0
    for pattern in (_RST_DIRECTIVE, _RST_ROLE):
        for _ in pattern.finditer(text):
            found += 1
            if found >= RST_MARKS:
                return True
    return False


def structured(syntax: str) -> bool:
    """Whether text of this `syntax` is read with its structure (Markdown, reStructuredText, AsciiDoc)."""
    return syntax in (MARKDOWN, RST, ASCIIDOC)


def by_line(syntax: str) -> bool:
    """Whether a quote of this `syntax` shows line by line, as its page does: a Markdown or reST file's
    structure, or an HTML page's laid-out text (a paragraph a line, so a run of several lines is a code
    block, a list or a table)."""
    return syntax in (MARKDOWN, RST, ASCIIDOC, HTML_TEXT)


def blocks(text: str, syntax: str, start: int = 0) -> list[Block]:
    """The blocks of `text[start:]` (a Markdown or reST document's text; `start` skips front matter), in
    order."""
    if syntax == RST:
        from qabot.rst import rst_blocks  # docutils imports in ~0.2 s: only for reST files

        found: list[Block] = rst_blocks(text, start)
        return found
    if syntax == ASCIIDOC:
        return asciidoc_blocks(text, start)
    return markdown_blocks(text, start)


# ---------------------------------------------------------------- shared helpers


class Lines:
    """Line starts of a text, to turn line numbers into offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __len__(self) -> int:
        return len(self.starts)

    def start(self, line: int) -> int:
        return self.starts[min(line, len(self.starts) - 1)] if line < len(self.starts) else len(self.text)

    def end(self, line: int) -> int:
        """Offset just past line `line`'s last character (before its newline)."""
        if line + 1 < len(self.starts):
            return self.starts[line + 1] - 1
        return len(self.text)

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Offsets of lines first..last (inclusive), without surrounding whitespace."""
        start, end = self.start(first), self.end(last)
        return trimmed(self.text, start, end)


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return start, start
    start += len(piece) - len(piece.lstrip())
    return start, start + len(stripped)


_ROLE = re.compile(r":(?:[\w.+-]+:)+(?=`)")  # reST's :mod:`pyramid.config`: the role is not read


def section_name(raw: str) -> str:
    """A heading as a reader sees it: no `#` marks, `{ #anchor }`, backticks, emphasis or link targets;
    what is inside backticks stays as written ("`response_model` Parameter" is "response_model Parameter",
    "`fs.readFile(path[, options])`" keeps its brackets)."""
    name = _LINK.sub(r"\1", _ROLE.sub("", _ATTRIBUTES.sub("", _HEADING_MARKS.sub("", raw.strip()))))
    words: list[str] = []
    at = 0
    for code in _CODE_SPAN.finditer(name):
        words += [_unmarked(name[at : code.start()]), code.group(2)]
        at = code.end()
    words.append(_unmarked(name[at:]))
    return " ".join("".join(words).split())


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# emphasis marks: `*` anywhere, `_` only at a word's edge (snake_case is a name, not emphasis)
_EMPHASIS = re.compile(r"\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)|`")


def _unmarked(text: str) -> str:
    """Heading text outside code: no emphasis marks, no brackets of a link without its target."""
    return _EMPHASIS.sub("", text.replace("[", "").replace("]", ""))


_LINK = re.compile(r'!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"]*")?\)')


@lru_cache(maxsize=1)
def _html_tag() -> re.Pattern[str]:
    """An HTML tag or comment by the element names HTML has (lxml's list), so that what only looks like
    one stays: a placeholder (`git checkout <branch>`), `#include <stdio.h>`, `Vec<String>`, `<2.0,>=1.4`."""
    from lxml.html.defs import tags

    names = "|".join(sorted(tags, key=len, reverse=True))
    return re.compile(rf"<!--.*?-->|</?(?:{names})(?![\w.:-])(?:\s[^<>]*)?/?>", re.IGNORECASE | re.DOTALL)


def plain(text: str) -> str:
    """Text as a reader of the rendered page sees it, for the embedding model (quotes stay verbatim):
    links as their words (a URL costs a dozen word pieces and says little), no HTML tags or anchors."""
    import html

    words = _LINK.sub(r"\1", text)
    if "<" in words:
        words = _html_tag().sub("", words)
    words = _ATTRIBUTES.sub("", words) if "{" in words else words
    return html.unescape(words) if "&" in words else words


def visible(html: str) -> bool:
    """Whether an HTML fragment shows any text (a `<div class="termy">` wrapper does not)."""
    return bool(_TAG.sub("", html).strip())


# ---------------------------------------------------------------- Markdown


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # here, not at the top: only builds parse

    return MarkdownIt("commonmark").enable("table")


def asciidoc_blocks(text: str, start: int = 0) -> list[Block]:
    """An AsciiDoc document's blocks, read from the Markdown each of its lines means (qabot.asciidoc); a
    table (`|===`) is a table."""
    from qabot.asciidoc import markdown_copy

    found = markdown_blocks(text, start, markdown_copy(text, start), _ASCIIDOC_MARKS)
    out: list[Block] = []
    for block in found:
        last = out[-1] if out else None
        if block.kind == CODE and _ASCIIDOC_TABLE.match(text, block.start):
            out.append(replace(block, kind=TABLE))
        elif block.kind == HEADING and (anchor := _ASCIIDOC_ANCHOR.search(text, block.start, block.end)):
            out.append(replace(block, end=anchor.start()))  # "Standalone[[STANDALONE]]" is "Standalone"
        elif (
            last is not None
            and block.kind == PROSE
            and last.kind == PROSE
            and last.lists == block.lists
            and _ASCIIDOC_TERM.search(text, last.start, last.end)
        ):  # a term and its description after a blank line: one block, as a reST definition is
            out[-1] = replace(last, end=block.end)
        else:
            out.append(block)
    return out


_ASCIIDOC_MARKS = re.compile(r"^[ \t]*={1,6}[ \t]+|[ \t]+=+[ \t]*$")
_ASCIIDOC_TABLE = re.compile(r"[|,:!]={3,}")
_ASCIIDOC_ANCHOR = re.compile(r"[ \t]*\[\[[^\[\]]*\]\]\Z")
_ASCIIDOC_TERM = re.compile(r"(?::{2,4}|;;)\Z")  # a block that is a labelled list's term alone


def markdown_blocks(
    text: str, start: int = 0, source: str | None = None, marks: re.Pattern[str] | None = None
) -> list[Block]:
    """A Markdown document's blocks; `source`: the Markdown the parser reads, line for line (by default
    `text` as `_parse_copy` gives it); `marks`: what around a heading's words on its line is not its name."""
    lines = Lines(text)
    source = _parse_copy(text, start) if source is None else source
    copy = Lines(source)
    out: list[Block] = []
    section: tuple[tuple[int, str], ...] = ()
    lists = 0
    open_lists: list[int] = []
    inside = ""  # "heading" or "table" while their own inline tokens go by
    for token in _parser().parse(source):
        if token.type in {"heading_close", "table_close"}:
            inside = ""
        if inside:
            continue
        if token.type in {"bullet_list_open", "ordered_list_open"}:
            open_lists.append(lists)
            lists += 1
            continue
        if token.type in {"bullet_list_close", "ordered_list_close"}:
            open_lists.pop()
            continue
        if token.map is None:
            continue
        first, last = token.map[0], token.map[1] - 1
        if token.type == "heading_open":
            level = int(token.tag[1])
            name = section_name(copy.text[copy.start(first) : copy.end(first)])
            section = (*tuple(s for s in section if s[0] < level), (level, name))
            block = _heading(lines, first, tuple(n for _, n in section[:-1]), marks or _HEADING_MARKS)
            out.extend([block] if block else [])
            inside = "heading"
            continue
        if token.type == "table_open":
            inside = "table"
        names = tuple(n for _, n in section)
        kind = _kind(token)
        if kind is None:
            continue
        if kind == PROSE:
            begin = _content_start(lines, first, token.content)
            end = lines.span(first, last)[1]
        else:
            begin, end = lines.span(first, last)
        if end > begin:
            out.append(Block(kind, begin, end, names, tuple(open_lists)))
    return out


def heading_levels(text: str) -> list[int]:
    """The levels of a Markdown page's headings in order (`#` is 1, a title over `---` 2), as the parser
    reads them: a `#` line inside code is not a heading."""
    return [int(t.tag[1]) for t in _parser().parse(_parse_copy(text, 0)) if t.type == "heading_open"]


def _parse_copy(text: str, start: int) -> str:
    """The text markdown-it reads: front matter, admonition and colon fence lines, MDX's imports, exports
    and comments, and mkdocstrings' options blanked, `!!!` bodies dedented.

    Every line stays where it was, so the parser's line numbers hold for the original.
    """
    out: list[str] = []
    indented = False  # inside the indented body of a `!!! note`
    options: int | None = None  # the indent of the `::: name` line whose options are being skipped
    fence_options = False  # after a MyST `:::{name}` line, where its `:key: value` lines may come
    opening = True  # among the blank and `import` lines that open an MDX page
    exporting = False  # in an MDX `export` statement, which runs to a blank line
    fence: str | None = None  # the marks of the fenced code block the line is in (an `export` there is code)
    # front matter ends with a newline, so `start` is the first offset of a line
    skipped = text.count("\n", 0, start)
    for number, line in enumerate(text.split("\n")):
        if number < skipped:
            out.append("")
            continue
        if _ADMONITION.match(line):
            indented = bool(_INDENTED_ADMONITION.match(line))
            out.append("")
            continue
        if fence_options and _DIRECTIVE_OPTION.match(line):
            out.append("")
            continue
        fence_options = False
        marks = _FENCE_MARKS.match(line)
        if marks and (fence is None or (marks.group(1)[0] == fence[0] and len(marks.group(1)) >= len(fence))):
            fence = None if fence is not None and not line[marks.end() :].strip() else fence or marks.group(1)
        exporting = fence is None and bool(line.strip()) and (exporting or bool(_MDX_EXPORT.match(line)))
        if exporting:
            out.append("")
            continue
        opening = opening and (not line.strip() or bool(_MDX_IMPORT.match(line)))
        if _COLON_FENCE.match(line) or _MDX_COMMENT.match(line) or opening:
            fence_options = "{" in line and ":::" in line
            out.append("")
            continue
        if indented:
            if line.startswith("    ") or not line.strip():
                line = line[4:]
            else:
                indented = False
        if options is not None:
            if not line.strip() or _indent(line) > options:
                out.append("")
                continue
            options = None
        if _AUTODOC.match(line):
            options = _indent(line)
        out.append(line)
    return "\n".join(out)


def _kind(token: Any) -> str | None:
    if token.type in {"fence", "code_block"}:
        return CODE
    if token.type == "table_open":
        return TABLE
    if token.type == "html_block":
        return HTML if visible(token.content) else None
    if token.type == "inline" and token.level > 0 and token.content.strip():
        if _INCLUDE.fullmatch(token.content.strip()):
            return INCLUDE
        return PROSE
    return None


def _content_start(lines: Lines, first: int, content: str) -> int:
    """Where a paragraph's text begins on its first line (after a list marker or `>`)."""
    line_start, line_end = lines.start(first), lines.end(first)
    head = content.lstrip().split("\n", 1)[0][:20]
    found = lines.text.find(head, line_start, line_end) if head else -1
    return found if found >= 0 else trimmed(lines.text, line_start, line_end)[0]


def _heading(lines: Lines, line: int, parents: tuple[str, ...], marking: re.Pattern[str]) -> Block | None:
    """The heading's words on its line (no `#` marks, or the `marking` given, no `{ #anchor }`), under its
    parents' path."""
    start, end = lines.start(line), lines.end(line)
    raw = lines.text[start:end]
    marks = marking.match(raw)
    begin = start + (marks.end() if marks else 0)
    attributes = _ATTRIBUTES.search(raw)
    finish = start + attributes.start() if attributes else end
    closing = re.search(r"[ \t]+#+[ \t]*$", lines.text[begin:finish])
    finish = begin + closing.start() if closing else finish
    begin, finish = trimmed(lines.text, begin, finish)
    return Block(HEADING, begin, finish, parents) if finish > begin else None


# ---------------------------------------------------------------- showing a quote


@dataclass(frozen=True)
class Piece:
    """A run of a quote for display: prose, or code (without its fence lines) in `language`."""

    code: bool
    text: str
    language: str = ""


def column(text: str, start: int) -> int:
    """How far `text[start:]` is indented on its line: the spaces before it, 0 when its line holds
    anything else before it."""
    lead = text[text.rfind("\n", 0, start) + 1 : start]
    return len(lead) if lead == " " * len(lead) else 0


def dedented(text: str, indent: int) -> str:
    """`text`, which starts `indent` columns into its line (inside an admonition, a definition, a list
    item), with its other lines moved left by as much as they share with it, as its page shows the
    block it sits in: otherwise a wrapped line reads as deeper than the first, and an admonition's
    prose after its code as more code. For display only."""
    if indent <= 0 or "\n" not in text:
        return text
    return textwrap.dedent(" " * indent + text).lstrip(" ")


# object descriptions of Sphinx's domains (py, c, cpp, js, rst, std) and of the projects that add their
# own the same way (Django's setting, Celery's signal, …); and the notes Sphinx labels with a version
DESCRIPTION = re.compile(
    r"(?:[a-z]+:)?(?:function|class|method|classmethod|staticmethod|attribute|property|data|exception"
    r"|decorator|decoratormethod|module|currentmodule|type|member|var|macro|struct|union|enum|enumerator"
    r"|concept|envvar|option|cmdoption|program|describe|object|confval|setting|signal|event"
    r"|templatetag|templatefilter|fieldlookup|django-admin|django-admin-option"
    r"|variable|genex)"  # CMake's domain: `.. variable:: CMAKE_BUILD_TYPE`, `.. genex:: $<CONFIG>`
    r"|rst:(?:directive|directive:option|role)"  # bare `role` is docutils' own, defining a role
)
VERSION_NOTES = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
    "seealso": "See also",
}
_DIRECTIVE_LINE = re.compile(r"\A\.\.[ \t]+([\w.:+-]+?)[ \t]*::[ \t]*([^\n]*)(?:\n|\Z)")
OPTION_LINE = re.compile(r"^[ \t]+:[\w-]+:")  # a directive's option (":noindex:")


# a quote that begins with a Markdown heading of one code span and goes on to the paragraph under it
CODE_NAME = re.compile(r"`[^`\n]+`|``[^`\n]+``")  # a heading that is one code span names a thing of code
_HEADING_END = r"[ \t]*(?:\{[^}\n]*\})?[ \t#]*\n"  # after a heading's words: closing marks, attributes
HEADING_TAIL = re.compile(_HEADING_END + r"\s*")  # ... and the blank lines before what is under it
_CODE_HEADING = re.compile(rf"({CODE_NAME.pattern}){_HEADING_END}[ \t]*\n")


def described(text: str) -> str:
    """A reST object description or version note as Sphinx shows it, for display: ".. function:: f(x)"
    and its body read "`f(x)`: body", ".. versionadded:: 2.0" and its body "Added in version 2.0: body".
    Anything else is returned as it is."""
    text = version_notes(text)
    m = _DIRECTIVE_LINE.match(text)
    if m is None:
        return text
    name, argument = m.group(1).lower(), m.group(2).strip()
    if name not in VERSION_NOTES and not DESCRIPTION.fullmatch(name):
        return text
    lines = text[m.end() :].split("\n")
    at = 0
    while (
        name not in VERSION_NOTES
        and at < len(lines)
        and lines[at].strip()
        and not OPTION_LINE.match(lines[at])
    ):
        argument += " " + lines[at].strip()  # a signature wrapped onto the next lines (a note's are its text)
        at += 1
    while at < len(lines) and (not lines[at].strip() or OPTION_LINE.match(lines[at])):
        at += 1
    body = textwrap.dedent("\n".join(lines[at:])).strip("\n")
    code = f"`{argument}`" if argument else ""
    head = _note_head(name, argument) if name in VERSION_NOTES else code
    if not head:
        return body or text
    return f"{head}:\n{body}" if body else head


_VERSION_NOTE = re.compile(
    rf"^([ \t]*)\.\.[ \t]+({'|'.join(n for n in VERSION_NOTES if n != 'seealso')})[ \t]*::[ \t]*([^\n]*)$",
    re.M,
)


def version_notes(text: str) -> str:
    """Version notes after the start of a reST quote (a paragraph, then ".. versionadded:: 4.4") as Sphinx
    shows them: "Added in version 4.4." or, with a body, "Changed in version 5.0:" and the body moved left
    to the note's column (indented, it would read as a code block). For display only."""
    lines = text.split("\n")
    out: list[str] = []
    at = 0
    while at < len(lines):
        m = _VERSION_NOTE.match(lines[at])
        if m is None or not out:  # a note that begins the quote is `described`'s
            out.append(lines[at])
            at += 1
            continue
        column, name, argument = m.group(1), m.group(2).lower(), m.group(3).strip()
        end = at + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > _indent(column)):
            end += 1
        while end > at + 1 and not lines[end - 1].strip():  # blank lines after the body stay where they are
            end -= 1
        body = textwrap.dedent("\n".join(lines[at + 1 : end])).strip("\n")
        head = column + _note_head(name, argument)
        out.append(f"{head}:" if body else f"{head}.")
        out.extend(column + line if line else line for line in body.split("\n") if body)
        at = end
    return "\n".join(out)


def _note_head(name: str, argument: str) -> str:
    """A version note's label as Sphinx writes it: "Added in version 4.4"."""
    return " ".join(p for p in (VERSION_NOTES[name], argument) if p)


def _expanded_indent(line: str) -> str:
    """The line with the tabs of its indentation as spaces (docutils' columns); a tab after the first
    character is the code's own (a Makefile's recipe line) and stays."""
    body = line.lstrip()
    return line[: len(line) - len(body)].expandtabs(8) + body


def _indent(line: str) -> int:
    """The line's indentation in columns, a tab to the next multiple of eight as docutils reads it."""
    return len(_expanded_indent(line)) - len(line.lstrip())


def headed(text: str) -> str:
    """A Markdown heading that names one thing of code, quoted with its paragraph (qabot.text), as an
    object description shows: "`FileResponse` { #fileresponse }" and "Streams a file." read
    "`FileResponse`: Streams a file.". Anything else is returned as it is."""
    heading = _CODE_HEADING.match(text)
    return f"{heading.group(1)}:\n{text[heading.end() :]}" if heading else text


def pieces(quote: str, indent: int = 0, syntax: str = "", code: bool = False) -> list[Piece]:
    """A quote cut into prose and code for display (a cut quote's unclosed fence runs to its end);
    `indent`: the quote's column on its first line (`dedented`); `syntax`: its document's (reST's
    literal blocks are indented by any amount, `_rst_pieces`; Markdown's code by four spaces or fenced);
    `code`: the quote is a literal block (a unit of kind CODE).

    Only for showing: the quote itself stays as it is. In code, HTML tags are dropped and entities
    read (the FastAPI docs colour their console output with `<font>` and `<span>`).
    """
    if syntax == ASCIIDOC:
        from qabot.asciidoc import shown

        quote = shown(quote)
        syntax = MARKDOWN
    quote = headed(described(dedented(quote, indent)))
    if syntax == RST:
        return _rst_pieces(quote, code)
    if any(_ADMONITION.match(line) for line in quote.split("\n")):  # not shown, their bodies dedented
        quote = _without_markers(quote)
    if (
        "```" not in quote
        and "~~~" not in quote
        and "\n    " not in quote
        and "\n\t" not in quote
        and "::" not in quote
    ):
        return [Piece(False, quote)]
    lines = Lines(quote)
    out: list[Piece] = []
    cursor = 0
    for token in _parser().parse(quote):
        if token.type not in {"fence", "code_block"} or token.map is None or token.level:
            continue
        start, end = lines.start(token.map[0]), lines.end(token.map[1] - 1)
        prose, language = quote[cursor:start], token.info.split(" ")[0].strip()
        directive = _CODE_DIRECTIVE.search(prose)
        if directive:  # reST's `.. code-block:: python` names the language and is not shown
            prose, language = prose[: directive.start()], language or directive.group(1)
        out.extend(_prose(_literal_colon(prose)))
        out.append(Piece(True, _shown_code(token.content), language))
        cursor = end
    out.extend(_prose(quote[cursor:]))
    return out or [Piece(False, quote)]


def _without_markers(quote: str) -> str:
    """A Markdown quote without the lines `_parse_copy` blanks (`=== "pip"`, `!!! note`), the bodies under
    them dedented as the parser reads them."""
    copy = _parse_copy(quote, 0).split("\n")
    return "\n".join(c for o, c in zip(quote.split("\n"), copy, strict=True) if c.strip() or not o.strip())


# directives whose body is code: those naming a language, Sphinx's doctest family, console and notebook cells
_RST_CODE_LINE = re.compile(
    r"([ \t]*)\.\.[ \t]+(code-block|code|sourcecode|doctest|testcode|testoutput|testsetup|testcleanup"
    r"|parsed-literal|prompt|console|ipython|jupyter-execute|jupyter-input|jupyter-output)::[ \t]*(\S*)[^\n]*"
)
_CODE_LANGUAGE = {"doctest": "pycon", "testcode": "python", "testsetup": "python", "testcleanup": "python"}
_RST_OPTION_LINE = re.compile(r"[ \t]+:[\w-]+:.*")


def _rst_pieces(quote: str, code: bool = False) -> list[Piece]:
    """A reST quote's prose and literal blocks, by reST's rules: after a code directive (`.. code-block::`,
    `.. doctest::`, …; its option lines left out) or a line ending in "::" and a blank line, the lines
    indented deeper than it, up to a paragraph indented less than the block's first line (the item or
    field the block sits in goes on); a paragraph opening with ">>>" (a doctest block). CMake's pages
    indent code by two spaces, where Markdown would read a paragraph. A quote that is a literal block
    (`code`), or a text that starts indented (a neighbour that is code is taken from its line's start:
    `Answerer._quote`), is code whole."""
    if code or (quote[:1] in (" ", "\t") and quote.strip()):
        return [Piece(True, textwrap.dedent(quote).strip("\n"))]
    lines = quote.split("\n")
    out: list[Piece] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _RST_CODE_LINE.fullmatch(line)
        literal = directive is None and line.rstrip().endswith("::") and not line.lstrip().startswith("..")
        opens_doctest = line.lstrip().startswith(">>>") and (i == 0 or not lines[i - 1].strip())
        if opens_doctest:
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            out.extend(_prose("\n".join(prose)))
            prose = []
            out.append(Piece(True, textwrap.dedent("\n".join(lines[i:j])), "pycon"))
            i = j
            continue
        body_start, j = _literal_body(lines, i, directive is not None) if directive or literal else (i, i)
        if j == body_start:
            prose.append(line)
            i += 1
            continue
        if literal:
            prose.append(line)
        out.extend(_prose(_literal_colon("\n".join(prose))))
        prose = []
        name = directive.group(2) if directive else ""
        language = directive.group(3) if directive and name in ("code-block", "code", "sourcecode") else ""
        out.append(
            Piece(
                True,
                textwrap.dedent("\n".join(map(_expanded_indent, lines[body_start:j]))).strip("\n"),
                language or _CODE_LANGUAGE.get(name, ""),
            )
        )
        i = j
    out.extend(_prose("\n".join(prose)))
    return out or [Piece(False, quote)]


def _literal_body(lines: list[str], opener: int, directive: bool) -> tuple[int, int]:
    """Where the literal block after `lines[opener]` starts and ends (equal: no block). After "::" a
    blank line must come first (without it the indented lines are a definition)."""
    depth = _indent(lines[opener])
    j = opener + 1
    while directive and j < len(lines) and _RST_OPTION_LINE.fullmatch(lines[j]):
        j += 1
    if not directive and j < len(lines) and lines[j].strip():
        return j, j
    start, first, blank, end = j, -1, False, j
    while j < len(lines):
        if not lines[j].strip():
            blank, j = True, j + 1
            continue
        indent = _indent(lines[j])
        if indent <= depth or (first >= 0 and indent < first and blank):
            break
        first = indent if first < 0 else first
        blank, j = False, j + 1
        end = j
    return start, end


_CODE_DIRECTIVE = re.compile(  # the directive line, then any option lines (":linenos:")
    r"(?:^|\n)[ \t]*\.\.[ \t]+(?:code-block|code|sourcecode)::[ \t]*(\S*)[^\n]*"
    r"(?:\n[ \t]+:[\w-]+:[^\n]*)*\s*$"
)


def _literal_colon(prose: str) -> str:
    """Prose before a reST literal block as the page shows it: "with::" reads "with:", and a "::" on
    its own or after a space is not shown."""
    text = prose.rstrip()
    if not text.endswith("::") or text.endswith(":::"):
        return prose
    body = text[:-2]
    return body if not body or body[-1].isspace() else body + ":"


def _prose(text: str) -> list[Piece]:
    """Prose between code blocks, without lines of tags alone (`<div class="termy">`)."""
    shown = "\n".join(line for line in text.strip().split("\n") if visible(line) or not line.strip())
    return [Piece(False, shown.strip())] if shown.strip() else []


def _shown_code(code: str) -> str:
    import html

    code = code.rstrip("\n")
    shown = _COLOURING.sub("", code)
    return html.unescape(shown) if shown != code else code


# a line that starts a block of its own: a list item, table row, quote, heading, HTML, directive, field
# (":param x:"; a line that starts with a role, ":data:`x`", goes on its paragraph), admonition marker, or
# a line of punctuation alone (a reST heading's underline)
_BLOCK_LINE = re.compile(
    r"\s*(?:[-*+•]\s|\d+[.)]\s|#\.?\s|\(?[A-Za-z0-9]\)\s|[|>#<]|\.\.\s|:[^:\s`][^:`]*:(?:\s|$)|///|!!!|```|~~~"
    r"|([=\-~^*+#])\1+\s*$)"
)
LIST_MARKER = re.compile(r"\s*(?:[-*+•]|\d+[.)]|#\.)\s+")  # a list item's marker and its indent


def reflow(text: str, rst: bool = False) -> str:
    """Prose of a Markdown or reST file with its soft line breaks read as spaces, as the rendered page
    shows it (docs are often wrapped at 80 columns, and a terminal wraps again). For display only.

    A break stays where the next line starts a block of its own (a list item, a table row, a heading,
    a directive, …), is indented deeper than the line's text in reST (a definition or a block quote; in
    Markdown an indented line goes on the paragraph), or where the line ends in a hard break (two spaces
    or a backslash) or opens a literal block ("::")."""
    lines = text.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        last = out[-1].split("\n")[-1]
        marker = LIST_MARKER.match(last)
        column = marker.end() if marker else len(last) - len(last.lstrip())
        indent = len(line) - len(line.lstrip())
        soft = (
            line.strip()
            and last.strip()
            and not _BLOCK_LINE.match(line)
            and (marker is not None or not _BLOCK_LINE.match(last))
            and (indent <= column or not rst)
            and not last.endswith(("  ", "\\", "::"))
        )
        if soft:
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


# a reST interpreted-text role (":meth:`~Cache.cached`", ":py:class:`x`", ":ref:`title <label>`") and
# a ``literal``
_INTERPRETED = re.compile(r"(?<![\w`:]):((?:[\w-]+:)*[\w-]+):`([^`]+)`(?!`)|``([^`]+?)``")
_TEXT_ROLES = {  # roles shown as text, not as code
    "ref", "doc", "term", "abbr", "numref", "math", "download", "sub", "sup", "emphasis", "strong",
    "title-reference", "guilabel", "menuselection", "dfn", "pep", "rfc", "issue", "pr", "ghpull", "ghissue",
}  # fmt: skip
_NUMBERED = {"pep": "PEP ", "rfc": "RFC ", "issue": "#", "pr": "#", "ghpull": "#", "ghissue": "#"}


# a reST hyperlink reference: "jitter_", "`the guide`_", "`the guide <https://…>`__" (shown as its text)
_REFERENCE = re.compile(
    r"(?<![\w`:])`([^`<>\n]+?)(?:\s*<[^<>`\n]+>)?`__?(?![\w`])"
    r"|(?<![\w`:/.@-])([A-Za-z0-9](?:[\w.-]*[A-Za-z0-9])?)__?(?![\w`/@])"
)


def rst_inline(text: str) -> str:
    """reST's inline markup as Sphinx shows it: a role's title or target (":meth:`~Cache.cached`" reads
    `cached()`, ":ref:`the guide <guide>`" reads "the guide", ":pep:`8`" "PEP 8"), code roles and
    ``literals`` as `code`, a hyperlink reference as its text ("jitter_" reads "jitter"). For display
    only."""

    def shown(m: re.Match[str]) -> str:
        if m.group(3) is not None:
            return f"`{m.group(3)}`"
        role, content = m.group(1).rsplit(":", 1)[-1], m.group(2)
        # "title <target>"; CMake's `CMAKE_MATCH_<n>` and `$<CONFIG>` are names (no space before "<")
        titled = re.fullmatch(r"(.*\S)\s+<([^<>]+)>", content, re.DOTALL)
        if titled:
            label = titled.group(1)
        else:
            label = content.lstrip("!")
            if label.startswith("~"):
                label = label[1:].rsplit(".", 1)[-1]
            if role in {"func", "meth"} and not label.endswith(")"):
                label += "()"
        if role != "math":  # "-D\<var\>" escapes what would read as a target; TeX keeps its backslashes
            label = re.sub(r"\\(\S)", r"\1", re.sub(r"\\\s", "", label))  # an escaped space is nothing
        if role in _NUMBERED and label.isdigit():
            return _NUMBERED[role] + label
        return label if role in _TEXT_ROLES else f"`{label}`"

    linked = _REFERENCE.sub(lambda m: m.group(1) or m.group(2), text)
    return _INTERPRETED.sub(shown, linked)


def inline(text: str, syntax: str) -> str:
    """`text` of a document of this `syntax` with its inline markup as the page shows it (reST's roles,
    AsciiDoc's macros)."""
    if syntax == ASCIIDOC:
        from qabot.asciidoc import inline as asciidoc_inline

        return asciidoc_inline(text)
    return rst_inline(text) if syntax == RST else text


ANSWER_MARK = "\ue000"  # a private-use character: the answer's edges, carried through `reflow`


def as_page(text: str, syntax: str, marked: tuple[int, int] | None = None, indent: int = 0) -> str:
    """`text` of a document of this `syntax` as its page shows it: reflowed for Markdown and reST; plain
    text with the breaks its hard wrapping made read as spaces (`text.unwrapped`), an HTML page's text as it
    is (one paragraph a line). With `marked` (offsets in `text`), the answer's edges are marked by
    ANSWER_MARK, put in before reflowing so that they stay on the answer's characters. `indent`: the text's
    column on its first line (`dedented`)."""
    if marked is not None:
        start, end = marked
        text = text[:start] + ANSWER_MARK + text[start:end] + ANSWER_MARK + text[end:]
    if syntax == HTML_TEXT:
        return text
    if syntax == ASCIIDOC:
        from qabot.asciidoc import inline as asciidoc_inline
        from qabot.asciidoc import shown

        return asciidoc_inline(as_page(shown(text, ANSWER_MARK), MARKDOWN, indent=indent))
    if not structured(syntax):
        from qabot.text import unwrapped  # here: qabot.text imports this module

        return unwrapped(text)
    rst = syntax == RST
    text = described(dedented(text, indent)) if rst else headed(dedented(text, indent))
    return inline(reflow(text, rst=rst), syntax)
