"""A disk spool for readings InfluxDB can't take right now. SQLite, next to the dead letters.

When writes keep failing, the writer thread commits each batch here and then acks its
MQTT messages: the broker's queue is freed, and a hub restart loses nothing. The spool
drains oldest first once InfluxDB answers again; writes are idempotent, so a batch that
is written twice (a crash between the write and the delete) does no harm.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    lines TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    id: int
    created_ns: int
    lines: list[str]


class Spool:
    """Used by the writer thread only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a spooled batch stands in for acked MQTT messages, so it must survive a power cut.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lines = int(self._db.execute("SELECT COALESCE(SUM(line_count), 0) FROM spool").fetchone()[0])

    @property
    def depth(self) -> int:
        """Lines waiting in the spool."""
        return self._lines

    def append(self, lines: list[str], created_ns: int) -> None:
        self._db.execute(
            "INSERT INTO spool (created_ns, line_count, lines) VALUES (?, ?, ?)",
            (created_ns, len(lines), "\n".join(lines)),
        )
        self._lines += len(lines)

    def oldest(self) -> SpooledBatch | None:
        row = self._db.execute("SELECT id, created_ns, lines FROM spool ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        return SpooledBatch(id=row[0], created_ns=row[1], lines=str(row[2]).split("\n"))

    def remove(self, batch: SpooledBatch) -> None:
        self._db.execute("DELETE FROM spool WHERE id = ?", (batch.id,))
        self._lines -= len(batch.lines)

    def close(self) -> None:
        self._db.close()
