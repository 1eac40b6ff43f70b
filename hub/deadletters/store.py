"""Dead letters: every message or reading the hub could not use, with its reason. SQLite.

Nothing is dropped without a trace: a message is acked only after its dead letter is
committed here, durably (``synchronous=FULL``: the commit is on disk before the ack leaves).
A letter holds the original MQTT message whole (topic, payload bytes, receive time, lab), so
every letter can be replayed once the cause is fixed; the payload is never cut (payloads are
bounded by the broker's message size limit and CITYLAB_MAX_PAYLOAD_BYTES before they get here).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.store.sqlite import open_store

# Reasons are text for people; the payload is data and is stored whole.
MAX_REASON_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ns INTEGER NOT NULL,
    topic TEXT NOT NULL,
    lab TEXT,
    codec TEXT,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_lab_reason ON dead_letters (lab, reason_code);
CREATE INDEX IF NOT EXISTS dead_letters_time ON dead_letters (received_ns);
"""
_INSERT = (
    "INSERT INTO dead_letters (received_ns, topic, lab, codec, reason_code, reason, payload, payload_size)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
FILE_NAME = "deadletters.sqlite3"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_ns: int
    topic: str
    lab: str | None
    codec: str | None
    reason_code: str
    reason: str
    payload: bytes
    payload_size: int = -1
    id: int | None = None


def rejected_reading_reason(line: str, status: int | None, reason: str) -> str:
    """A ``store_rejected`` letter's reason: the reading as line protocol, and InfluxDB's words about it.

    The same reading refused for the same cause gives the same text, so a replay that meets the same
    refusal keeps the letter rather than swapping it for a new one."""
    answered = f" ({status})" if status is not None else ""
    return f"InfluxDB refused{answered} {line}: {reason}"


class DeadLetterStore:
    """One connection, used by one thread at a time (the ingest writer, or an API request)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # FULL: a letter stands in for an acked MQTT message; NORMAL could lose the last commits on a power cut.
        self._db = open_store(path, _SCHEMA, synchronous="FULL")

    def add_many(self, letters: Iterable[DeadLetter]) -> int:
        rows = [self._row(letter) for letter in letters]
        if rows:
            with self._transaction():
                self._db.executemany(_INSERT, rows)
        return len(rows)

    @staticmethod
    def _row(letter: DeadLetter) -> tuple[object, ...]:
        return (
            letter.received_ns,
            letter.topic,
            letter.lab,
            letter.codec,
            letter.reason_code,
            letter.reason[:MAX_REASON_CHARS],
            letter.payload,
            letter.payload_size if letter.payload_size >= 0 else len(letter.payload),
        )

    def select(
        self,
        *,
        lab: str | None = None,
        reason_code: str | None = None,
        since_ns: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeadLetter]:
        where, args = self._filters(lab, reason_code, since_ns)
        rows = self._db.execute(
            "SELECT id, received_ns, topic, lab, codec, reason_code, reason, payload, payload_size"
            f" FROM dead_letters{where} ORDER BY id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [
            DeadLetter(
                id=r[0],
                received_ns=r[1],
                topic=r[2],
                lab=r[3],
                codec=r[4],
                reason_code=r[5],
                reason=r[6],
                payload=bytes(r[7]),
                payload_size=r[8],
            )
            for r in rows
        ]

    def count(self, *, lab: str | None = None, reason_code: str | None = None, since_ns: int | None = None) -> int:
        where, args = self._filters(lab, reason_code, since_ns)
        return int(self._db.execute(f"SELECT COUNT(*) FROM dead_letters{where}", args).fetchone()[0])

    def counts(self) -> dict[tuple[str | None, str], int]:
        rows = self._db.execute(
            "SELECT lab, reason_code, COUNT(*) FROM dead_letters GROUP BY lab, reason_code"
        ).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def delete(self, ids: Iterable[int]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM dead_letters WHERE id = ?", [(i,) for i in ids])

    def settle(self, resolved: Iterable[int], added: Iterable[tuple[int | None, DeadLetter]]) -> None:
        """What a replay decided, in one transaction: remove the ``resolved`` letters and store the ``added``
        ones (each beside the id of a letter of the same message, which only a set of stores needs)."""
        rows = [self._row(letter) for _, letter in added]
        with self._transaction():
            if rows:
                self._db.executemany(_INSERT, rows)
            self._db.executemany("DELETE FROM dead_letters WHERE id = ?", [(i,) for i in resolved])

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _filters(lab: str | None, reason_code: str | None, since_ns: int | None) -> tuple[str, list[object]]:
        clauses: list[str] = []
        args: list[object] = []
        if lab is not None:
            clauses.append("lab = ?")
            args.append(lab)
        if reason_code is not None:
            clauses.append("reason_code = ?")
            args.append(reason_code)
        if since_ns is not None:
            clauses.append("received_ns >= ?")
            args.append(since_ns)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
