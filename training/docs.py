"""Reader examples from documentation: a section's heading as the question, the unit under it as the answer.

    python -m training.docs --out runs/docs

The reader learnt from Wikipedia sentences; documentation units (a sentence with the code block it
introduces, a list of options) read differently, and no question set over docs exists to train on
besides the FastAPI one we measure with. Headings are the docs' own questions ("Using a custom
middleware", "How do I skip a test?"), and the unit right under one is, more often than not, its answer.

1. Downloads pinned source distributions from PyPI (`pip download`) and keeps their docs folders
   (Markdown and reST; Django's .txt pages are reST), without release notes and generated API stubs.
   Not FastAPI, nor the projects its docs are built on (Starlette, Pydantic, Typer, SQLModel): the
   FastAPI set must measure reading of docs the reader never saw. Nor Click, structlog or RQ (nor
   Node.js): eval/ holds a docs set written blind over each, that no rule or weight was chosen on.
2. Builds a qabot index of them (the loader, units and section paths served).
3. For each section whose heading reads like a task or a question (three to twelve words: "Using a
   login shell", "How to set up bash completion", "Can I …?"), one group: the heading as the question,
   the first unit under it as the answer (prose, or a sentence with the block it introduces), and the
   pipeline's best units from other sections for that question as negatives. No answer span is marked.

Output: `examples.jsonl.gz`, one group a line with the fields of `training.examples.Example`; a rerun
reuses the download, the corpus and the index.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sqlite3
import subprocess
import sys
import tarfile
from dataclasses import asdict, replace
from pathlib import Path, PurePosixPath

from qabot import markup, text
from qabot.answer import Answerer
from qabot.config import Settings
from qabot.store import SentenceRow, build, open_index
from training.examples import HARD, Example, load_groups

SOURCES = (
    "django==5.2.19",
    "flask==3.1.3",
    "werkzeug==3.1.9",
    "jinja2==3.1.6",
    "pytest==9.2.0",
    "sphinx==9.0.4",
    "celery==5.7.0",
    "pip==26.3",
    "scrapy==2.19.0",
    "aiohttp==3.14.5",
    "alembic==1.20.1",
    "marshmallow==4.4.0",
    "attrs==26.1.0",
    "black==26.10.1",
    "mkdocs==1.6.1",
    "sqlalchemy==2.1.9",
    "pyramid==2.1",
    "falcon==4.4.0",
    "peewee==4.5.3",
    "setuptools==84.2.1",
    "coverage==7.18.0",
    "twisted==26.10.0",
    "dask==2026.8.0",
    "cherrypy==18.10.0",
    "tornado==6.6.1",
    # stop 34: sixteen more projects, for variety (the blind docs sets did not gain from more pages of
    # the first 25); not anyio, which Starlette is built on
    "babel==2.19.0",
    "cattrs==26.2.1",
    "docutils==0.23.1",
    "fabric==3.2.3",
    "flask-sqlalchemy==3.1.1",
    "gunicorn==27.0.1",
    "hatch==1.18.2",
    "invoke==3.0.3",
    "ipython==9.19.1",
    "kombu==5.7.0",
    "networkx==3.6.1",
    "nox==2026.10.20",
    "pylint==4.1.5",
    "sympy==1.14.0",
    "trio==0.35.0",
    "urllib3==2.8.0",
    # stop 41: more pages for people's questions (training/written_docs_questions.jsonl)
    "apscheduler==3.11.3",
    "itsdangerous==2.2.0",
    "packaging==26.4",
    "pygments==2.21.0",
    "sqlparse==0.6.1",
    "wtforms==3.3.2",
    # stop 45: every page of the first 46 has people's questions; 36 more projects for more of them (each
    # sdist checked to hold Markdown or reST docs; tox, virtualenv, asyncpg, mypy and gevent did not download)
    "beautifulsoup4==4.15.0",
    "cachetools==8.0.3",
    "factory-boy==3.3.3",
    "huey==3.5.4",
    "jsonschema==4.26.0",
    "lark==1.3.1",
    "mongoengine==0.29.3",
    "more-itertools==11.2.1",
    "pluggy==1.7.0",
    "pyjwt==2.15.1",
    "pyparsing==3.3.3",
    "pytest-xdist==3.8.0",
    "tenacity==9.2.1",
    "watchdog==7.1.1",
    "arrow==1.4.0",
    "briefcase==0.4.7",
    "cffi==2.1.1",
    "cmd2==4.3.1",
    "copier==9.19.1",
    "django-extensions==4.1",
    "django-filter==26.2",
    "eliot==1.18.0",
    "parsel==1.12.1",
    "pexpect==4.9.0",
    "psutil==7.2.2",
    "pyinstaller==6.22.3",
    "pymongo==4.20.1",
    "pytest-asyncio==1.5.0",
    "pytest-cov==7.1.0",
    "python-dateutil==4.0.0",
    "sqlite-utils==4.2.1",
    "supervisor==4.3.0",
    "treq==26.7.0",
    "w3lib==2.5.0",
    "webob==1.8.11",
    "zope-interface==8.7",
    # stop 45, later: 19 more (pytest-bdd, h5py, pyzmq and isort did not download; projects with fewer than
    # two pages of 4-80 kB left out)
    "build==1.6.1",
    "cibuildwheel==4.3.5",
    "django-allauth==65.22.1",
    "django-crispy-forms==2.7",
    "django-debug-toolbar==8.0.0",
    "django-environ==0.14.0",
    "django-import-export==4.4.3",
    "django-storages==1.14.6",
    "flit==4.2.0",
    "jupyter-client==8.10.0",
    "markdown==3.11.4",
    "mistune==3.4.0",
    "nanobind==3.1.0",
    "nbconvert==7.17.2",
    "plumbum==2.0.2",
    "pyglet==2.1.19",
    "pytest-django==4.14.0",
    "traitlets==5.16.1",
    "typeguard==4.6.1",
    # stop 45, last: 8 more with at least two such pages (of 23 tried; not cloup, built on Click, whose docs
    # eval/ measures)
    "aiosmtplib==5.1.3",
    "apispec==6.10.1",
    "flask-limiter==4.1.1",
    "flask-socketio==5.7.0",
    "python-socketio==5.18.1",
    "sqlalchemy-utils==0.43.0",
    "tablib==3.10.0",
    "webargs==8.7.1",
)
DOC_ROOTS = ("docs", "doc")
SKIPPED = re.compile(
    r"/(?:releases?|announce|changes|changelog|history|internals|man|_build|_templates)/|"
    r"(?:^|/)(?:changes|changelog|history|news|release[-_]?notes|authors|license|contributing|plugin_list)[^/]*$",
    re.IGNORECASE,
)
SUFFIXES = {".md": ".md", ".rst": ".rst", ".txt": ".rst"}
_TOPIC = re.compile(r"[A-Za-z]")
_TASK = re.compile(r"^(?:how|what|why|when|where|which|can|should|do|does|is|are)\b|^\w+ing\b|\?$", re.I)
_VERSIONISH = re.compile(r"^\s*v?\d+(?:\.\d+)+|^\W*$")
MIN_WORDS, MAX_WORDS = 3, 12
MIN_ANSWER_WORDS = 6
ANSWER_KINDS = {text.SENTENCE, text.INTRO}  # prose, or a sentence with the block it introduces


def fetch(sdists: Path) -> list[Path]:
    sdists.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("-")[0].lower(): p for p in sdists.glob("*.tar.gz")}
    wanted = [s for s in SOURCES if s.split("==")[0].replace("-", "_") not in have]
    if wanted:
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, "-d", str(sdists), *wanted], check=True)
    return sorted(sdists.glob("*.tar.gz"))


def docs_member(name: str) -> str | None:
    """The path under the project's docs folder for a member worth reading, else None."""
    parts = PurePosixPath(name).parts
    for i, part in enumerate(parts[:-1]):
        if part in DOC_ROOTS:
            inner = "/".join(parts[i + 1 :])
            suffix = PurePosixPath(inner).suffix.lower()
            if suffix in SUFFIXES and not SKIPPED.search("/" + inner):
                return inner
            return None
    return None


