"""Adding documents to the corpus and taking them out again: the index updated, every change logged.

`add` takes documents made by qabot.intake, `remove` takes document ids. Each one, under a lock beside the
index (so two at once both land, one after the other):

1. refuses, one sentence per input, what is already in the corpus (same link, or same text) or over the
   adder's hourly limit;
2. writes a journal beside the index saying what is about to change and which generation was serving;
3. changes the corpus: a new file is written under a hidden temporary name and renamed into place; a
   removed file is moved under the index folder (`removed/`), never deleted;
4. builds and publishes a new generation as `qabot index` does (waiting for a build already running);
5. settles the journal: a change the served generation reflects is recorded in the audit log; one it does
   not is undone. After a failed build that is every change; after a crash, the next add, remove,
   `qabot index` or bot start settles what the dead process left, the same way.

So a failed or interrupted add leaves the corpus, the serving generation and the audit log as they were.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import getpass
import json
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qabot import store
from qabot.audit import AUDIT_FILE, AuditLog, Event, now
from qabot.config import Settings
from qabot.corpus import Document, load_corpus
from qabot.fetch import FetchPolicy
from qabot.intake import Incoming, Refused, body_key, from_file, from_link, is_link, url_key

LOCK_FILE = ".library.lock"
JOURNAL_FILE = "library-journal.json"
REMOVED_DIR = "removed"
TMP_PREFIX = ".qabot-add-"
HOUR = dt.timedelta(hours=1)


class LibraryError(store.StoreError):
    """The corpus could not be changed (the index could not be rebuilt); nothing was."""


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: `id` is "discord:<user id>" or "cli:<login>"."""

    id: str
    name: str

    @classmethod
    def cli(cls) -> Actor:
        try:
            login = getpass.getuser()
        except (OSError, KeyError):  # no user name in the environment or the password database
            login = str(os.getuid())
        return cls(f"cli:{login}", login)


@dataclass(frozen=True)
class Skipped:
    input: str
    reason: str  # one clause, lowercase, no final period
    existing: str | None = None  # the id of the document it duplicates, when that is why

    @property
    def refused(self) -> bool:
        """Whether it was refused (an error), rather than found already in the corpus."""
        return self.existing is None


@dataclass(frozen=True)
class AddedDocument:
    id: str
    title: str
    date: str | None
    url: str | None
    path: str  # relative to the corpus folder
    input: str
    author: str | None = None
    source: str | None = None  # the site or publication, as the page names it

    @classmethod
    def of(cls, doc: Document, given: str) -> AddedDocument:
        meta = doc.meta
        return cls(
            doc.id, doc.title, doc.date, doc.url, doc.path, given, meta.get("author"), meta.get("source")
        )


@dataclass(frozen=True)
class AddReport:
    added: tuple[AddedDocument, ...]
    skipped: tuple[Skipped, ...]
    build: store.BuildReport | None  # None when nothing was added (no build ran)

    def json(self) -> dict[str, Any]:
        """`{"added": [{"id", "title", "date", "url", "path", "author", "source"}], "skipped": [{"input",
        "reason"}]}` (author and source extend the fields the issue asked for)."""
        keys = ("id", "title", "date", "url", "path", "author", "source")
        return {
            "added": [{k: getattr(d, k) for k in keys} for d in self.added],
            "skipped": [{"input": s.input, "reason": s.reason} for s in self.skipped],
        }


@dataclass(frozen=True)
class RemovedDocument:
    id: str
    title: str
    path: str  # where it was, relative to the corpus folder
    kept: Path  # where the file is now


@dataclass(frozen=True)
class RemoveReport:
    removed: tuple[RemovedDocument, ...]
    skipped: tuple[Skipped, ...]
    build: store.BuildReport | None

    def json(self) -> dict[str, Any]:
        return {
            "removed": [
                {"id": d.id, "title": d.title, "path": d.path, "kept": str(d.kept)} for d in self.removed
            ],
            "skipped": [{"input": s.input, "reason": s.reason} for s in self.skipped],
        }


