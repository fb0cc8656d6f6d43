"""Load a folder of documents: .txt, .md and .rst (optional YAML front matter) and .jsonl records.

Offsets in citations index `Document.text`. For a .txt or .md file that is the whole file as read with
`Path.read_text(encoding="utf-8")` (front matter included, so offsets hold against the file on disk); for a
.jsonl record it is the record's `text` field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from qabot.extract import EXTRACTED_SUFFIXES, ExtractionError, extract
from qabot.markup import ASCIIDOC, PLAIN, RST, heading_levels, section_name, structured, syntax_of

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".mdx", ".rst", ".rest"}
JSONL_SUFFIXES = {".jsonl"}
SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | EXTRACTED_SUFFIXES

# A byte-order mark (Windows editors write one) may come first; read_text keeps it, so offsets count it.
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Document:
    """One citable unit: a file, or one record of a .jsonl file."""

    id: str
    path: str  # relative to the corpus folder, with forward slashes
    title: str
    text: str
    body_start: int = 0  # where the citable text begins (after front matter)
    date: str | None = None
    url: str | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # how its text is read (qabot.markup.syntax_of), decided once: from the file's name and, for a .txt
    # file, its text when not given
    syntax: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.syntax:
            object.__setattr__(self, "syntax", syntax_of(self.path, self.text[self.body_start :]))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """A file or record that could not be loaded, and why; `unsupported` is the file's type when it is one
    qabot does not read (a docs site's stylesheets and scripts), so they can be reported together."""

    path: str
    reason: str
    unsupported: str = ""
    # what part of a generated docs site it is (a Sphinx build's "_sources"), reported together
    generated: str = ""


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document]
    problems: list[Problem]