def project_of(archive: Path) -> str:
    return archive.name.rsplit("-", 1)[0].lower()


def write_corpus(archives: list[Path], corpus: Path) -> int:
    written = 0
    for archive in archives:
        project = project_of(archive)
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                inner = docs_member(member.name) if member.isfile() else None
                if inner is None:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                path = PurePosixPath(inner)
                target = corpus / project / path.with_suffix(SUFFIXES[path.suffix.lower()])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
                written += 1
    return written


def topic(heading: str) -> bool:
    """A heading that can stand as a question: a task or a question ("Using a login shell", "How to set
    up bash completion", "Can I change the interval at runtime?") in a few words, not a version number or
    an identifier. Noun headings ("Requirements File Format") were taken at first: in a sample read by
    hand their first unit seldom answered them, and another section often answered better."""
    if not _TASK.search(heading.strip()):
        return False
    words = heading.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or _VERSIONISH.search(heading):
        return False
    plain = [w for w in words if _TOPIC.search(w) and not re.search(r"[._()=/]", w)]
    return len(plain) >= MIN_WORDS


def asked(heading: str) -> str | None:
    """A task heading as a help channel asks it ("Registering custom markers" -> "how do I register custom
    markers?", "How to set up bash completion" -> "how do I set up bash completion?"), or None for a
    heading that is not a gerund or "how to" task. The questions people ask about docs are mostly of that
    form; the headings alone are not."""
    from lemminflect import getLemma

    words = heading.strip().rstrip(".:?").split()
    if len(words) > 2 and words[0].lower() == "how" and words[1].lower() == "to":
        verb, rest = words[2].lower(), words[3:]
    elif words and words[0].lower().endswith("ing"):
        lemmas = [lemma for lemma in getLemma(words[0].lower(), upos="VERB") if "-" not in lemma]
        if not lemmas or words[0].lower() in lemmas:
            return None  # "String formatting", "Bring …": not a gerund
        verb, rest = max(lemmas, key=len), words[1:]  # "routing": "route", not "rout"
    else:
        return None
    plain = [w.lower() if w[:1].isupper() and w[1:].islower() else w for w in rest]  # Title Case, not names
    return " ".join(["how do I", verb, *plain]) + "?"


