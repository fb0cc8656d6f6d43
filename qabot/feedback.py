"""Votes on answers (👍/👎), kept locally in SQLite for evaluating and calibrating the index.

A row holds the question, the Answer JSON as it was shown (with the asker's filters, if any, under
"filters"), the vote, the index generation and the
sha256 of the voter's id: one vote per person and answer, a second click replaces the first. The hash
keeps Discord ids out of the file; it is pseudonymous, not anonymous (anyone who knows an id can hash it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from qabot.answer import Answer, Filters
from qabot.render import answer_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback(
    id INTEGER PRIMARY KEY,
    answer_key TEXT NOT NULL,
    question TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    user_sha256 TEXT NOT NULL,
    generation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (answer_key, user_sha256)
);
"""


@dataclass(frozen=True)
class Vote:
    answer_key: str
    question: str
    answer_json: str
    vote: int
    user_sha256: str
    generation: str
    created_at: str


def user_hash(user_id: int) -> str:
    return hashlib.sha256(str(user_id).encode()).hexdigest()


class FeedbackStore:
    """The feedback database at `path`; every call opens its own connection, so any thread may call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=5)) as db, db:
            yield db

    def record(
        self,
        answer_key: str,
        answer: Answer,
        vote: int,
        user_id: int,
        generation: str,
        filters: Filters | None = None,
    ) -> None:
        """Store (or replace) `user_id`'s vote, +1 or -1, on the answer shown under `answer_key`.

        `filters` (the dates and sources the asker limited the answer to) are kept with the answer: a
        vote on a filtered answer judges it within those limits.
        """
        if vote not in (-1, 1):
            raise ValueError("a vote is +1 or -1")
        shown = answer_json(answer)
        if filters is not None and filters.active:
            shown["filters"] = {
                "since": filters.since,
                "until": filters.until,
                "sources": list(filters.sources),
            }
        row = (
            answer_key,
            answer.question,
            json.dumps(shown, ensure_ascii=False),
            vote,
            user_hash(user_id),
            generation,
            dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        with self._connect() as db:
            db.execute(
                "INSERT INTO feedback(answer_key, question, answer_json, vote, user_sha256, generation,"
                " created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(answer_key, user_sha256)"
                " DO UPDATE SET vote=excluded.vote, created_at=excluded.created_at",
                row,
            )

    def votes(self) -> list[Vote]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT answer_key, question, answer_json, vote, user_sha256, generation, created_at"
                " FROM feedback ORDER BY id"
            ).fetchall()
        return [Vote(*r) for r in rows]
