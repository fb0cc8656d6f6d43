"""Text out of HTML pages (trafilatura: the article, without menus and boilerplate), PDF files (pypdf) and
Jupyter notebooks (their cells as Markdown).

For these formats a citation's offsets index the extracted text, which the index stores and
`qabot show SOURCE` prints; extraction is deterministic, so extracting the file again gives the same text.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
NOTEBOOK_SUFFIXES = {".ipynb"}
EXTRACTED_SUFFIXES = HTML_SUFFIXES | PDF_SUFFIXES | NOTEBOOK_SUFFIXES  # files whose text is extracted


class ExtractionError(ValueError):
    """The file could not be turned into text."""


def html_text(raw: bytes) -> tuple[str, dict[str, str]]:
    """The main text of a page and what its metadata says (title, date, url, author, sitename); the date
    only if the page states one in its markup, as for `page_text`."""
    html = raw.decode("utf-8", errors="replace")
    meta = _metadata(html)
    return main_text(html, meta.get("title", ""), deduplicate=False), meta


def _metadata(html: str, url: str | None = None) -> dict[str, str]:
    """What a page says about itself (trafilatura): title, date, url, author, sitename. The date only
    from the page's markup or link (htmldate's extensive search guesses from any date-like text, "©
    2018"); the title without a permalink sign, and the page's own <title> where trafilatura's is not
    its start (it takes a site's name from the end, "The Rust Programming Language", or a first <h1>,
    "Abstract")."""
    import trafilatura

    found = trafilatura.extract_metadata(html, default_url=url, extensive=False)
    meta: dict[str, str] = {}
    for key in ("title", "date", "url", "author", "sitename"):
        value = getattr(found, key, None)
        if value:
            meta[key] = str(value)
    if "date" in meta:  # found again without the page's code, or not at all
        meta.pop("date")
        date = _date_outside_code(html, meta.get("url"))
        if date:
            meta["date"] = date
    title = _flat(meta.pop("title", "")).removesuffix("¶").rstrip()
    own = _title_element(html)
    if own and not (title and own.lower().startswith(title.lower())):
        title = own
    if title:
        meta["title"] = title
    return meta


def _date_outside_code(html: str, url: str | None) -> str | None:
    """The date the page states, read as trafilatura reads it but from the page without its code (<pre>,
    <code>): htmldate's quick search takes a timestamp from any text, "// + 2018-04-26T00:49:08.604Z" in
    an example of Node.js's assert page among them."""
    from htmldate import find_date
    from lxml import etree
    from lxml import html as lxml_html
    from trafilatura.settings import set_date_params

    try:
        tree = lxml_html.document_fromstring(html.encode("utf-8"))  # bytes: an XML declaration may name one
    except (etree.ParserError, ValueError):
        return None
    for code in tree.xpath("//pre|//code"):
        code.drop_tree()
    return find_date(tree, **{**set_date_params(False), "url": url}) or None


def _title_element(html: str) -> str:
    from lxml import etree
    from lxml import html as lxml_html

    try:
        found = lxml_html.document_fromstring(html).findtext(".//title")
    except (etree.ParserError, ValueError):
        return ""
    return _flat(found or "")


def main_text(html: str, title: str = "", **options: Any) -> str:
    """The page's main text (trafilatura), one block a paragraph: blocks are separated by a blank line,
    and the line breaks inside a paragraph, heading, list item or table cell, which HTML does not show
    (its source is often wrapped at 80 columns), are read as spaces. Headings and code are marked as
    Markdown marks them: a heading is a line of its own ("## Unions", unless it repeats the page's
    `title`), code keeps its lines between fence lines (so the terminal and Discord show it as code). A
    definition list's term is on the line above the first paragraph of its definition.

    trafilatura's own text output puts every block on a line of its own and keeps the source's wrapping,
    so a wrapped paragraph reads as several "sentences" and paragraph ends are lost; its XML output
    keeps the blocks, which this lays out."""
    from xml.etree import ElementTree

    import trafilatura

    options = {"include_comments": False, "include_tables": True, **options}
    xml = trafilatura.extract(_prepared(html), output_format="xml", **options)
    if not xml:
        return ""
    try:
        main = ElementTree.fromstring(xml).find("main")
        blocks = _blocks([] if main is None else list(main), _flat(title).lower())
    except (ElementTree.ParseError, RecursionError):  # odd input: lose the layout, not the text
        return trafilatura.extract(html, **options) or ""
    return "\n\n".join(b for b in blocks if b)


