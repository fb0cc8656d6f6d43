"""reStructuredText structure via docutils, as qabot.markup blocks with offsets into the file's text.

docutils gives the document tree (sections and their titles, paragraphs, literal blocks, lists) but no
character offsets, and its line numbers are not consistent across node types. Each node is found in the
text instead: its source's first and last lines, searched in document order from where the previous
node ended, so a block's offsets always index the file. A node that cannot be found is left to the
fallback: text between found blocks that holds words becomes prose, so nothing is lost.

Sphinx's object descriptions (`.. function:: login_user(user)`, `.. class::`, `.. data::`, `.. confval::`,
in any domain, `py:` and the others) and its version notes are directives docutils does not know: read
as the unknown, each would be one raw block, its prose treated as code. They are read as Sphinx reads
them instead: the body is reST, its first paragraph quoted with the directive's line (as a definition
with its term), and the signature is the section its body sits in, as the page shows it above the body.
The panes of Sphinx extensions (tabs, cards) and `.. only::` hold reST as well, a tab's title its section.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from qabot.markup import (
    CODE,
    DESCRIPTION,
    HEADING,
    INCLUDE,
    OPTION_LINE,
    PROSE,
    VERSION_NOTES,
    Block,
    trimmed,
)

# what Sphinx extensions lay prose out in (sphinx-tabs, sphinx-design, Sphinx's own `only`, `todo` and
# `glossary`): the body is reST, the title of a tab or card the section it sits in; code tabs are code
_TITLED_PANES = {"tab", "group-tab", "tab-item", "card", "grid-item-card", "dropdown"}
_PANES = {"tabs", "tab-set", "grid", "grid-item", "only", "todo", "glossary", "hlist"}
_DIRECTIVE_NAME = re.compile(r"^[ \t]*\.\.[ \t]+([\w.:+-]+?)[ \t]*::", re.MULTILINE)
_MARKUP_LINE = re.compile(r"^\s*(?:\.\.\s.*|[-=~^\"'`#*+<>:._]{3,}|::)\s*$")
# an enumerated list item's marker ("1.", "#.", "b)", "(iv)"): docutils gives the item's paragraph, which
# starts after it on the same line
_ENUMERATOR = re.compile(
    r"\s*(?:\((?:\d+|#|[A-Za-z]|[ivxlcdmIVXLCDM]+)\)|(?:\d+|#|[A-Za-z]|[ivxlcdmIVXLCDM]+)[.)])\s*"
)
_SETTINGS = {
    "report_level": 5,  # no messages: Sphinx roles and directives docutils does not know are not errors
    "halt_level": 5,
    "warning_stream": False,
    "doctitle_xform": False,  # keep the first title a section, as the others
    "file_insertion_enabled": False,  # `.. include::` and `.. raw:: file` never read other files
    "raw_enabled": False,
}


def rst_blocks(text: str, start: int = 0) -> list[Block]:
    import docutils.core
    import docutils.nodes as nodes

    _register_descriptions(text[start:])
    tree = docutils.core.publish_doctree(text[start:], settings_overrides=_SETTINGS)
    found: list[Block] = []
    cursor = start
    lists: dict[int, int] = {}
    for node in tree.findall(lambda n: isinstance(n, nodes.title | nodes.paragraph | nodes.literal_block)):
        if node.parent is not None and isinstance(node.parent, nodes.table | nodes.entry):
            continue
        kind = _kind(node, nodes)
        located = _locate(text, str(getattr(node, "rawsource", "")), cursor)
        if located is None:
            continue
        begin, end = located
        begin = _labelled_start(text, node, nodes, cursor, begin)
        found.append(Block(kind, begin, end, _section(node, nodes), _lists(node, nodes, lists)))
        cursor = end
    return _with_gaps(text, start, found)


def _kind(node: Any, nodes: Any) -> str:
    if isinstance(node, nodes.title):
        return HEADING
    if isinstance(node, nodes.literal_block):
        # a directive docutils does not know (Sphinx's autofunction, say) arrives as its literal source
        return INCLUDE if isinstance(node.parent, nodes.system_message) else CODE
    return PROSE


def _register_descriptions(text: str) -> None:
    """Teach docutils the description directives `text` uses (for the process: docutils keeps one table)."""
    from docutils.parsers.rst import directives

    for name in set(_DIRECTIVE_NAME.findall(text)):
        name = name.lower()
        if name in VERSION_NOTES:
            directives.register_directive(name, _description_directive("note"))
        elif DESCRIPTION.fullmatch(name):
            directives.register_directive(name, _description_directive("description"))
        elif name in _TITLED_PANES or name in _PANES:
            directives.register_directive(name, _description_directive("pane"))


def _section(node: Any, nodes: Any) -> tuple[str, ...]:
    """Titles of the sections around `node`, outermost first (a title's own section excluded); an object
    description's signature counts as a section of its body."""
    names: list[str] = []
    parent = node.parent.parent if isinstance(node, nodes.title) else node.parent
    while parent is not None:
        if isinstance(parent, nodes.section) and parent.children and isinstance(parent[0], nodes.title):
            names.append(parent[0].astext())
        elif _is_description(parent, nodes) and parent.get("signature"):
            names.append(parent["signature"])
        parent = parent.parent
    return tuple(reversed(names))


def _lists(node: Any, nodes: Any, numbers: dict[int, int]) -> tuple[int, ...]:
    """The numbers of the lists holding `node`, outermost first. A definition list is a list too
    ("implement these properties:" and the terms with what each does)."""
    around = []
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.bullet_list | nodes.enumerated_list | nodes.definition_list):
            around.append(numbers.setdefault(id(parent), len(numbers)))
        parent = parent.parent
    return tuple(reversed(around))