def sections(store: Path) -> list[tuple[int, tuple[str, ...], int, int, int]]:
    """(document row, section path, first unit's sentence id, start, end) for every section whose
    heading is a topic and whose first unit is prose (a sentence, or one with the block it introduces)."""
    db = sqlite3.connect(store)
    rows = db.execute(
        "SELECT s.rowid, s.doc, s.start, s.end, u.kind, u.section FROM sentences s"
        " JOIN units u ON u.rowid = s.rowid ORDER BY s.rowid"
    ).fetchall()
    db.close()
    seen: set[tuple[int, tuple[str, ...]]] = set()
    out = []
    for sid, doc, start, end, kind, section_json in rows:
        section = tuple(json.loads(section_json))
        if kind == markup.HEADING or not section or (doc, section) in seen:
            continue
        seen.add((doc, section))
        if kind in ANSWER_KINDS and topic(section[-1]):
            out.append((doc, section, sid, start, end))
    return out


def examples(index_settings: Settings, how_to: bool = False) -> list[Example]:
    index = open_index(index_settings, verify=False)
    answerer = Answerer(index, threads=index_settings.threads, mode="scorer")
    generation = (index_settings.index_dir / "CURRENT").read_text().strip()
    found = sections(index_settings.index_dir / "generations" / generation / "store.sqlite")
    out = []
    for number, (doc, section, sid, start, end) in enumerate(found):
        positive = index.document(doc).text[start:end]
        if len(positive.split()) < MIN_ANSWER_WORDS:
            continue
        heading = section[-1]
        how = asked(heading) if how_to else None
        for key, question in ((f"docs-{number}", heading), (f"docs-{number}-how", how)):
            if question is None:
                continue
            candidates, _ = answerer.candidates(question)
            units = index.units([c.sentence.id for c in candidates])
            negatives, rows = [], index.sentence_rows([sid])
            for c in candidates:
                row = c.sentence
                unit = units.get(row.id)
                if row.id == sid or (row.doc == doc and unit is not None and unit.section == section):
                    continue
                text = index.document(row.doc).text[row.start : row.end]
                if text != positive:
                    negatives.append(text)
                    rows.append(row)
                if len(negatives) == HARD:
                    break
            if len(negatives) == HARD:
                # as readers trained with context, or with section paths, read them
                contexts = tuple(answerer.contexts(rows))
                paths = tuple(answerer.contexts(rows, prose=False, sections=True))
                out.append(
                    Example(
                        key,
                        question,
                        (),
                        positive,
                        (0, 0),
                        tuple(negatives),
                        contexts=contexts,
                        sections=paths,
                    )
                )
    return out