# A table with a cell this long lays out prose (DocBook's question-and-answer lists, old pages' columns):
# its cells are paragraphs, not rows of a table quoted whole.
_LAYOUT_CELL_CHARS = 300
_BACKTICKS = re.compile(r"`{3,}")


def _fenced(code: str) -> str:
    """A code block as Markdown writes it: between fence lines of three backticks, or one more than the
    longest run of backticks inside."""
    fence = "`" * max([3, *(len(run) + 1 for run in _BACKTICKS.findall(code))])
    return f"{fence}\n{code}\n{fence}"


# Classes of the navigation bars generated manuals put above and below the text ("Next: Structures, Up:
# Types [Index]": texinfo's header and nav-panel, DocBook's navheader and navfooter), dropped when most
# of their text is links; an element marked role="navigation" always is.
_NAVIGATION = {"header", "nav-panel", "navheader", "navfooter", "nav"}
# Elements that can be such a bar: not a link itself (mdBook's heading text is an <a class="header">)
_BARS = {"div", "nav", "header", "footer", "table", "ul", "ol", "p", "section", "aside"}
# Permalink anchors a docs generator puts after a heading or a term (Sphinx's "¶", texinfo's " ¶"), or
# before it (Doxygen's "◆ glfwCreateWindow()").
_PERMALINK = {"¶", "#", "§", "🔗", "◆"}


def _prepared(html: str) -> Any:
    """The page as trafilatura reads it best, or the HTML itself when lxml cannot parse it.

    A page with no element that trafilatura recognises as the article (generated manuals: texinfo,
    many Sphinx themes) goes down its recovery path, which drops headings and definition terms; the
    body is wrapped in an <article> to keep them (boilerplate is still pruned), and a heading alone in
    <div>s comes out of them. Preformatted text without <code> inside is read as code, which keeps its
    lines; permalink anchors, navigation bars and the page's own table of contents go, and link targets
    (`<a name>`) leave their text. A table laying out prose (its cells hold paragraphs, headings or
    code) is read as those blocks, a FAQ's question as the heading of its answer. Doxygen's markup is read
    as what it shows (`_doxygen_markup`)."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        tree = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return html
    anchors = _anchors(tree)
    for anchor in list(tree.iter("a")):
        if (anchor.get("href") or "").startswith("#") and anchor.text_content().strip() in _PERMALINK:
            anchor.drop_tree()
        elif anchor.get("href") is None:  # a link target, not a link: trafilatura drops a paragraph
            anchor.drop_tag()  # that starts with one (DocBook's `<a name="q-pronounce"></a>1.1.`)
    for element in list(tree.xpath("//*[@role='navigation' or @class]")):
        if element.tag in _BARS and (
            element.get("role") == "navigation"
            or (_NAVIGATION & set((element.get("class") or "").split()) and _mostly_links(element))
        ):
            element.drop_tree()
    _doxygen_markup(tree)
    for contents in list(tree.xpath("//dl|//ul|//ol|//tr|//div[contains(@class, 'toc')]")):
        if _in_page_contents(contents, anchors):
            contents.drop_tree()
    for table in reversed(list(tree.iter("table"))):  # innermost first
        if any(cell.xpath(_BLOCK_INSIDE) for cell in table.xpath("./tr/td|./*/tr/td|./tr/th|./*/tr/th")):
            _unlay(table)
    for question in tree.xpath(f"//*[{_CLASS.format('question')}]"):
        after = question.getnext()
        if after is not None and "answer" in (after.get("class") or "").split():
            _as_heading(question)
    for line_break in tree.iter("br"):  # trafilatura joins the lines around a <br> without a space
        line_break.tail = "\n" + (line_break.tail or "")
    for level in range(1, 7):  # DocBook wraps each heading in <div>s that trafilatura discards
        for heading in list(tree.iter(f"h{level}")):
            words, parent = heading.text_content().strip(), heading.getparent()
            while parent is not None and parent.tag == "div" and parent.text_content().strip() == words:
                parent, wrapper = parent.getparent(), parent
                wrapper.drop_tag()
    for pre in list(tree.iter("pre")):
        # one <pre> holding the same example twice, one <code> a flavour (Node.js's ES module and CommonJS
        # behind a toggle): each its own block, not the second's first line run onto the first's last
        _split_flavours(pre)
    for pre in tree.iter("pre"):
        if pre.find(".//code") is None:
            code = lxml_html.Element("code")
            code.text, pre.text = pre.text, None
            code.extend(list(pre))
            pre.append(code)
    body = tree.find("body")
    if body is not None and not _has_article(tree):
        article = lxml_html.Element("article")
        article.text, body.text = body.text, None
        article.extend(list(body))
        body.append(article)
    return tree


def _doxygen_markup(tree: Any) -> None:
    """Doxygen's markup rewritten as what it shows: a code fragment (a <div> a line) as preformatted text, a
    parameters table as a list (a row an item: "[in] window The window …"), a member's declaration (a table)
    as one line of code; the hover cards its stylesheet hides (a declaration again) are dropped."""
    from lxml import etree
    from lxml import html as lxml_html

    for card in list(tree.xpath(f"//div[{_CLASS.format('ttc')}]")):
        card.drop_tree()
    for fragment in list(tree.xpath(f"//div[{_CLASS.format('fragment')}]")):
        lines = fragment.xpath(f"./div[{_CLASS.format('line')}]")
        code = lxml_html.Element("pre")
        code.text = "\n".join(line.text_content() for line in lines) or fragment.text_content()
        _swap(fragment, code)
    lists = " or ".join(_CLASS.format(c) for c in ("params", "retval", "tparams", "exception"))
    for table in list(tree.xpath(f"//table[{lists}]")):
        items = lxml_html.Element("ul")
        for row in table.iter("tr"):
            words = _flat(" ".join(cell.text_content() for cell in row))
            if words:
                etree.SubElement(items, "li").text = words
        _swap(table, items)
    for prototype in list(tree.xpath(f"//table[{_CLASS.format('memname')}]")):
        code = lxml_html.Element("pre")
        code.text = _flat(prototype.text_content())
        _swap(prototype, code)


def _swap(old: Any, new: Any) -> None:
    """`new` in `old`'s place, with the text that followed `old` (lxml keeps a tail with its element)."""
    new.tail = old.tail
    old.getparent().replace(old, new)


