"""Text out of HTML pages (trafilatura: the article, without menus and boilerplate) and PDF files (pypdf).

For these formats a citation's offsets index the extracted text, which the index stores and
`qabot show SOURCE` prints; extraction is deterministic, so extracting the file again gives the same text.
"""

from __future__ import annotations

import io
from pathlib import Path

HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}


class ExtractionError(ValueError):
    """The file could not be turned into text."""


def html_text(raw: bytes) -> tuple[str, dict[str, str]]:
    """The main text of a page and what its metadata says (title, date, url, author, sitename)."""
    import trafilatura

    html = raw.decode("utf-8", errors="replace")
    text = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False) or ""
    meta: dict[str, str] = {}
    found = trafilatura.extract_metadata(html)
    if found is not None:
        for key in ("title", "date", "url", "author", "sitename"):
            value = getattr(found, key, None)
            if value:
                meta[key] = str(value)
    return text, meta


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
    meta = {"title": str(info.title)} if info is not None and info.title else {}
    return "\n\n".join(p for p in pages if p), meta


def extract(path: Path, raw: bytes | None = None) -> tuple[str, dict[str, str]]:
    data = path.read_bytes() if raw is None else raw
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return html_text(data)
    if suffix in PDF_SUFFIXES:
        return pdf_text(data)
    raise ExtractionError(f"no extractor for '{suffix}'")
