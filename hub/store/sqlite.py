"""Opening the hub's own SQLite files: the spool, the dead letters and the unmapped-key store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal


def open_store(path: Path, schema: str, *, synchronous: Literal["FULL", "NORMAL"]) -> sqlite3.Connection:
    """A connection for one writer at a time (any thread), in autocommit mode (callers BEGIN their own
    transactions), with write-ahead logging, the given ``synchronous`` level and ``schema`` applied.

    FULL where a row stands in for an acked MQTT message (the spool, dead letters): NORMAL could lose the
    last commits on a power cut. NORMAL where a lost commit only loses information for the operator."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.executescript(schema)
    return db