@dataclass(frozen=True)
class Change:
    """One step of an add or remove, as the journal keeps it until it is served or undone."""

    event: Event  # what the audit log will say once it is served (its generation filled in then)
    text: str | None = None  # adds: the file to write
    kept: str | None = None  # removes: where the file goes, relative to the index folder


def audit_log(settings: Settings) -> AuditLog:
    return AuditLog(settings.index_dir / AUDIT_FILE)


def adds_left(settings: Settings, actor: Actor, limit: int) -> int | None:
    """How many more documents `actor` may add within the hour (None: no limit)."""
    if limit <= 0:
        return None
    since = dt.datetime.now(dt.timezone.utc) - HOUR
    return max(limit - audit_log(settings).adds_since(actor.id, since), 0)


def over_limit(limit: int) -> str:
    return f"that is more than {limit} documents in an hour (QABOT_ADDS_PER_HOUR); try again later"


# ---------------------------------------------------------------- add and remove


def prepare(
    settings: Settings, inputs: Sequence[str], policy: FetchPolicy
) -> tuple[list[Incoming], list[Skipped]]:
    """Each link fetched and each file read, in order; a link the corpus already has is not fetched."""
    known = Catalog.of(settings.corpus_dir)
    incoming: list[Incoming] = []
    skipped: list[Skipped] = []
    for given in inputs:
        existing = known.link(given) if is_link(given) else None
        if existing is not None:
            skipped.append(Skipped(given, f"already in the corpus as {existing}", existing))
            continue
        try:
            incoming.append(
                from_link(given, policy) if is_link(given) else from_file(Path(given), policy.max_bytes)
            )
        except Refused as exc:
            skipped.append(Skipped(given, str(exc)))
    return incoming, skipped


def add(
    settings: Settings,
    incoming: Sequence[Incoming],
    actor: Actor,
    skipped: Sequence[Skipped] = (),
    limit: int = 0,
) -> AddReport:
    """Put `incoming` into the corpus and the served index; `skipped` (refused earlier) is passed through.

    `limit` caps what `actor` may add per hour (0: no cap; the CLI's operator has none).
    """
    if not incoming:
        return AddReport((), tuple(skipped), None)  # nothing to do: not even the lock file is touched
    with _locked(settings.index_dir):
        settle(settings, locked=True)
        known = Catalog.of(settings.corpus_dir)
        left = adds_left(settings, actor, limit)
        refused = list(skipped)
        added: list[AddedDocument] = []
        changes: list[Change] = []
        for item in incoming:
            existing = known.duplicate(item)
            if existing is not None:
                refused.append(Skipped(item.input, f"already in the corpus as {existing}", existing))
            elif left is not None and len(changes) >= left:
                refused.append(Skipped(item.input, over_limit(limit)))
            else:
                name = known.claim(item)
                doc = dataclasses.replace(item.document, id=Path(name).with_suffix("").as_posix(), path=name)
                changes.append(Change(_event("add", doc, item.input, actor), text=item.text))
                added.append(AddedDocument.of(doc, item.input))
        if not changes:
            return AddReport((), tuple(refused), None)
        built = _apply(settings, changes)
    return AddReport(tuple(added), tuple(refused), built)


def remove(settings: Settings, wanted: Sequence[str], actor: Actor) -> RemoveReport:
    """Take the documents with ids `wanted` out of the corpus (their files kept under the index folder)
    and out of the served index."""
    with _locked(settings.index_dir):
        settle(settings, locked=True)
        documents = load_corpus(settings.corpus_dir).documents
        chosen, refused = _choose(documents, wanted)
        if chosen and len({d.path for d, _ in chosen}) == len({d.path for d in documents}):
            last = "it would leave the corpus empty, and an index needs at least one document"
            return RemoveReport((), (*refused, *(Skipped(w, last) for _, w in chosen)), None)
        if not chosen:
            return RemoveReport((), tuple(refused), None)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        changes = [_remove_change(doc, given, actor, stamp) for doc, given in chosen]
        built = _apply(settings, changes)
    removed = tuple(
        RemovedDocument(c.event.doc_id, c.event.title, c.event.path, settings.index_dir / str(c.kept))
        for c in changes
    )
    return RemoveReport(removed, tuple(refused), built)