def _split_flavours(pre: Any) -> None:
    """Each <code> of `pre` after the first moved, with what follows it up to the next, into a <pre> of its
    own after it, in order; `pre`'s tail after the last."""
    from lxml import html as lxml_html

    codes = pre.findall("code")
    if len(codes) < 2:
        return
    children = list(pre)
    groups: list[list[Any]] = []
    for child in children[children.index(codes[1]) :]:
        if child.tag == "code":
            groups.append([])
        groups[-1].append(child)
    tail, pre.tail = pre.tail, None
    last = pre
    for group in groups:
        block = lxml_html.Element("pre")
        block.extend(group)  # moves them, each with its tail
        last.addnext(block)
        last = block
    last.tail = tail


def _has_article(tree: Any) -> bool:
    """Whether trafilatura finds an element it takes for the article, holding a tenth of the page's words
    or more (its own expressions: an internal module; a trafilatura without it leaves the page as it is)."""
    try:
        from trafilatura.xpaths import BODY_XPATH
    except ImportError:
        return True
    body = tree.find("body")
    enough = len((body.text_content() if body is not None else "").split()) / 10
    # an empty match is not the article (Doxygen's JavaScript-filled <div id="main-nav">)
    return any(
        len(found.text_content().split()) >= enough for expression in BODY_XPATH for found in expression(tree)
    )


def _anchors(tree: Any) -> set[str]:
    return {str(a) for a in tree.xpath("//@id|//a/@name")}


def _in_page_contents(element: Any, anchors: set[str]) -> bool:
    """Whether an element is a table of contents of this page: mostly links, every one of them to an
    anchor on it (the questions a FAQ lists above their answers, "On this page" lists). What it lists
    is read where it stands."""
    targets = [a.get("href") or "" for a in element.iter("a")]
    return (
        bool(targets)
        and all("#" in t and t.split("#", 1)[1] in anchors for t in targets)
        and _mostly_links(element)
    )


