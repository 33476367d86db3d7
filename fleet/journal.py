"""The journal: every accepted submission and every transition, appended before it is acknowledged.

The service's state is a fold over the journal (event sourcing): on restart it replays the
entries and is where it was, with the same ids. SQLite in WAL mode with `synchronous=FULL` is the
embedded default: an append returns only after the entry is on disk, so a `kill -9` (or a power
cut) at any moment loses nothing that was acknowledged. `JournalStore` is the seam for another
store (PostgreSQL later): the service only uses these few methods.

Idempotency: a submission carries a key; the first one is journaled with a hash of its body, a
retry with the same key and body gets the same subject back, and the same key with a different
body is refused (`IdempotencyConflictError`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    t_s REAL NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_subject ON journal (subject);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    body_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class IdempotencyConflictError(ValueError):
    """The idempotency key was used before with a different body."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    t_s: float
    kind: str
    subject: str
    actor: str
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t_s": round(self.t_s, 3),
            "kind": self.kind,
            "subject": self.subject,
            "actor": self.actor,
            "data": dict(self.data),
        }


def body_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class JournalStore(Protocol):
    """What the service needs from a journal store."""

    def append(
        self, t_s: float, kind: str, subject: str, actor: str, data: Mapping[str, Any]
    ) -> Entry: ...

    def submit(
        self,
        t_s: float,
        kind: str,
        prefix: str,
        actor: str,
        data: Mapping[str, Any],
        key: str,
        request: Mapping[str, Any] | None = None,
    ) -> tuple[Entry | None, str]: ...

    def entries(self, after_seq: int = 0) -> Iterator[Entry]: ...

    def history(self, subject: str, limit: int = 500) -> list[Entry]: ...

    def last_t_s(self) -> float | None: ...

    def close(self) -> None: ...


class SqliteJournal:
    """The embedded journal (one SQLite file, WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def _insert(
        self, t_s: float, kind: str, subject: str, actor: str, data: Mapping[str, Any]
    ) -> Entry:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        cur = self._db.execute(
            "INSERT INTO journal (t_s, kind, subject, actor, data) VALUES (?, ?, ?, ?, ?)",
            (t_s, kind, subject, actor, text),
        )
        return Entry(int(cur.lastrowid or 0), t_s, kind, subject, actor, json.loads(text))

    def append(
        self, t_s: float, kind: str, subject: str, actor: str, data: Mapping[str, Any]
    ) -> Entry:
        """Append one entry; it is on disk when this returns."""
        with self._transaction():
            return self._insert(t_s, kind, subject, actor, data)

    def submit(
        self,
        t_s: float,
        kind: str,
        prefix: str,
        actor: str,
        data: Mapping[str, Any],
        key: str,
        request: Mapping[str, Any] | None = None,
    ) -> tuple[Entry | None, str]:
        """Journal a new submission under a fresh id `prefix-NNNNNN`, once per idempotency key.

        `request` is what the client sent, compared between retries (default: `data`).
        Returns (entry, subject) for a new submission and (None, subject) for a retry.
        """
        digest = body_hash(request if request is not None else data)
        with self._transaction():
            row = self._db.execute(
                "SELECT subject, body_hash FROM idempotency WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                if row[1] != digest:
                    raise IdempotencyConflictError(
                        f"idempotency key {key!r} was used for a different request ({row[0]})"
                    )
                return None, str(row[0])
            self._db.execute(
                "INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", (prefix,)
            )
            self._db.execute("UPDATE counters SET value = value + 1 WHERE name = ?", (prefix,))
            number = self._db.execute(
                "SELECT value FROM counters WHERE name = ?", (prefix,)
            ).fetchone()[0]
            subject = f"{prefix}-{number:06d}"
            self._db.execute(
                "INSERT INTO idempotency (key, subject, body_hash) VALUES (?, ?, ?)",
                (key, subject, digest),
            )
            return self._insert(t_s, kind, subject, actor, data), subject

    def entries(self, after_seq: int = 0) -> Iterator[Entry]:
        cur = self._db.execute(
            "SELECT seq, t_s, kind, subject, actor, data FROM journal WHERE seq > ? ORDER BY seq",
            (after_seq,),
        )
        for seq, t_s, kind, subject, actor, data in cur:
            yield Entry(seq, t_s, kind, subject, actor, json.loads(data))

    def history(self, subject: str, limit: int = 500) -> list[Entry]:
        cur = self._db.execute(
            "SELECT seq, t_s, kind, subject, actor, data FROM journal "
            "WHERE subject = ? ORDER BY seq DESC LIMIT ?",
            (subject, limit),
        )
        return [Entry(seq, t, k, s, a, json.loads(d)) for seq, t, k, s, a, d in cur][::-1]

    def last_t_s(self) -> float | None:
        """The service-clock time of the newest entry (a restarted clock must not run backwards)."""
        row = self._db.execute("SELECT MAX(t_s) FROM journal").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
