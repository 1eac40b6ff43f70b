"""A disk spool for readings InfluxDB can't take right now. SQLite, next to the dead letters.

When writes keep failing, the writer thread commits each batch here and then acks its MQTT
messages: the broker's queue is freed, and a hub restart loses nothing. The spool drains oldest
first once InfluxDB answers again; writes are idempotent, so a batch that is written twice (a
crash between the write and the delete) does no harm.

A batch keeps, beside its lines, the MQTT messages they came from (``MessageRef``: topic, payload,
receive time, lab, codec, and which lines are theirs). So when InfluxDB refuses some of a spooled
batch's lines (a field type conflict, say), each refused reading becomes a dead letter holding its
original message, replayable like any other; a batch leaves the spool only once every line is
stored or dead-lettered.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.store.sqlite import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    lines TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    batch_id INTEGER NOT NULL,
    first_line INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    received_ns INTEGER NOT NULL,
    topic TEXT NOT NULL,
    lab TEXT,
    codec TEXT,
    payload BLOB NOT NULL,
    PRIMARY KEY (batch_id, first_line)
) WITHOUT ROWID;
"""
# The first format (lines only) is moved into ``batches`` on open, oldest first, with no messages.
_LEGACY_TABLE = "spool"


@dataclass(frozen=True, slots=True)
class MessageRef:
    """The MQTT message behind ``line_count`` lines of a batch, from line ``first_line`` on."""

    first_line: int
    line_count: int
    received_ns: int
    topic: str
    payload: bytes
    lab: str | None
    codec: str | None


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    id: int
    created_ns: int
    lines: list[str]
    messages: list[MessageRef]

    def message_of(self, line: int) -> MessageRef | None:
        return message_of(self.messages, line)


def message_of(messages: Sequence[MessageRef], line: int) -> MessageRef | None:
    """The message line ``line`` came from (``messages`` ordered by ``first_line``); None for the hub's own lines."""
    position = bisect.bisect_right([message.first_line for message in messages], line) - 1
    if position < 0:
        return None
    found = messages[position]
    return found if line < found.first_line + found.line_count else None


class Spool:
    """Used by the writer thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # FULL: a spooled batch stands in for acked MQTT messages, so it must survive a power cut.
        self._db = open_store(path, _SCHEMA, synchronous="FULL")
        self._migrate_legacy()
        self._lines = int(self._db.execute("SELECT COALESCE(SUM(line_count), 0) FROM batches").fetchone()[0])

    def _migrate_legacy(self) -> None:
        exists = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_LEGACY_TABLE,)
        ).fetchone()
        if exists is None:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO batches (created_ns, line_count, lines)"
                f" SELECT created_ns, line_count, lines FROM {_LEGACY_TABLE} ORDER BY id"
            )
            self._db.execute(f"DROP TABLE {_LEGACY_TABLE}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def depth(self) -> int:
        """Lines waiting in the spool."""
        return self._lines

    def append(self, lines: list[str], messages: Sequence[MessageRef], created_ns: int) -> None:
        """Commit one batch (its lines and the messages behind them) durably, all or nothing."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute(
                "INSERT INTO batches (created_ns, line_count, lines) VALUES (?, ?, ?)",
                (created_ns, len(lines), "\n".join(lines)),
            )
            batch_id = cursor.lastrowid
            self._db.executemany(
                "INSERT INTO messages (batch_id, first_line, line_count, received_ns, topic, lab, codec, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (batch_id, m.first_line, m.line_count, m.received_ns, m.topic, m.lab, m.codec, m.payload)
                    for m in messages
                ],
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._lines += len(lines)

    def oldest(self) -> SpooledBatch | None:
        row = self._db.execute("SELECT id, created_ns, lines FROM batches ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        messages = [
            MessageRef(first, count, received_ns, topic, bytes(payload), lab, codec)
            for first, count, received_ns, topic, lab, codec, payload in self._db.execute(
                "SELECT first_line, line_count, received_ns, topic, lab, codec, payload FROM messages"
                " WHERE batch_id = ? ORDER BY first_line",
                (row[0],),
            )
        ]
        return SpooledBatch(id=row[0], created_ns=row[1], lines=str(row[2]).split("\n"), messages=messages)

    def remove(self, batch: SpooledBatch) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM messages WHERE batch_id = ?", (batch.id,))
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch.id,))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._lines -= len(batch.lines)

    def close(self) -> None:
        self._db.close()