_BLOCKS = {"p", "pre", "div", "ul", "ol", "dl", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
# A table cell holding a block lays out prose (DocBook's question-and-answer lists), not data
_BLOCK_INSIDE = "|".join(f".//{tag}" for tag in sorted(_BLOCKS))


def _unlay(table: Any) -> None:
    """A table laying out prose, read as the blocks it lays out: the cells of a row give up their
    blocks, and the text between them is paragraphs ("1.1." and "How do you pronounce Valgrind?" one)."""
    for row in table.xpath("./tr|./*/tr"):
        for cell in row.xpath("./td|./th"):
            cell.tail = " " + (cell.tail or "")
            cell.drop_tag()
        row.tag = "div"
        _paragraphs(row)
    for part in table.xpath("./thead|./tbody|./tfoot|./caption"):
        part.drop_tag()
    table.tag = "div"


def _paragraphs(container: Any) -> None:
    """The loose text and inline elements between a container's blocks, each run made a paragraph
    (trafilatura drops text not in a block)."""
    from lxml import html as lxml_html

    def paragraph(text: str, run: list[Any]) -> list[Any]:
        if not text.strip() and not any(e.text_content().strip() for e in run):
            return []
        p = lxml_html.Element("p")
        p.text = text
        p.extend(run)
        return [p]

    out: list[Any] = []
    run: list[Any] = []
    text, container.text = container.text or "", None
    for child in list(container):
        container.remove(child)
        if child.tag in _BLOCKS:
            tail, child.tail = child.tail or "", None
            out += [*paragraph(text, run), child]
            text, run = tail, []
        else:
            run.append(child)
    container.extend(out + paragraph(text, run))


_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"  # an XPath test of one class name


def _as_heading(question: Any) -> None:
    """A FAQ's question (class "question", followed by its "answer": DocBook's question-and-answer lists)
    as the heading of its answer, the lowest level so that it nests under the section it is in: the
    answer is quoted under it, as in a Markdown FAQ, instead of the question being quoted as the answer."""
    first = question.find("p")
    if first is None and not question.xpath(_BLOCK_INSIDE):
        question.tag = "h6"
    elif first is not None and first.getprevious() is None and not (question.text or "").strip():
        first.tag = "h6"


def _mostly_links(element: Any) -> bool:
    words = len(element.text_content().strip())
    return words > 0 and sum(len(a.text_content().strip()) for a in element.iter("a")) * 2 >= words


def _blocks(elements: list[Any], title: str) -> list[str]:
    """The text blocks of a run of trafilatura's XML elements, with the text between them."""
    out: list[str] = []
    for element in elements:
        out.extend(_block(element, title))
        if element.tail and element.tail.strip():
            out.append(_flat(element.tail))
    return out


def _contents(element: Any, title: str) -> list[str]:
    """The blocks inside a container (a <div>, a definition), its own leading text first."""
    lead = [_flat(element.text)] if element.text and element.text.strip() else []
    return lead + _blocks(list(element), title)


# trafilatura's XML elements that are blocks of their own (not inline marks such as <hi> or <ref>)
_XML_BLOCKS = {"code", "p", "list", "table", "head", "quote", "div"}


def _block(element: Any, title: str = "", depth: int = 0) -> list[str]:
    """The lines of one block of trafilatura's XML, laid out as text."""
    if element.tag == "div" or (element.tag == "quote" and any(c.tag in _XML_BLOCKS for c in element)):
        # trafilatura puts a highlighted code block (Sphinx's <div class="highlight">) in a <quote>
        return _contents(element, title)
    if element.tag == "head":
        name = _flat("".join(element.itertext()))
        level = (element.get("rend") or "h2")[1:]
        marks = "#" * int(level) if level.isdigit() and 1 <= int(level) <= 6 else "##"
        return [name if not name or title.startswith(name.lower()) else f"{marks} {name}"]
    if element.tag == "code":
        return [_fenced("".join(element.itertext()).strip("\n"))]
    if element.tag == "list" and element.get("rend") == "dl":
        return _definitions(element, title)
    if element.tag == "list":
        lines = []
        for item in element.findall("item"):
            own = (item.text or "") + "".join(
                "".join(c.itertext()) + (c.tail or "") if c.tag != "list" else (c.tail or "") for c in item
            )
            lines.append("  " * depth + "- " + _flat(own))
            for nested in item.findall("list"):
                lines.extend(_block(nested, title, depth + 1))
        return ["\n".join(lines)] if depth == 0 else lines
    if element.tag == "table":
        cells = [[_flat("".join(c.itertext())) for c in row] for row in element.iter("row")]
        if any(len(cell) > _LAYOUT_CELL_CHARS for row in cells for cell in row):
            return [cell for row in cells for cell in row if cell]  # a table laying out prose: its cells
        rows = [" | ".join(row) for row in cells]
        return ["\n".join(r for r in rows if r.strip(" |"))]
    return [_flat("".join(element.itertext()))]


def _definitions(element: Any, title: str) -> list[str]:
    """A definition list: each term on the line above its definition's first paragraph (so the two are
    quoted together: "ffi_type_sint64" and "A signed, 64-bit integer type."), the rest as blocks."""
    out: list[str] = []
    term = ""
    for item in element.findall("item"):
        if (item.get("rend") or "").startswith("dt"):
            if term:
                out.append(term)
            term = _flat("".join(item.itertext()))
            continue
        parts = [p for p in _contents(item, title) if p]
        if term and parts and "\n" not in parts[0]:
            parts[0] = f"{term}\n{parts[0]}"
        elif term:
            parts.insert(0, term)
        out.extend(parts)
        term = ""
    if term:
        out.append(term)
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def page_text(raw: bytes, url: str | None = None) -> tuple[str, dict[str, str]]:
    """A downloaded page's main text and what the page states about itself (title, date, url, author,
    sitename): for `qabot add`, which writes them into the document's front matter.

    Unlike `html_text` (for .html files in the corpus, which are read as UTF-8), the encoding is detected
    (trafilatura's decode_file: the page's bytes, whatever the server claimed), and `url` is the fallback
    when the page names no canonical URL.
    """
    from trafilatura.utils import decode_file

    html = decode_file(raw)
    meta = _metadata(html, url)
    text = main_text(html, meta.get("title", ""), url=url)
    if meta.get("sitename", "").lower() in _hosts(url, meta.get("url")):
        del meta["sitename"]  # trafilatura's stand-in when the page names no site: the link's host
    return text, meta


def _hosts(*urls: str | None) -> set[str]:
    from urllib.parse import urlsplit

    found = set()
    for url in urls:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower()
        found |= {parts.netloc.lower(), host, host.removeprefix("www.")}
    return found - {""}


def pdf_text(raw: bytes) -> tuple[str, dict[str, str]]:
    """The text of every page without its running head and page number (`unfurnished`), the pages one
    after the other as lines are, so that a sentence goes on over a page break; and the title from the
    PDF's metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractionError(f"unreadable PDF ({exc})") from None
    meta = {}
    if info is not None:
        meta = {key: str(value) for key, value in (("title", info.title), ("author", info.author)) if value}
    return "\n".join(p for p in unfurnished(pages) if p), meta


# A page number alone: "12", "- 12 -", "Page 3", "Page 3 of 9", "3/9"; front matter's "iv" apart
_BARE_NUMBER = re.compile(r"(?i:page\s+)?[-–—(]?\s*(\d{1,4})\s*[-–—)]?(?:\s*(?:/|of)\s*\d{1,4})?")
_ROMAN = re.compile(r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})")
# A running head that carries the page's number first or last: "Chapter 2: ASN.1 structure handling 3"
_HEAD_NUMBER = re.compile(r"(\d{1,4})\s+\S.{0,98}|.{0,98}\S\s+(\d{1,4})")
MAX_EDGE_CHARS = 120  # a longer line at a page's edge is text, not a running head
FURNITURE_SHARE = 3  # a numbering or a repeated edge line counts when it is on a third of the pages


def unfurnished(pages: list[str]) -> list[str]:
    """`pages` (each a page's text) without the lines a printed page puts at its top and bottom: a line
    carrying the page's number (alone, or in a running head), in the numbering a third of the pages agree
    on at that edge (the page's position plus a fixed offset: front matter is not counted), or a number
    alone at an edge with no such numbering; front matter's roman number alone; a line repeated as the top
    or bottom line of a third of the pages (at least three). A page's other lines are kept."""
    lines = [page.split("\n") for page in pages]
    least = max(3, len(pages) // FURNITURE_SHARE)
    offsets: tuple[Counter[int], Counter[int]] = (Counter(), Counter())  # top, bottom
    edges: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    for at, page in enumerate(lines):
        for edge, line in enumerate((page[0], page[-1])):
            if (number := _head_number(line)) is not None:
                offsets[edge][number - at] += 1
        if len(page) > 1:
            edges[0][page[0].strip()] += 1
            edges[1][page[-1].strip()] += 1
    numbering = [edge.most_common(1)[0] if edge else (0, 0) for edge in offsets]  # (offset, pages)
    # words, not a code listing's closing brace
    repeated = [
        {line for line, n in edge.items() if n >= least and re.search(r"[^\W\d_]", line)} for edge in edges
    ]

    def numbered(line: str, at: int, edge: int) -> bool:
        bare = line.strip()
        if len(bare) > MAX_EDGE_CHARS:
            return False
        if _ROMAN.fullmatch(bare):
            return True
        offset, count = numbering[edge]
        if count >= least:  # the edge is numbered: only the page's own number is furniture
            return _head_number(bare) == at + offset
        return bool(_BARE_NUMBER.fullmatch(bare))

    def trimmed(page: list[str], at: int, edge: int) -> list[str]:
        """The page without its furniture at one edge (0: top, 1: bottom): a repeated line and one line
        carrying the page's number, in either order; a chapter's first line ("1 Introduction" under the
        page number 1) is the chapter's, not the page's."""
        number_seen = False
        for _ in range(2):
            if len(page) < 2:
                break
            line = page[-edge]  # page[0] or page[-1]
            if not number_seen and numbered(line, at, edge):
                number_seen = True
            elif line.strip() not in repeated[edge]:
                break
            page = page[1:] if edge == 0 else page[:-1]
        return page

    return ["\n".join(trimmed(trimmed(page, at, 0), at, 1)).strip() for at, page in enumerate(lines)]


def _head_number(line: str) -> int | None:
    """The number a page's first or last line carries alone, or at its start or end when it is short
    enough to be a running head ("Chapter 2: Tools 7"; "12", "- 12 -", "Page 12 of 40")."""
    bare = line.strip()
    if len(bare) > MAX_EDGE_CHARS:
        return None
    match = _BARE_NUMBER.fullmatch(bare)
    if match is not None:
        return int(match.group(1))
    match = _HEAD_NUMBER.fullmatch(bare)
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


def extract(path: Path, raw: bytes | None = None) -> tuple[str, dict[str, str]]:
    data = path.read_bytes() if raw is None else raw
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return html_text(data)
    if suffix in PDF_SUFFIXES:
        return pdf_text(data)
    if suffix in NOTEBOOK_SUFFIXES:
        return notebook_text(data)
    raise ExtractionError(f"no extractor for '{suffix}'")


def notebook_text(raw: bytes) -> tuple[str, dict[str, str]]:
    """A Jupyter notebook (format 4, as Jupyter has written since 2015) as the Markdown a reader of it
    reads: its Markdown cells as they are, its code cells fenced in the kernel's language, outputs and raw
    cells left out; titled by its first heading. The format is JSON with each cell's source a string or a
    list of lines, read here with `json` (nbformat would add a schema check, and five dependencies)."""
    import json

    try:
        notebook = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExtractionError(f"not a Jupyter notebook (not JSON: {exc})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        raise ExtractionError(
            f"a Jupyter notebook of format {version}, not 4: open and save it in Jupyter to upgrade it"
            if version
            else "not a Jupyter notebook (no cells)"
        )
    metadata = notebook.get("metadata") or {}
    language = str(
        (metadata.get("kernelspec") or {}).get("language")
        or (metadata.get("language_info") or {}).get("name")
        or ""
    )
    parts: list[str] = []
    for cell in notebook["cells"]:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        text = ("".join(source) if isinstance(source, list) else str(source)).strip("\n")
        if not text.strip():
            continue
        if cell.get("cell_type") == "markdown":
            parts.append(text)
        elif cell.get("cell_type") == "code":
            fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`{3,}", text)), default=0))
            parts.append(f"{fence}{language}\n{text}\n{fence}")
    page = "\n\n".join(parts)
    heading = _NOTEBOOK_HEADING.search("\n\n".join(p for p in parts if not p.startswith("```")))
    meta = {"title": " ".join(heading.group(1).split())} if heading else {}
    return page, meta


_NOTEBOOK_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