def _labelled_start(text: str, node: Any, nodes: Any, cursor: int, begin: int) -> int:
    """Where the label of the field or definition holding `node` starts, when `node` is the first
    paragraph of a field's body (":Number of Instances: 178") or of a definition ("`is_active`" and the
    indented lines under it), so that the value is quoted with the name that says what it is; else
    `begin`."""
    body = node.parent
    if (
        _is_description(body, nodes)
        and body["labelled"]
        and body.children[0] is node
        and isinstance(node, nodes.paragraph)
    ):
        return _directive_line_start(text, body, cursor, begin)
    if isinstance(body, nodes.field_body) and body.children[0] is node:
        name = f":{body.parent[0].astext()}:"
        at = text.rfind(name, cursor, begin)
        return at if at >= 0 and not text[at + len(name) : begin].strip() else begin
    if isinstance(body, nodes.definition) and body.children[0] is node:
        term = str(body.parent[0].rawsource).strip().splitlines()
        at = text.rfind(term[0], cursor, begin) if term else -1
        # the term's line is the one right above the definition (a classifier may follow it there)
        return at if at >= 0 and text.count("\n", at, begin) == len(term) else begin
    return begin


def _is_description(node: Any, nodes: Any) -> bool:
    return isinstance(node, nodes.container) and "description" in node["classes"]


def _directive_line_start(text: str, node: Any, cursor: int, begin: int) -> int:
    """Where the directive line of description `node` starts, when only option lines (":noindex:") and
    the signature's own continuation lines lie between it and `begin`; else `begin`."""
    line = node["directive_line"]
    at = text.rfind(line, cursor, begin)
    if at < 0:
        return begin
    between = text[at + len(line) : begin].splitlines()
    arguments = node["argument_lines"]
    rest = [b for b in between[1 + arguments :] if b.strip()]
    return at if all(OPTION_LINE.match(b) for b in rest) else begin