def _choose(
    documents: Sequence[Document], wanted: Sequence[str]
) -> tuple[list[tuple[Document, str]], list[Skipped]]:
    """The documents `wanted` names (by id, else by path), each once; a reason for each one that cannot go."""
    per_file = Counter(d.path for d in documents)
    chosen: list[tuple[Document, str]] = []
    refused: list[Skipped] = []
    for given in wanted:
        doc = next((d for d in documents if d.id == given), None) or next(
            (d for d in documents if d.path == given), None
        )
        if doc is None:
            refused.append(Skipped(given, "no document in the corpus has this id"))
        elif per_file[doc.path] > 1:
            n = per_file[doc.path]
            refused.append(
                Skipped(given, f"it is one of the {n} records of {doc.path}; edit that file instead")
            )
        elif all(doc.path != d.path for d, _ in chosen):
            chosen.append((doc, given))
    return chosen, refused


def _remove_change(doc: Document, given: str, actor: Actor, stamp: str) -> Change:
    kept = f"{REMOVED_DIR}/{stamp}-{secrets.token_hex(3)}-{doc.path.replace('/', '__')}"
    return Change(_event("remove", doc, given, actor), kept=kept)


def _event(action: str, doc: Document, given: str, actor: Actor) -> Event:
    return Event(
        event=secrets.token_hex(8),
        action=action,
        doc_id=doc.id,
        title=doc.title,
        path=doc.path,
        date=doc.date,
        url=doc.url,
        input=given,
        user_id=actor.id,
        user_name=actor.name,
        generation="",
        at=now(),
    )


# ---------------------------------------------------------------- what is already there


@dataclass
class Catalog:
    """The corpus as far as duplicates and file names go; `claim` adds to it, so one call's own inputs
    are checked against each other too."""

    ids: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)  # lower-cased stems of the files at the corpus root
    by_url: dict[str, str] = field(default_factory=dict)
    by_body: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, corpus_dir: Path) -> Catalog:
        catalog = cls()
        if not corpus_dir.is_dir():
            return catalog
        catalog.stems = {p.stem.lower() for p in corpus_dir.iterdir()}
        for doc in load_corpus(corpus_dir).documents:
            catalog._remember(doc, doc.id)
        return catalog

    def _remember(self, doc: Document, doc_id: str) -> None:
        self.ids.add(doc_id)
        self.by_body.setdefault(body_key(doc.text[doc.body_start :]), doc_id)
        for url in (doc.url, doc.meta.get("fetched_from")):
            if url:
                self.by_url.setdefault(url_key(url), doc_id)

    def duplicate(self, item: Incoming) -> str | None:
        """The id of a document with one of `item`'s links or with its text, if there is one."""
        doc = item.document
        found = next((self.by_url[u] for u in item.urls if u in self.by_url), None)
        return found or self.by_body.get(body_key(doc.text[doc.body_start :]))

    def link(self, url: str) -> str | None:
        """The id of a document known by `url`, if there is one (checked before fetching it)."""
        return self.by_url.get(url_key(url))

    def claim(self, item: Incoming) -> str:
        """A file name for `item` that no file at the corpus root (whatever its suffix) or id has."""
        stem, suffix = Path(item.name).stem, Path(item.name).suffix
        name, n = stem, 1
        while name.lower() in self.stems or name in self.ids:
            n += 1
            name = f"{stem}-{n}"
        self.stems.add(name.lower())
        self._remember(item.document, name)
        return name + suffix


# ---------------------------------------------------------------- applying, settling, the journal


