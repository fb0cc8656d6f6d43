"""Text out of HTML pages (trafilatura: the article, without menus and boilerplate) and PDF files (pypdf).

For these formats a citation's offsets index the extracted text, which the index stores and
`qabot show SOURCE` prints; extraction is deterministic, so extracting the file again gives the same text.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}


class ExtractionError(ValueError):
    """The file could not be turned into text."""


def html_text(raw: bytes) -> tuple[str, dict[str, str]]:
    """The main text of a page and what its metadata says (title, date, url, author, sitename)."""
    import trafilatura

    html = raw.decode("utf-8", errors="replace")
    text = main_text(html, deduplicate=False)
    meta: dict[str, str] = {}
    found = trafilatura.extract_metadata(html)
    if found is not None:
        for key in ("title", "date", "url", "author", "sitename"):
            value = getattr(found, key, None)
            if value:
                meta[key] = str(value)
    return text, meta


def main_text(html: str, **options: Any) -> str:
    """The page's main text (trafilatura), one block a paragraph: blocks are separated by a blank line,
    and the line breaks inside a paragraph, heading, list item or table cell, which HTML does not show
    (its source is often wrapped at 80 columns), are read as spaces; code keeps its lines.

    trafilatura's own text output puts every block on a line of its own and keeps the source's wrapping,
    so a wrapped paragraph reads as several "sentences" and paragraph ends are lost; its XML output
    keeps the blocks, which this lays out."""
    from xml.etree import ElementTree

    import trafilatura

    options = {"include_comments": False, "include_tables": True, **options}
    xml = trafilatura.extract(html, output_format="xml", **options)
    if not xml:
        return ""
    try:
        main = ElementTree.fromstring(xml).find("main")
        blocks: list[str] = []
        for element in [] if main is None else main:
            blocks.extend(_block(element))
            if element.tail and element.tail.strip():
                blocks.append(_flat(element.tail))
    except (ElementTree.ParseError, RecursionError):  # odd input: lose the layout, not the text
        return trafilatura.extract(html, **options) or ""
    return "\n\n".join(b for b in blocks if b)


def _block(element: Any, depth: int = 0) -> list[str]:
    """The lines of one block of trafilatura's XML, laid out as text."""
    if element.tag == "code":
        return ["".join(element.itertext()).strip("\n")]
    if element.tag == "list":
        lines = []
        for item in element.findall("item"):
            own = (item.text or "") + "".join(
                "".join(c.itertext()) + (c.tail or "") if c.tag != "list" else (c.tail or "") for c in item
            )
            lines.append("  " * depth + "- " + _flat(own))
            for nested in item.findall("list"):
                lines.extend(_block(nested, depth + 1))
        return ["\n".join(lines)] if depth == 0 else lines
    if element.tag == "table":
        rows = [" | ".join(_flat("".join(c.itertext())) for c in row) for row in element.iter("row")]
        return ["\n".join(r for r in rows if r.strip(" |"))]
    return [_flat("".join(element.itertext()))]


def _flat(text: str) -> str:
    return " ".join(text.split())


def page_text(raw: bytes, url: str | None = None) -> tuple[str, dict[str, str]]:
    """A downloaded page's main text and what the page states about itself (title, date, url, author,
    sitename): for `qabot add`, which writes them into the document's front matter.

    Unlike `html_text` (for .html files in the corpus, which are read as UTF-8), the encoding is detected
    (trafilatura's decode_file: the page's bytes, whatever the server claimed), `url` is the fallback when
    the page names no canonical URL, and the date is only one the page states in its markup or its link:
    htmldate's extensive search, which guesses from any date-like text ("© 2024"), is off.
    """
    import trafilatura
    from trafilatura.utils import decode_file

    html = decode_file(raw)
    text = main_text(html, url=url)
    meta: dict[str, str] = {}
    found = trafilatura.extract_metadata(html, default_url=url, extensive=False)
    for key in ("title", "date", "url", "author", "sitename"):
        value = getattr(found, key, None)
        if value:
            meta[key] = str(value)
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
    """The text of every page, pages separated by a blank line, and the title from the PDF's metadata."""
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
    return "\n\n".join(p for p in pages if p), meta


def extract(path: Path, raw: bytes | None = None) -> tuple[str, dict[str, str]]:
    data = path.read_bytes() if raw is None else raw
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return html_text(data)
    if suffix in PDF_SUFFIXES:
        return pdf_text(data)
    raise ExtractionError(f"no extractor for '{suffix}'")
