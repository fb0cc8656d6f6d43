"""Who added or removed which document, and when: an append-only SQLite log beside the feedback store.

A row is written only once the change is served (its index generation is published), so a refused or
failed add leaves the log as it was. Each event carries a random id: recording it again (when an
interrupted add is finished later from its journal) keeps one row. Unlike votes (qabot.feedback), user ids
are kept as they are: the log exists to say who changed the corpus, and only admins can change it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

AUDIT_FILE = "audit.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    event TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    path TEXT NOT NULL,
    date TEXT,
    url TEXT,
    input TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    generation TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events(user_id, action, at);
"""


@dataclass(frozen=True)
class Event:
    """One add or remove of one document, as served from `generation` on."""

    event: str  # random id
    action: str  # "add" or "remove"
    doc_id: str
    title: str
    path: str  # relative to the corpus folder
    date: str | None
    url: str | None
    input: str  # the link, file or upload name given (for a remove, the id given)
    user_id: str  # "discord:<id>" or "cli:<login>"
    user_name: str
    generation: str
    at: str  # UTC, ISO 8601 to the second


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


COLUMNS = tuple(f.name for f in fields(Event))


class AuditLog:
    """The log at `path`. Reading a log that does not exist yet finds nothing and creates nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            db.executescript(SCHEMA)
            yield db

    def record(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._connect() as db:
            db.executemany(
                f"INSERT OR IGNORE INTO events({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                [astuple(e) for e in events],
            )

    def events(self) -> list[Event]:
        """Every event, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(f"SELECT {','.join(COLUMNS)} FROM events ORDER BY id").fetchall()
        return [Event(*r) for r in rows]

    def adds_since(self, user_id: str, since: dt.datetime) -> int:
        """How many documents `user_id` added from `since` (an aware datetime) on."""
        if not self.path.exists():
            return 0
        with self._connect() as db:
            (count,) = db.execute(
                "SELECT count(*) FROM events WHERE user_id = ? AND action = 'add' AND at >= ?",
                (user_id, since.astimezone(dt.timezone.utc).isoformat(timespec="seconds")),
            ).fetchone()
        return int(count)

    def latest_adds(self) -> dict[str, Event]:
        """For each document id, its most recent add (a later remove and re-add replaces it)."""
        out: dict[str, Event] = {}
        for event in self.events():
            if event.action == "add":
                out[event.doc_id] = event
            else:
                out.pop(event.doc_id, None)
        return out
