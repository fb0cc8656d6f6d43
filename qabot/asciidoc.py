"""AsciiDoc's block structure (Git's documentation, Asciidoctor and Antora sites), read as Markdown.

Each line is rewritten as the Markdown it means and markdown-it parses the result (qabot.markup), so every
line stays where it was and a block's offsets index the file as read. No Python library reads AsciiDoc
with line positions (asciidoc-py renders it; Asciidoctor is Ruby), so the block syntax is read here:

- section titles, in one line (`== Usage`) or two (`Usage` over `-----`), are headings;
- listing (`----`), literal (`....`) and table (`|===`) blocks, literal paragraphs (indented) and
  `[verse]`/`[literal]`/`[source]` paragraphs are code (a table is a table);
- a labelled list's term (`--patch::`, `term;;`) is read with its description, as reST's definitions are;
  `*`, `-` and `.` lists are lists; a `+` line attaches the block after it to the item above;
- attribute lines (`[source,shell]`, `[[anchor]]`), block titles (`.Example`), attribute entries
  (`:toc:`), comments, and `include::`/`ifdef::` lines are not text; example, sidebar, quote and open
  block delimiters (`====`, `****`, `____`, `--`) are not either, while the blocks' bodies are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# a two-line title's underline and its level (`=` the document's title, `-` a section, ...)
_LEVELS = {"=": 1, "-": 2, "~": 3, "^": 4, "+": 5}
_ONE_LINE_TITLE = re.compile(r"(={1,6})[ \t]+(\S.*?)(?:[ \t]+=+)?[ \t]*")
_UNDERLINE = re.compile(r"([=\-~^+])\1+[ \t]*")
_CODE_DELIMITER = re.compile(r"(?:-{4,}|\.{4,}|[|,:!]={3,}|`{3,}.*)[ \t]*")  # listing, literal, table
_COMPOUND_DELIMITER = re.compile(r"(?:={4,}|\*{4,}|_{4,}|--|\+{4,})[ \t]*")  # body is AsciiDoc
_BREAK = re.compile(r"(?:'{3,}|-{3}|\*{3}|<{3}|- - -|\* \* \*)[ \t]*")  # a thematic or page break
_COMMENT_DELIMITER = re.compile(r"/{4,}[ \t]*")
_COMMENT = re.compile(r"//(?!//)")
_ATTRIBUTE_LINE = re.compile(r"\[(?:\[[^\[\]]*\]|[^\[\]]*)\][ \t]*")
_BLOCK_TITLE = re.compile(r"\.[^.\s]")
_ATTRIBUTE_ENTRY = re.compile(r":!?[\w-]+!?:(?:[ \t].*)?")
_MACRO_LINE = re.compile(r"(?:include|ifdef|ifndef|ifeval|endif|image|toc|video|audio)::\S*\[.*\][ \t]*")
# a labelled list's term: `--patch::`, `CPU::: a term nested`, `term;;`, text after it on the line or not
_TERM = re.compile(r"[ \t]*(\S(?:.*?\S)?)(?::{2,4}|;;)(?:[ \t]+\S.*)?")
_BULLET = re.compile(r"[ \t]*(\*{1,5}|-)[ \t]+\S.*")
_NUMBERED = re.compile(r"[ \t]*(\.{1,5}|\d{1,3}\.|<\d{1,2}>)[ \t]+\S.*")  # `<1>`: a callout
_ANCHOR = re.compile(r"[ \t]*\[\[[^\[\]]*\]\][ \t]*$")  # a title's `[[id]]`
_ITEM_MARK = re.compile(r"[ \t]*(?:\.{1,5}|<\d{1,2}>)[ \t]+\S.*")  # `. item`, `<1> callout`: never prose
_CODE_STYLES = {"source", "listing", "literal", "verse"}
_FENCE = "`````"  # five backticks: longer than any fence a listing block's body may hold
# a line Markdown reads as the start of a block AsciiDoc's prose does not mean: escaped, so it is prose
_MARKDOWN_START = re.compile(r"[ \t]*(?:#|>|\+[ \t]|\d{1,9}\)|<|\||~~~|={3,}[ \t]*$|-{3,}[ \t]*$)")
# AsciiDoc's own markup that plain text, Markdown and reST do not have: a `+` continuation line, a block
# style (`[verse]`, `[source,shell]`, `[NOTE]`, `[[anchor]]`), an `include::`/`ifdef::` line, an inline
# macro (`linkgit:git-add[1]`, `xref:page.adoc[Page]`), a cross reference (`<<id,text>>`), a one-line section
# title (`== Usage`), a labelled list's term over its indented description or over another term (`-p::` over
# `--patch::`; reST's "::" is followed by a blank line)
_MARKS = re.compile(
    r"^(?:\+|\[(?:verse|source(?:,[^\]]*)?|literal|listing|NOTE|TIP|WARNING|CAUTION|IMPORTANT|\[[\w-]+\])\]"
    r"|(?:include|ifdef|ifndef|endif)::\S*\[.*\]|={2,5}[ \t]+\S.*)[ \t]*$"
    r"|\b(?:linkgit|link|xref|kbd|btn|menu):[\w./#-]+\[[^\]\n]*\]|<<[\w:.#/-]+(?:,[^<>\n]+)?>>"
    r"|^\S[^\n]*::(?=\n(?:[ \t]+\S|\S[^\n]*::$))",
    re.MULTILINE,
)
MARKS_NEEDED = 3


def marked(text: str) -> bool:
    """Whether `text` (a `.txt` file's) is AsciiDoc: it has MARKS_NEEDED marks of AsciiDoc's own markup (a
    `+` continuation line, a `[verse]` or `[source]` style, an `include::` line, a `linkgit:git-add[1]`
    macro, a `== Usage` title, a term over its description). Git's pages have dozens; a page that others
    include (`diff-options.txt`) may have two."""
    return any(n + 1 >= MARKS_NEEDED for n, _ in enumerate(_MARKS.finditer(text)))


def _underlines(title: str, under: str) -> int:
    """The level of a two-line title whose text is `title` and underline `under` (0: not one): the
    underline as long as the title give or take two, the title not a block's or list's own line."""
    mark = _UNDERLINE.fullmatch(under)
    words = title.rstrip()
    if (
        mark is None
        or not words
        or words[0] in " \t.[/:+*|"
        or _TERM.fullmatch(words)
        or _BULLET.fullmatch(words)
        or abs(len(under.rstrip()) - len(words)) > 2
        or _UNDERLINE.fullmatch(words)
    ):
        return 0
    return _LEVELS[mark.group(1)]


@dataclass
class _Reading:
    """Where the line-by-line reading is: in a labelled list's or a list's item (`item`, the Markdown
    indentation that keeps a block in the item), after a `+` (`attach`), with a block style pending."""

    item: str | None = None  # the indentation of the item's content, while in one
    attach: bool = False
    style: str = ""
    language: str = ""
    # the open compound blocks (`--`, `====`, ...) and the indentation of each: an open block attached
    # to an item by `+` keeps all its paragraphs in the item
    blocks: list[tuple[str, str]] = field(default_factory=list)

    def inside(self) -> str:
        if self.attach and self.item is not None:
            return self.item
        return self.blocks[-1][1] if self.blocks else ""


def markdown_copy(text: str, start: int = 0) -> str:
    """`text` rewritten line for line as the Markdown its AsciiDoc means (the module's docstring); lines
    before `start` (front matter) blank."""
    lines = text.split("\n")
    out = [""] * len(lines)
    reading = _Reading()
    i = text.count("\n", 0, start)
    while i < len(lines):
        i = _read(lines, i, out, reading)
    return "\n".join(out)


def _read(lines: list[str], i: int, out: list[str], r: _Reading) -> int:
    """Rewrite the block at line `i` into `out`; the line after it."""
    line = lines[i]
    stripped = line.strip()
    if not stripped:
        if not r.attach and not r.inside():
            r.item = None if r.item is not None and not _continues(lines, i) else r.item
        return i + 1
    if _COMMENT_DELIMITER.fullmatch(line):
        return _closing(lines, i, line.strip()) + 1
    if _COMMENT.match(line) or _ATTRIBUTE_ENTRY.fullmatch(line) or _MACRO_LINE.fullmatch(line):
        return i + 1
    if _ATTRIBUTE_LINE.fullmatch(line):
        _style(r, stripped)
        return i + 1
    if _BLOCK_TITLE.match(line) and not _NUMBERED.fullmatch(line):
        return i + 1
    if stripped == "+":
        r.attach = r.item is not None
        return i + 1
    inside = r.inside()
    r.attach = False
    level = _underlines(line, lines[i + 1]) if i + 1 < len(lines) else 0
    one_line = _ONE_LINE_TITLE.fullmatch(line)
    if level or one_line:
        r.item, r.style = None, ""
        if one_line:
            out[i] = "#" * len(one_line.group(1)) + " " + _ANCHOR.sub("", one_line.group(2))
            end = i + 1
            while len(one_line.group(1)) == 1 and end < len(lines) and lines[end].strip():
                end += 1  # the document's header: author, revision and attribute lines
            return end
        out[i] = "#" * level + " " + _ANCHOR.sub("", stripped)
        return i + 2
    if _BREAK.fullmatch(line):
        return i + 1
    if _CODE_DELIMITER.fullmatch(line) or (r.style == "verse" and _COMPOUND_DELIMITER.fullmatch(line)):
        end = _closing(lines, i, stripped)
        language = r.language if r.style in {"source", "listing"} else ""
        out[i] = f"{inside}{_FENCE}{language}"
        for j in range(i + 1, end):
            out[j] = inside + lines[j]
        if end < len(lines):
            out[end] = inside + _FENCE
        r.style = r.language = ""
        return end + 1
    if _COMPOUND_DELIMITER.fullmatch(line):  # its body is read line by line as the document's is
        if r.blocks and r.blocks[-1][0] == stripped:
            r.blocks.pop()
        else:
            r.blocks.append((stripped, inside))
        r.style = ""
        return i + 1
    end = _paragraph_end(lines, i)
    term = _TERM.fullmatch(line)
    bullet = _BULLET.fullmatch(line) or _NUMBERED.fullmatch(line)
    listed = (term or bullet) and r.style not in _CODE_STYLES
    if r.style in _CODE_STYLES or (line[0] in " \t" and not inside and r.item is None and not listed):
        for j in range(i, end):  # indented four more: Markdown's code
            out[j] = inside + "    " + lines[j]
        r.style = r.language = ""
        return end
    r.style = r.language = ""
    if term or bullet:
        depth = len(bullet.group(1)) if bullet and bullet.group(1)[0] in "*." else 1
        mark = "1. " if bullet and bullet.group(1)[0] in ".<0123456789" else "- "
        indent = inside + "  " * (depth - 1)
        out[i] = indent + mark + _escaped(stripped[len(bullet.group(1)) :].lstrip() if bullet else stripped)
        r.item = indent + " " * len(mark)
        for j in range(i + 1, end):
            out[j] = r.item + _escaped(lines[j].strip())
        return end
    for j in range(i, end):
        out[j] = inside + _escaped(lines[j].strip() if inside else lines[j])
    return end


def _style(r: _Reading, attribute: str) -> None:
    """A block attribute line's style (`[source,shell]` is source code in shell), for the block after it."""
    if attribute.startswith("[["):
        return
    names = [n.strip() for n in attribute[1:-1].split(",")]
    r.style = names[0].lower() if names and "=" not in names[0] else ""
    r.language = names[1] if r.style == "source" and len(names) > 1 and "=" not in names[1] else ""


def _closing(lines: list[str], i: int, delimiter: str) -> int:
    """The line closing the delimited block opened at `i` (the same delimiter), or past the last line: an
    unclosed block runs to the end, as AsciiDoc reads it."""
    for j in range(i + 1, len(lines)):
        if lines[j].strip() == delimiter or (delimiter.startswith("```") and lines[j].strip() == "```"):
            return j
    return len(lines)


def _paragraph_end(lines: list[str], i: int) -> int:
    """The line after the paragraph starting at `i`: it ends at a blank line, a `+`, a delimiter, an
    attribute line, or a list item or term (which start blocks of their own)."""
    j = i + 1
    while j < len(lines):
        line = lines[j]
        if (
            not line.strip()
            or line.strip() == "+"
            or _CODE_DELIMITER.fullmatch(line)
            or _COMPOUND_DELIMITER.fullmatch(line)
            or _COMMENT_DELIMITER.fullmatch(line)
            or _ATTRIBUTE_LINE.fullmatch(line)
            or _BULLET.fullmatch(line)
            or _ITEM_MARK.fullmatch(line)
            or (_TERM.fullmatch(line) and not _TERM.fullmatch(lines[j - 1]))
        ):
            break
        j += 1
    # a term's lines right under a term (`-p::` over `--patch::`) are the same item's
    return j if not _TERM.fullmatch(lines[i]) else _terms_end(lines, i, j)


def _terms_end(lines: list[str], i: int, j: int) -> int:
    """Past the description of the term(s) starting at `i`: a term's description may start after a blank
    line when it is indented."""
    if j < len(lines) and not lines[j].strip() and all(_TERM.fullmatch(lines[k]) for k in range(i, j)):
        k = j
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k < len(lines) and lines[k][:1] in (" ", "\t"):
            return _paragraph_end(lines, k)
    return j


def _continues(lines: list[str], i: int) -> bool:
    """Whether the list goes on after the blank line `i`: the next text is another item or term."""
    k = i
    while k < len(lines) and not lines[k].strip():
        k += 1
    return k < len(lines) and bool(
        _TERM.fullmatch(lines[k]) or _BULLET.fullmatch(lines[k]) or _NUMBERED.fullmatch(lines[k])
    )


def _escaped(line: str) -> str:
    """A line of AsciiDoc prose that Markdown would read as a block's start (`# x`, `> x`), escaped."""
    return "\\" + line.lstrip() if _MARKDOWN_START.match(line) else line


def shown(text: str, mark: str = "") -> str:
    """`text` (a quote, or the text around one) as Markdown for display: without the lines that are not
    text (`+`, attribute lines, comments, `include::` and `ifdef::` lines, compound blocks' delimiters, a
    title's underline), its listing blocks and literal paragraphs fenced with "```", its `.`-numbered
    items numbered. `mark` (the answer's edges, put into the text) is kept wherever it was. A text that
    starts on an indented line starts inside a paragraph: that line is read as prose."""
    from qabot.markup import _parser

    lines = text.split("\n")
    bare = [line.replace(mark, "") if mark else line for line in lines]
    if bare and bare[0][:1] in (" ", "\t"):
        bare[0] = bare[0].lstrip()
    copy = markdown_copy("\n".join(bare)).split("\n")
    fences: dict[int, str] = {}  # line -> the fence line to show before it (code blocks Markdown indents)
    ends: set[int] = set()
    for token in _parser().parse("\n".join(copy)):
        if token.type == "code_block" and token.map:
            fences[token.map[0]] = "```"
            ends.add(token.map[1] - 1)
    out: list[str] = []
    code = False  # inside a listing block
    for n, (line, plain, read) in enumerate(zip(lines, bare, copy, strict=True)):
        kept = mark in line if mark else False
        if read.lstrip().startswith(_FENCE):
            out.append("```" + read.lstrip()[len(_FENCE) :])
            code = not code
            continue
        if (not read.strip() and plain.strip()) or _MACRO_LINE.fullmatch(plain) or _COMMENT.match(plain):
            if kept:
                out.append(mark * line.count(mark))
            continue
        if n in fences:
            out.append(fences[n])
            code = True
        if not code:  # prose's indentation shows nothing (a description under its term is indented)
            line = line.lstrip()
        item = _NUMBERED.fullmatch(plain)
        if item and item.group(1)[0] == "." and read.lstrip().startswith("1. "):
            line = line.replace(item.group(1), "1.", 1)
        out.append(line)
        if n in ends:
            out.append("```")
            code = False
    return "\n".join(out)


# inline macros and cross references as the page shows them: `linkgit:git-add[1]` reads "git-add(1)",
# `link:url[the guide]`, `https://host/x[the guide]`, `xref:page.adoc[the guide]` and `<<id,the guide>>`
# read "the guide"; a quoted ``text'' reads "text"
_LINKGIT = re.compile(r"\blinkgit:([\w.-]+)\[(\d\w*)\]")
_LINK_MACRO = re.compile(r"\b(?:link:|xref:|https?://)[^\s\[\]]*\[([^\]\n]+)\]")
_CROSS_REFERENCE = re.compile(r"<<([\w:.#/-]+)(?:,\s*([^>\n]+))?>>")
_QUOTED = re.compile(r"``([^`'\n]+)''")
_HIDDEN_LINE = re.compile(
    r"^(?:\+|(?:include|ifdef|ifndef|ifeval|endif)::\S*\[.*\]|//(?!//).*)[ \t]*(?:\n|\Z)", re.MULTILINE
)


def inline(text: str) -> str:
    """AsciiDoc's inline macros and cross references as the page shows them (the patterns above)."""
    if "[" in text:
        text = _LINK_MACRO.sub(r"\1", _LINKGIT.sub(r"\1(\2)", text))
    if "<<" in text:
        text = _CROSS_REFERENCE.sub(lambda m: m.group(2) or m.group(1), text)
    return _QUOTED.sub(r"\1", text) if "``" in text else text


def plain(text: str) -> str:
    """A unit's text for the embedding model: without the lines that are not text (`+`, `include::`,
    `ifdef::`, comments), its macros as their words."""
    return inline(_HIDDEN_LINE.sub("", text))


def document_title(text: str) -> str | None:
    """The document's title when it opens with one in one line (`= Getting Started`, after comments, an
    anchor and attribute lines), without its marks and anchor; None otherwise (a title over its underline
    is read as any structured page's, `corpus._structured_title`)."""
    for line in text.split("\n", 50)[:50]:
        if not line.strip() or _COMMENT.match(line) or _ATTRIBUTE_LINE.fullmatch(line):
            continue
        title = _ONE_LINE_TITLE.fullmatch(line)
        if title and len(title.group(1)) == 1:
            return " ".join(_ANCHOR.sub("", title.group(2)).split()) or None
        return None
    return None


_INCLUDE_LINE = re.compile(r"^include::([^\[\s]+)\[[^\]\n]*\][ \t]*$", re.MULTILINE)


def includes(text: str) -> list[str]:
    """The files an AsciiDoc text's `include::path[]` lines name, as written (relative to its folder)."""
    return _INCLUDE_LINE.findall(text)