@cache
def _description_directive(kind: str) -> Any:
    """A docutils directive that reads its body as reST into a container marked "description", with
    what `_section` and `_labelled_start` need: a "description" (`.. function:: f(x)`) is quoted from its
    line and its signature is a section; a "note" (`.. versionadded:: 2.0`, then its text on the next line
    or after a blank) is quoted from its line; a "pane" (a tab) is not, its title (if any) a section."""
    import docutils.nodes as nodes
    from docutils.parsers.rst import Directive, directives

    class AnyOption(dict[str, Any]):
        """Every option is accepted as text: Sphinx's directives have many (":noindex:", ":type:")."""

        def __missing__(self, key: str) -> Any:
            return directives.unchanged

    class Description(Directive):
        optional_arguments = 1
        final_argument_whitespace = True
        has_content = True
        option_spec = AnyOption(noindex=directives.flag)

        def run(self) -> list[Any]:
            node = nodes.container(classes=["description"], labelled=kind != "pane", signature="")
            node["directive_line"] = self.block_text.splitlines()[0].strip() if self.block_text else ""
            node["argument_lines"] = 0
            if kind == "note":
                if len(self.arguments) == 2:  # the note's text, on the line after the directive's
                    node += nodes.paragraph(self.arguments[1], self.arguments[1])
            else:
                argument = " ".join(" ".join(self.arguments).split())
                if kind == "description":
                    node["signature"] = _signature_name(self.name, argument)
                elif self.name in _TITLED_PANES:
                    node["signature"] = argument
                if self.arguments:
                    node["argument_lines"] = len(self.arguments[0].splitlines()) - 1
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    class VersionNote(Description):
        required_arguments = 1  # the version, then optionally the note's text (as Sphinx's)
        optional_arguments = 1

    return VersionNote if kind == "note" else Description


_CALLABLE = re.compile(
    r"(?:[a-z]+:)?(?:function|method|classmethod|staticmethod|decorator|decoratormethod|macro)"
)


def _signature_name(directive: str, signature: str) -> str:
    """A description's signature as a section name, as Sphinx's contents list shows it: the name without
    its arguments, "()" after a callable's ("login_user()", "LoginManager", "CACHE_TYPE")."""
    name = signature.split("(", 1)[0].strip()
    return f"{name}()" if "(" in signature and _CALLABLE.fullmatch(directive.lower()) else name


def _locate(text: str, raw: str, cursor: int) -> tuple[int, int] | None:
    """Offsets of `raw` (a node's source, dedented and maybe with `::` dropped) in `text` after `cursor`:
    from its first line's words to its last line's, each line looked for after the one before, so that
    a last line that also occurs earlier in the block (a code block's closing ")") ends it where it
    ends. A middle line not found as it is (docutils expands tabs) is passed over."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if not lines:
        return None
    first = text.find(lines[0], cursor)
    if first < 0:
        return None
    end = first + len(lines[0])
    reach = first + 2 * len(raw) + 100  # the node's own lines, however indented: not a later block's
    for line in lines[1:-1]:
        at = text.find(line, end, reach)
        end = at + len(line) if at >= 0 else end
    if len(lines) > 1:
        last = text.find(lines[-1], end)
        if last < 0:
            return None
        end = last + len(lines[-1])
    return first, end


def _with_gaps(text: str, start: int, found: list[Block]) -> list[Block]:
    """`found` with the text between blocks that holds words (not underlines or directive lines) added
    as prose, under the section of the block before it."""
    out: list[Block] = []
    cursor = start
    section: tuple[str, ...] = ()
    for block in [*found, Block(PROSE, len(text), len(text))]:
        for gap_start, gap_end in _word_runs(text, cursor, block.start):
            out.append(Block(PROSE, gap_start, gap_end, section))
        if block.start < len(text):
            out.append(block)
            heading = block.kind == HEADING
            section = (*block.section, text[block.start : block.end]) if heading else block.section
        cursor = max(cursor, block.end)
    return out


def _word_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Runs of lines in `text[start:end]` that hold words and are not reST markup."""
    runs: list[tuple[int, int]] = []
    offset = start
    run_start = -1
    for line in text[start:end].splitlines(keepends=True):
        # its item follows on the same line (not at the text's end: "A." alone there is text)
        marker = not line.endswith("\n") and end < len(text) and bool(_ENUMERATOR.fullmatch(line))
        wordy = any(c.isalnum() for c in line) and not _MARKUP_LINE.match(line) and not marker
        if wordy and run_start < 0:
            run_start = offset
        if not wordy and run_start >= 0:
            runs.append(trimmed(text, run_start, offset))
            run_start = -1
        offset += len(line)
    if run_start >= 0:
        runs.append(trimmed(text, run_start, end))
    return [r for r in runs if r[1] > r[0]]