def write(groups: list[Example], path: Path) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as sink:
        for ex in groups:
            sink.write(json.dumps(asdict(ex)) + "\n")


def with_sections(groups: list[Example], index_settings: Settings) -> tuple[list[Example], int]:
    """Groups written before section paths were (training.train --sections), with the section path of each
    of their units found by its exact text in the index (a text found in several units takes the first);
    and how many texts were not found (those read alone)."""
    index = open_index(index_settings, verify=False)
    answerer = Answerer(index, threads=index_settings.threads, mode="scorer")
    wanted = {t for g in groups for t in (g.positive, *g.negatives, *g.absent) if t}
    rows: dict[str, SentenceRow] = {}
    for row in index.sentences(0, index.manifest["counts"]["sentences"]):
        unit = index.document(row.doc).text[row.start : row.end]
        if unit in wanted and unit not in rows:
            rows[unit] = row
    path = dict(zip(rows, answerer.contexts(list(rows.values()), prose=False, sections=True), strict=True))
    index.close()

    def paths(texts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(path.get(t, "") for t in texts)

    out = [
        replace(
            g,
            sections=paths((g.positive, *g.negatives)) if g.positive else (),
            absent_sections=paths(g.absent),
        )
        for g in groups
    ]
    return out, len(wanted - rows.keys())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/docs"))
    parser.add_argument(
        "--how-to",
        action="store_true",
        help='Each gerund or "how to" heading also asked as "how do I …?" (a second group).',
    )
    parser.add_argument("--examples", default="examples.jsonl.gz", help="Output file name under --out.")
    parser.add_argument(
        "--add-sections",
        type=Path,
        default=None,
        help="Instead: this groups file, written before section paths, with them (to --examples).",
    )
    args = parser.parse_args()
    if args.add_sections is not None:
        settings = Settings(corpus_dir=args.out / "corpus", index_dir=args.out / "index")
        groups, missing = with_sections(load_groups(args.add_sections), settings)
        write(groups, args.out / args.examples)
        print(f"{len(groups)} groups with section paths; {missing} texts not found in the index")
        return
    corpus = args.out / "corpus"
    archives = [a for a in fetch(args.out / "sdists") if not (corpus / project_of(a)).exists()]
    if archives:  # a source added to SOURCES since the last run: its pages join the corpus and the index
        print(f"{write_corpus(archives, corpus)} pages", flush=True)
    settings = Settings(corpus_dir=corpus, index_dir=args.out / "index")
    # always: unchanged pages are reused, and pages written by a run stopped before its build get indexed
    report = build(settings)
    print(f"index: {report.documents} documents, {report.sentences} units, {report.seconds:.0f} s")
    groups = examples(settings, args.how_to)
    write(groups, args.out / args.examples)
    print(f"{len(groups)} groups", flush=True)


if __name__ == "__main__":
    main()