def load_corpus(corpus_dir: Path) -> LoadResult:
    """Every supported document under `corpus_dir`, recursively, in path order; bad files become problems."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    documents: list[Document] = []
    problems: list[Problem] = []
    builds: dict[Path, _Generator | None] = {}
    for file in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        rel = file.relative_to(corpus_dir).as_posix()
        if any(part.startswith(".") for part in file.relative_to(corpus_dir).parts):
            continue
        part, reason = _generated(file, corpus_dir, builds)
        if part:
            problems.append(Problem(rel, reason, generated=part))
            continue
        if file.suffix.lower() not in SUFFIXES:
            if file.name.lower() not in {"readme", "license"}:
                kind = file.suffix or file.name
                problems.append(
                    Problem(
                        rel, f"unsupported file type '{kind}'", unsupported=file.suffix.lower() or "no suffix"
                    )
                )
            continue
        suffix = file.suffix.lower()
        if suffix in EXTRACTED_SUFFIXES:
            extracted = _extracted_document(file, rel)
            if isinstance(extracted, Problem):
                problems.append(extracted)
            else:
                documents.append(extracted)
            continue
        try:
            raw = file.read_bytes()
            text = _decode(raw)
        except (OSError, ValueError) as exc:
            problems.append(Problem(rel, str(exc)))
            continue
        if suffix in JSONL_SUFFIXES:
            docs, bad = _jsonl_documents(text, rel)
            documents.extend(docs)
            problems.extend(bad)
        else:
            doc = text_document(text, rel)
            if doc is None:
                problems.append(Problem(rel, "empty file"))
            else:
                documents.append(doc)
    return LoadResult(_unique_ids(_without_site_name(_included_asciidoc(documents))), problems)


@dataclass(frozen=True)
class _Generator:
    """What a docs generator writes beside a site's pages: read, those files repeat every page, quote code
    listings, or are lists of links and search stubs ("Loading... Searching... No Matches")."""

    marks: tuple[str, ...]  # files at the root of its output, one of which tells it
    folders: dict[str, str]  # folder under the root -> why it is skipped
    pages: tuple[tuple[re.Pattern[str], str], ...]  # file name -> what it is
    nested: bool = False  # its pages may be in folders under the root (Doxygen's CREATE_SUBDIRS: d6/d30/)


_GENERATORS = (
    _Generator(
        marks=("searchindex.js", "objects.inv"),
        folders={
            "_sources": "a Sphinx build's copy of a page's source",
            "_modules": "a Sphinx build's page of the package's source code",
        },
        pages=((re.compile(r"(genindex(-\w+)?|py-modindex|search)\.html?", re.IGNORECASE), "index pages"),),
    ),
    _Generator(
        marks=("doxygen.css",),
        folders={"search": "Doxygen's search page stubs"},
        pages=(
            (re.compile(r".*_source\.html"), "source listings"),
            (re.compile(r".*_8(dox|md|txt)\.html"), "pages of the docs' source files"),
            (
                re.compile(
                    r"(dir_\w+|files|globals\w*|functions\w*|classes|annotated|hierarchy|namespaces"
                    r"|namespacemembers\w*|modules|pages|deprecated|todo)\.html"
                ),
                "index pages",
            ),
        ),
        nested=True,
    ),
)


def _generated(file: Path, corpus_dir: Path, builds: dict[Path, _Generator | None]) -> tuple[str, str]:
    """(what it is, why it is skipped) when `file` is one that a docs generator (Sphinx, Doxygen) writes
    beside the pages of its output; ("", "") for a page or any other file. `builds` caches the folders."""
    folder = file.parent
    while True:
        if folder not in builds:
            found = (g for g in _GENERATORS if any((folder / mark).is_file() for mark in g.marks))
            builds[folder] = next(found, None)
        generator = builds[folder]
        if generator is not None:
            parts = file.relative_to(folder).parts
            if len(parts) > 1 and parts[0] in generator.folders:
                return parts[0], generator.folders[parts[0]]
            for pattern, what in generator.pages if len(parts) == 1 or generator.nested else ():
                if pattern.fullmatch(parts[-1]):
                    return what, f"{what} a docs generator made"
            return "", ""
        if folder == corpus_dir or folder.parent == folder:
            return "", ""
        folder = folder.parent


def _included_asciidoc(documents: list[Document]) -> list[Document]:
    """The documents with each plain-text file that an AsciiDoc page includes (`include::diff-options.txt[]`)
    read as AsciiDoc: Git's short fragments (`rerere-options.txt`) have too little markup of their own to
    be recognised (`asciidoc.marked`), and are written to be read inside an AsciiDoc page."""
    from qabot.asciidoc import includes

    included: set[str] = set()
    for doc in documents:
        if doc.syntax == ASCIIDOC and "include::" in doc.text:
            folder = PurePosixPath(doc.path).parent
            included.update(posixpath.normpath((folder / target).as_posix()) for target in includes(doc.text))
    out = []
    for doc in documents:
        if doc.path in included and doc.syntax == PLAIN and doc.meta.get("format") is None:
            doc = text_document(doc.text, doc.path, ASCIIDOC) or doc
        out.append(doc)
    return out


# what follows a page's own title in an HTML page's <title>: " - The Cargo Book", " — Flask Documentation
# (3.0.x)", " | Node.js v20 Documentation", "(libffi: the portable foreign function interface library)"
_TITLE_TAIL = re.compile(r"\s+[-–—|·]\s+|\s*(?=\([^()]+\)$)")
_TITLE_HEAD = re.compile(r"[^:|–—·]{1,60}?(?::|\s+[-–—|·])\s+")  # "GLFW: ", Doxygen's project name
SITE_NAME_PAGES = 3  # a tail shared by this many HTML pages, and by half of them, names the site


def _without_site_name(documents: list[Document]) -> list[Document]:
    """The documents with the site's name left out of their HTML pages' titles: every citation of a saved
    docs site would say it ("cargo add - The Cargo Book", "GLFW: Window guide"), and it is embedded with
    each page's chunks. A tail or head is the site's name when SITE_NAME_PAGES or more pages, and at least
    half of them, end or begin with it."""
    pages = [d for d in documents if d.meta.get("format") in ("html", "htm")]

    def shared(counts: Counter[str]) -> list[str]:  # longest first
        names = (name for name, n in counts.items() if n >= SITE_NAME_PAGES and 2 * n >= len(pages))
        return sorted(names, key=len, reverse=True)

    tails = shared(
        Counter(t for d in pages for t in {d.title[m.start() :] for m in _TITLE_TAIL.finditer(d.title)})
    )
    heads = shared(Counter(m.group(0) for d in pages if (m := _TITLE_HEAD.match(d.title))))
    if not tails and not heads:
        return documents
    html = {id(d) for d in pages}
    out = []
    for doc in documents:
        title = doc.title
        if id(doc) in html:
            tail = next((t for t in tails if title.endswith(t)), "")
            head = next((h for h in heads if title.startswith(h)), "")
            title = title[len(head) : len(title) - len(tail)].strip()
        out.append(replace(doc, title=title) if title else doc)
    return out


def _extracted_document(file: Path, rel: str) -> Document | Problem:
    try:
        text, meta = extract(file)
    except (OSError, ExtractionError) as exc:
        return Problem(rel, str(exc))
    if not text.strip():
        return Problem(rel, "no text could be extracted")
    return Document(
        id=Path(rel).with_suffix("").as_posix(),
        path=rel,
        title=_clean(meta.get("title")) or _first_line(text) or Path(rel).stem,
        text=text,
        date=_iso_date(meta.get("date")) or date_from_text(text),
        url=_clean(meta.get("url")),
        meta={
            "format": file.suffix.lower().lstrip("."),
            **{k: v for k, v in meta.items() if k not in {"title", "date", "url"}},
        },
    )


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start}); convert it with iconv") from None
    # the newlines Path.read_text gives (the citation contract), so offsets hold in CRLF files too
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_document(text: str, rel_path: str, syntax: str = "") -> Document | None:
    """A .txt/.md document; front matter (between `---` lines) supplies title, date, url and more; `syntax`:
    how it is read, when not by its name and text (`markup.syntax_of`)."""
    meta: dict[str, Any] = {}
    body_start = 0
    match = _FRONT_MATTER.match(text)
    if match:
        import yaml  # here, not at the top: only front matter needs it, and `qabot ask` saves ~17 ms

        try:
            loaded = yaml.safe_load(match.group(1) or "")
        except (yaml.YAMLError, ValueError):  # ValueError: an impossible date such as 2024-02-30
            loaded = None
        if isinstance(loaded, dict):
            meta = loaded
            body_start = match.end()
    if not text[body_start:].strip():
        return None
    body = text[body_start:]
    syntax = syntax or syntax_of(rel_path, body)
    if syntax == ASCIIDOC:
        from qabot.asciidoc import document_title

        title = _clean(meta.get("title")) or document_title(body) or _structured_title(body, rel_path, False)
    elif structured(syntax):
        title = _clean(meta.get("title")) or _structured_title(body, rel_path, syntax == RST)
    else:
        title = _clean(meta.get("title")) or _first_line(body)
    title = title or Path(rel_path).stem
    return Document(
        id=str(Path(rel_path).with_suffix("").as_posix()),
        path=rel_path,
        title=title,
        text=text,
        body_start=body_start,
        date=_iso_date(meta.get("date")) or date_from_text(text[body_start:]) or _path_date(rel_path),
        url=_clean(meta.get("url")),
        meta={k: str(v) for k, v in meta.items() if v is not None and k not in {"title", "date", "url"}},
        syntax=syntax,
    )


_PATH_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[-_.]|$)")


def _path_date(rel_path: str) -> str | None:
    """The date a blog names its posts by (Jekyll's `_posts/2019-05-28-title.md`, Docusaurus'
    `blog/2021-08-26-welcome/index.mdx`): at the start of the file's name, or of its folder's for an
    index page."""
    path = Path(rel_path)
    name = path.parent.name if path.stem.lower() in {"index", "readme"} else path.name
    found = _PATH_DATE.match(name)
    return _iso_date(found.group(1)) if found else None


def _jsonl_documents(text: str, rel_path: str) -> tuple[list[Document], list[Problem]]:
    documents: list[Document] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{rel_path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(where, f"invalid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            problems.append(Problem(where, "record has no 'text' string"))
            continue
        if not record["text"].strip():
            problems.append(Problem(where, "empty text"))
            continue
        rid = str(record.get("_id", record.get("id", number)))
        documents.append(
            Document(
                id=rid,
                path=rel_path,
                title=_clean(record.get("title")) or _first_line(record["text"]) or rid,
                text=record["text"],
                date=_iso_date(record.get("date")),
                url=_clean(record.get("url")),
                meta={k: str(v) for k, v in (record.get("metadata") or {}).items()}
                if isinstance(record.get("metadata"), dict)
                else {},
            )
        )
    return documents, problems


def _unique_ids(documents: list[Document]) -> list[Document]:
    """Ids are stems; when two files share one (a.txt, a.md) the later keeps its full path as id."""
    seen: set[str] = set()
    out: list[Document] = []
    for doc in documents:
        if doc.id in seen:
            doc = replace(doc, id=doc.path)
        seen.add(doc.id)
        out.append(doc)
    return out


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


# MyST's "(options)=" and reST's ".. _options:" name the heading below them for links
_LINK_TARGET = re.compile(r"\s*(?:\([^()\s]+\)=|\.\. _[^:]+:)\s*$")


# reST explicit markup (a comment, a directive, a link target: "..") and field lines (":Version: 5.7"),
# each with its indented continuation lines: pages open with them (licence comments, `.. module::`), but
# they are not the page's title
_RST_MARKUP = re.compile(r"\s*(?:\.\.(?:\s|$)|:[^:\s][^:]*:(?:\s|$))")


# Markdown lines above a page's first heading that are not its text: HTML (comments, centred logos),
# badge and image lines, lines of links ("[English](…) • [中文](…)", "**Docs**: <a href=…>"), attribute
# lines ("{.hide-header}") and rules
_NOT_TEXT = re.compile(
    r"\s*(?:<|!\[|\[!\[|\[[^\]]*\]\([^)]*\)|\{[^{}]*\}\s*$|(?:[-*_]\s*){3,}$|.*<a\s[^>]*href)"
)
# a page whose opening line is a sentence is titled by its file name, as MkDocs titles it, unless the
# name says nothing of the page
_GENERIC_STEMS = {"index", "readme", "_index"}


def _opening(body: str, rst: bool) -> list[tuple[str, bool]]:
    """A structured document's first lines that are text, each with whether a blank line (or the end)
    follows it: blank lines, link targets, Markdown's HTML, badges and link lines and, in reST, explicit
    markup with its continuation left out."""
    lines = body.splitlines()[:60]
    out: list[tuple[str, bool]] = []
    continuation = in_comment = False
    for at, line in enumerate(lines):
        if in_comment:  # an HTML comment over several lines ("<!--", a Sphinx master-file note, "-->")
            in_comment = "-->" not in line
            continue
        if not line.strip() or (continuation and line[:1] in " \t"):
            continue
        continuation = False
        if _LINK_TARGET.match(line) or (rst and _RST_MARKUP.match(line)):
            continuation = rst
            continue
        if not rst and not out and _NOT_TEXT.match(line):
            in_comment = line.lstrip().startswith("<!--") and "-->" not in line
            continue
        alone = at + 1 >= len(lines) or not lines[at + 1].strip()
        out.append((line, alone))
        if len(out) == 4:
            break
    return out


def _structured_title(body: str, path: str, rst: bool) -> str | None:
    """A Markdown or reST document's title: its first line when that is a heading ("# First Steps { #x }"
    gives "First Steps"; reST's "Guide" over "=====" gives "Guide"; in Markdown one that tops the page's
    outline), link targets, reST comments, directives and fields, and Markdown's HTML, badges and link
    lines above it skipped; else a first line that stands alone and does not end like a sentence ("Field
    notes"); else the file's name as MkDocs gives it ("early-hints.md" is "Early hints"), since a page that
    opens with a sentence ("Starlette allows you to install custom exception handlers to deal with") is
    not titled by its first line. A name such as index or README says nothing: its first line stays."""
    lines = _opening(body, rst)
    if lines and re.match(r"\s*[=\-~^*#+]{3,}\s*$", lines[0][0]):  # a reST overline
        lines = lines[1:]
    if not lines:
        return None
    first, alone = lines[0]
    underline = lines[1][0].strip() if len(lines) > 1 else ""
    underlined = bool(re.fullmatch(r"[=\-~^*#+\"']{3,}", underline))
    heading = first.lstrip().startswith("#") or underlined
    stem = Path(path).stem
    generic = stem.lower() in _GENERIC_STEMS
    if heading and (rst or generic or _heads_outline(body, first, underline)):
        return section_name(first)[:200] or None
    text = " ".join(first.split())[:200]
    if generic or (not heading and alone and len(text) <= 100 and not re.search(r"[.:;,!?]$", text)):
        return text
    name = re.sub(r"[-_]+", " ", stem).strip()
    return (name.capitalize() if name == name.lower() else name) or text


_ATX = re.compile(r"\s{0,3}(#{1,6})\s")


def _heads_outline(body: str, first: str, underline: str) -> bool:
    """Whether a Markdown page's opening heading is the top of its outline: of the first level (`# Title`,
    or a title over `===`), or with no later heading of its level or above. "## Notes on Performance" over
    "###" sections titles its page; "## 1.10.0 (October 24, 2026)" opening release notes followed by
    "## 1.9.0" is one section among others, as MkDocs reads it."""
    atx = _ATX.match(first + " ")
    if not underline and not atx:
        return False  # "#hashtag" is not a heading
    level = len(atx.group(1)) if atx else 1 if underline.startswith("=") else 2
    if level == 1:
        return True  # a first-level title: no need to parse the page for the rest of its outline
    levels = heading_levels(body)
    return bool(levels) and (levels[0] == 1 or all(later > levels[0] for later in levels[1:]))


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())[:200]
    return None


_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%Y/%m/%d")
# A date line near the top of an article: "Date: 23 February 2021", " date 2023-12-28 Headline…".
_DATE_LINE = re.compile(
    r"^\s*(?:date|published|posted)\s*:?\s+"
    r"(\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+\.?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4})",
    re.IGNORECASE | re.MULTILINE,
)


def _iso_date(value: object) -> str | None:
    """`YYYY-MM-DD`, from a date, a datetime or a string in a common format; None when it is not a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = " ".join(str(value).replace(".", " ").split()) if "-" not in str(value) else str(value).strip()
    for fmt in _DATE_FORMATS:
        for candidate in (text, text[:10]):
            try:
                return dt.datetime.strptime(candidate, fmt).date().isoformat()
            except ValueError:
                continue
    return None


def date_from_text(body: str) -> str | None:
    """The date of a date line among the first lines of the text, if there is one."""
    match = _DATE_LINE.search(body[:600])
    return _iso_date(match.group(1)) if match else None
