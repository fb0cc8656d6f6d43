"""What enters the corpus through `qabot add` and `/add`: a link, a file or an upload turned into one corpus
file, with the metadata it states about itself, that the loader reads back as it was meant.

- A web page or a PDF becomes a .txt file: YAML front matter (title, date, author, source, url, and the
  link it was fetched from), then the extracted text. Citation offsets then index the file on disk, as for
  any .txt document, and a wrong title or date can be fixed by editing the front matter.
- A .txt or .md file is copied as it is (it must be UTF-8, as the loader requires).
- What a download or upload is comes from its bytes, never from the server's Content-Type: a PDF starts
  with `%PDF-`, a page with an HTML tag, text is text, and images, archives or programs are refused.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from qabot.corpus import Document, text_document
from qabot.extract import ExtractionError, page_text, pdf_text
from qabot.fetch import FetchError, FetchPolicy, fetch, megabytes

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
ACCEPTED_SUFFIXES = (".html", ".htm", ".pdf", *TEXT_SUFFIXES)
SLUG_CHARS = 60
SNIFF_BYTES = 8192
# Signatures of what is certainly not a document (WHATWG mimesniff and `file`'s magic numbers).
BINARY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF media file"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg media file"),
    (b"\x00\x00\x01\x00", "an icon"),
)
# The tags WHATWG's sniffing algorithm takes as the start of an HTML document.
HTML_STARTS = (
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font", "<table", "<a",
    "<style", "<title", "<b", "<body", "<br", "<p", "<!--", "<meta", "<article", "<section", "<main",
)  # fmt: skip


class Refused(ValueError):
    """One link or file cannot be added; the message says why in one clause (lowercase, no final period)."""


@dataclass(frozen=True)
class Incoming:
    """A document ready to enter the corpus: the file to write, and what identifies it."""

    input: str  # the link, path or upload name as the user gave it
    name: str  # the file name wanted in the corpus (the library makes it unique)
    text: str  # the whole file, as it will be written (UTF-8)
    urls: tuple[str, ...] = ()  # the links it is known by: as given, after redirects, canonical

    @property
    def document(self) -> Document:
        """The document the loader will read from the file (checked when the Incoming is made)."""
        doc = text_document(self.text, self.name)
        if doc is None:
            raise Refused("no text could be found in it")
        return doc


def is_link(text: str) -> bool:
    """Whether an argument of `qabot add` is meant as a link (it has a scheme) rather than a file."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text.strip()) is not None


def body_key(text: str) -> str:
    """Same content, same key: the sha256 of the text with its whitespace runs made single spaces."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def url_key(url: str) -> str:
    """A link in one spelling: scheme and host lower-cased, default port and fragment dropped."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != default:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


# ---------------------------------------------------------------- what the bytes are


def sniff(data: bytes) -> str:
    """ "pdf", "html" or "text"; Refused for anything else (an image, an archive, a program)."""
    head = data[:SNIFF_BYTES]
    if b"%PDF-" in head[:1024]:  # the PDF header may follow up to 1 KB of junk
        return "pdf"
    for magic, what in BINARY_MAGIC:
        if head.startswith(magic):
            raise Refused(f"it is not a web page, a PDF or a text file (it looks like {what})")
    if b"\x00" in head:
        raise Refused("it is not a web page, a PDF or a text file (it is binary data)")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c").lower()
    for tag in HTML_STARTS:
        following = start[len(tag) : len(tag) + 1]
        if start.startswith(tag.encode()) and following in (b" ", b">", b"\t", b"\n", b"\r", b"/"):
            return "html"
    return "text"


# ---------------------------------------------------------------- links, files and uploads


def from_link(url: str, policy: FetchPolicy) -> Incoming:
    """Fetch `url` safely (qabot.fetch) and turn what came back into a corpus file."""
    try:
        download = fetch(url, policy)
    except FetchError as exc:
        raise Refused(str(exc)) from None
    data, final = download.body, download.url
    kind = sniff(data)
    path = urlsplit(final).path
    suffix = PurePosixPath(path).suffix.lower()
    if kind == "html" and suffix in TEXT_SUFFIXES:
        kind = "text"  # a Markdown file may well start with an HTML tag
    stem = _slug(PurePosixPath(path).stem) or _slug(urlsplit(final).hostname or "")
    if kind == "text":
        incoming = _fetched_text(url, _decode_any(data), final, stem, suffix)
    else:
        body, meta = _extracted(kind, data, final)
        meta.setdefault("url", final)  # a PDF names no link of its own; a page may name its canonical one
        incoming = _converted(url, body, meta, stem, fetched_from=url)
    return Incoming(incoming.input, incoming.name, incoming.text, _urls(url, final, incoming.document.url))