def _apply(settings: Settings, changes: list[Change]) -> store.BuildReport:
    """Journal, change the corpus, build, settle: served changes are logged, the others undone."""
    generation = _served(settings.index_dir)[0]
    _write_journal(settings.index_dir, generation, changes)
    try:
        for change in changes:
            _do(settings, change)
        built = store.build(settings, wait=True)
    except BaseException as exc:
        settle(settings, locked=True)  # nothing new is served: every change is undone
        if isinstance(exc, OSError):  # a full disk, a permission: one sentence, not a traceback
            raise LibraryError(f"the index could not be updated ({exc}); nothing was changed") from exc
        raise
    settle(settings, locked=True)
    return built


def _do(settings: Settings, change: Change) -> None:
    corpus = settings.corpus_dir
    target = corpus / change.event.path
    if change.text is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        tmp = corpus / f"{TMP_PREFIX}{secrets.token_hex(6)}.tmp"  # hidden: the loader skips dot files
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(change.text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)  # the name was free under the lock; a reader sees all of it or nothing
    else:
        kept = settings.index_dir / str(change.kept)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(target, kept)
    _fsync_dir(target.parent)


def settle(settings: Settings, locked: bool = False) -> list[Event]:
    """Finish or undo what an add or remove left in its journal; returns the events it logged.

    A change the served generation reflects (a new generation serves the added document, or no longer
    serves the removed one) is kept and logged; any other is undone. Without `locked`, it does nothing
    while an add or remove runs (the journal is that one's).
    """
    journal = settings.index_dir / JOURNAL_FILE
    if not locked:
        if not journal.exists():
            return []
        with _locked(settings.index_dir, wait=False) as got:
            return settle(settings, locked=True) if got else []
    if not journal.exists():
        _clean_tmp(settings.corpus_dir)
        return []
    before, changes = _read_journal(journal)
    generation, served = _served(settings.index_dir)
    kept = []
    for change in changes:
        if generation != before and _served_as_planned(change, served):
            kept.append(dataclasses.replace(change.event, generation=generation or ""))
        else:
            _undo(settings, change)
    audit_log(settings).record(kept)
    _clean_tmp(settings.corpus_dir)
    journal.unlink()
    _fsync_dir(settings.index_dir)
    return kept


def _served_as_planned(change: Change, served: dict[str, str]) -> bool:
    return (change.event.doc_id in served) == (change.event.action == "add")


def _undo(settings: Settings, change: Change) -> None:
    target = settings.corpus_dir / change.event.path
    if change.event.action == "add":
        target.unlink(missing_ok=True)
        return
    kept = settings.index_dir / str(change.kept)
    if kept.exists() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(kept, target)


def _served(index_dir: Path) -> tuple[str | None, dict[str, str]]:
    """The serving generation's name and its documents (id -> sha256), or (None, {}) without one."""
    try:
        manifest = store.read_manifest(store.current_generation(index_dir))
    except store.StoreError:
        return None, {}
    return str(manifest["generation"]), dict(manifest.get("documents", {}))


def _write_journal(index_dir: Path, generation: str | None, changes: Sequence[Change]) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "generation": generation,
        "changes": [
            {"event": dataclasses.asdict(c.event), "kept": c.kept, "adds": c.text is not None}
            for c in changes
        ],
    }
    tmp = index_dir / (JOURNAL_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / JOURNAL_FILE)
    _fsync_dir(index_dir)


def _read_journal(path: Path) -> tuple[str | None, list[Change]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    changes = [
        Change(Event(**c["event"]), text="" if c["adds"] else None, kept=c["kept"]) for c in data["changes"]
    ]
    return data["generation"], changes


def _clean_tmp(corpus_dir: Path) -> None:
    """Temporary files a killed add left (only ever called under the lock)."""
    if corpus_dir.is_dir():
        for leftover in corpus_dir.glob(f"{TMP_PREFIX}*.tmp"):
            leftover.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def _locked(index_dir: Path, wait: bool = True) -> Iterator[bool]:
    """One add or remove at a time per index (flock: the kernel releases it when its holder dies).
    Yields whether it got the lock (always, when it waits)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