def from_file(path: Path, max_bytes: int) -> Incoming:
    """A local file: a .txt or .md file is copied as it is; an .html or .pdf file is extracted."""
    if path.is_dir():
        raise Refused("it is a folder; add the files in it one by one")
    if not path.is_file():
        raise Refused("there is no such file (a link needs http:// or https://)")
    check_upload(path.name, path.stat().st_size, max_bytes)
    return from_upload(path.name, path.read_bytes(), max_bytes, shown=str(path))


def check_upload(name: str, size: int, max_bytes: int) -> None:
    """What can be refused from a file's name and size alone, before reading or downloading it."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        accepted = ", ".join(s for s in ACCEPTED_SUFFIXES if s not in (".htm", ".markdown"))
        raise Refused(f"only {accepted} files can be added, not '{suffix or name}'")
    if size > max_bytes:
        raise Refused(f"it is larger than the {megabytes(max_bytes)} limit ({megabytes(size)})")


def from_upload(name: str, data: bytes, max_bytes: int, shown: str | None = None) -> Incoming:
    """A file's bytes under its name: its suffix says what it claims to be, and its bytes must agree."""
    check_upload(name, len(data), max_bytes)
    suffix = PurePosixPath(name).suffix.lower()
    stem = _slug(PurePosixPath(name).stem) or "document"
    kind = sniff(data)
    if suffix in TEXT_SUFFIXES:
        if kind == "pdf":
            raise Refused(f"it is named {suffix} but is a PDF")
        return _copied(shown or name, data, stem + suffix)
    if suffix == ".pdf" and kind != "pdf":
        raise Refused("it is named .pdf but is not a PDF")
    if suffix != ".pdf" and kind == "pdf":
        raise Refused(f"it is named {suffix} but is a PDF")
    body, meta = _extracted("pdf" if suffix == ".pdf" else "html", data, None)
    return _converted(shown or name, body, meta, stem)


# ---------------------------------------------------------------- building the file


def _extracted(kind: str, data: bytes, url: str | None) -> tuple[str, dict[str, str]]:
    try:
        return pdf_text(data) if kind == "pdf" else page_text(data, url)
    except ExtractionError as exc:
        raise Refused(str(exc)) from None


def _converted(
    shown: str, body: str, meta: dict[str, str], stem: str, fetched_from: str | None = None
) -> Incoming:
    """Extracted text under front matter that holds what the page or PDF says about itself."""
    body = _clean(body)
    if not body.strip():
        raise Refused("no text could be found in it (a scanned PDF, or a page that is all script?)")
    title = _one_line(meta.get("title")) or _first_line(body) or stem
    front = {
        "title": title,
        "date": _one_line(meta.get("date")),
        "author": _one_line(meta.get("author")),
        "source": _one_line(meta.get("sitename")),
        "url": _one_line(meta.get("url")),
    }
    if fetched_from is not None:
        front["fetched_from"] = fetched_from
    return _checked(Incoming(shown, (_slug(title) or stem or "document") + ".txt", _front(front) + body))


def _fetched_text(url: str, text: str, final: str, stem: str, suffix: str) -> Incoming:
    """Plain text or Markdown from a link: its own front matter, if any, gains the link."""
    name = f"{stem or 'document'}{'.md' if suffix in ('.md', '.markdown') else '.txt'}"
    text = _clean(text)
    own = text_document(text, name)
    if own is None:
        raise Refused("no text could be found in it")
    meta = {k: v for k, v in own.meta.items() if k not in ("fetched_from",)}
    front = {**meta, "title": own.title, "date": own.date, "url": own.url or final, "fetched_from": url}
    return _checked(Incoming(url, name, _front(front) + text[own.body_start :]))


def _copied(shown: str, data: bytes, name: str) -> Incoming:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"it is not UTF-8 text (byte {exc.start}); convert it, e.g. with iconv") from None
    return _checked(Incoming(shown, name, text))


def _checked(incoming: Incoming) -> Incoming:
    incoming.document  # noqa: B018 (refuses a file the loader would read as empty)
    return incoming


def _front(fields: dict[str, str | None]) -> str:
    import yaml

    dumped = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{dumped}---\n"


def _decode_any(data: bytes) -> str:
    """Text in whatever encoding it came in (trafilatura's detection), as a str."""
    from trafilatura.utils import decode_file

    return decode_file(data)


def _clean(text: str) -> str:
    """Newlines as the loader reads them, no control characters, one final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


def _one_line(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None


def _first_line(text: str) -> str | None:
    return next((" ".join(line.split())[:200] for line in text.splitlines() if line.strip()), None)


def _slug(text: str) -> str:
    """lower-case ASCII words joined by hyphens, cut at a word within SLUG_CHARS characters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", plain):
        if len(slug) + len(word) + 1 > SLUG_CHARS:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug


def _urls(*urls: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(url_key(u) for u in urls if u))
