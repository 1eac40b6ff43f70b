"""What ingest saw and could not map: per (lab, device model, key), its count, a sample value, when. SQLite.

The writer thread records every batch's unmapped keys (no layer of the key resolver knows them) and
guessed keys (read only by a fallback guess, for a device without a profile) beside its dead letters,
so that an operator can see what never becomes a reading, and what became one only by a guess:
``citylab labs unmapped`` and ``GET /api/v1/unmapped`` read it (hub/read/unmapped.py).

Keys come from payloads, so the store is bounded: keys and samples are cut to a length, and past
``max_rows`` rows in all (``max_rows_per_lab`` for one lab) a new key is not stored but counted
as ``dropped`` for its lab and device model, so the listing says that more keys were seen. Rows not seen for
``retention`` (``CITYLAB_UNMAPPED_RETENTION_DAYS``, 30 days by default) are deleted, at most once an hour, so
that keys of devices long gone leave the listing and make room for new ones. A process writes its own file,
``$CITYLAB_DATA_DIR/unmapped.sqlite3``; readers merge several.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson

from hub.store.sqlite import open_store

FILE_NAME = "unmapped.sqlite3"
MAX_KEY_CHARS = 200
MAX_SAMPLE_CHARS = 120
MAX_DEVICE_CHARS = 200
MAX_TOPIC_CHARS = 500
MAX_ROWS = 20_000
MAX_ROWS_PER_LAB = 2_000
NS_PER_DAY = 86_400 * 10**9
DEFAULT_RETENTION_DAYS = 30.0
# The writer deletes expired rows at most this often (a DELETE over the table; rows only age by days).
PRUNE_EVERY_NS = 3_600 * 10**9

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unmapped_keys (
    lab TEXT NOT NULL,
    device_model TEXT NOT NULL,
    key TEXT NOT NULL,
    guess TEXT NOT NULL,
    count INTEGER NOT NULL,
    sample TEXT NOT NULL,
    sample_kind TEXT NOT NULL,
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    device TEXT NOT NULL,
    topic TEXT NOT NULL,
    PRIMARY KEY (lab, device_model, key, guess)
);
CREATE TABLE IF NOT EXISTS unmapped_dropped (
    lab TEXT NOT NULL,
    device_model TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    PRIMARY KEY (lab, device_model)
);
"""

_UPSERT = """
INSERT INTO unmapped_keys (lab, device_model, key, guess, count, sample, sample_kind, first_ns, last_ns, device, topic)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (lab, device_model, key, guess) DO UPDATE SET
    count = count + excluded.count,
    first_ns = min(first_ns, excluded.first_ns),
    sample = CASE WHEN excluded.last_ns >= last_ns THEN excluded.sample ELSE sample END,
    sample_kind = CASE WHEN excluded.last_ns >= last_ns THEN excluded.sample_kind ELSE sample_kind END,
    device = CASE WHEN excluded.last_ns >= last_ns THEN excluded.device ELSE device END,
    topic = CASE WHEN excluded.last_ns >= last_ns THEN excluded.topic ELSE topic END,
    last_ns = max(last_ns, excluded.last_ns)
"""

_DROP = """
INSERT INTO unmapped_dropped (lab, device_model, count, last_ns) VALUES (?, ?, ?, ?)
ON CONFLICT (lab, device_model) DO UPDATE SET count = count + excluded.count, last_ns = max(last_ns, excluded.last_ns)
"""


class Sighting(NamedTuple):
    """One key seen in one message: what the writer thread hands the store (a NamedTuple: one or more per
    message for devices that send keys the hub does not map)."""

    lab: str
    device_model: str | None
    key: str
    value: object
    time_ns: int
    device: str | None = None
    topic: str = ""
    guess: str | None = None  # the quantity a fallback guess gave it; None: unmapped


@dataclass(frozen=True, slots=True)
class UnmappedRow:
    lab: str
    device_model: str  # "" when the network named no model
    key: str
    guess: str  # "" for an unmapped key
    count: int
    sample: str  # the latest value, as JSON text
    sample_kind: str  # number | numeric text | text | boolean | null | other
    first_ns: int
    last_ns: int
    device: str
    topic: str


@dataclass(frozen=True, slots=True)
class DroppedRow:
    lab: str
    device_model: str
    count: int
    last_ns: int


def sample_of(value: object) -> tuple[str, str]:
    """The value as JSON text (cut to ``MAX_SAMPLE_CHARS``) and its kind."""
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, int | float):
        kind = "number"
    elif isinstance(value, str):
        try:
            float(value.strip())
        except ValueError:
            kind = "text"
        else:
            kind = "numeric text"
    else:
        kind = "other"
    try:
        text = orjson.dumps(value).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    if len(text) > MAX_SAMPLE_CHARS:
        text = text[: MAX_SAMPLE_CHARS - 1] + "…"
    return text, kind


class _Tally:
    """One row's sightings within a batch: how many, when, and the latest value."""

    def __init__(self, sighting: Sighting) -> None:
        self.count = 1
        self.first_ns = self.last_ns = sighting.time_ns
        self.value, self.device, self.topic = sighting.value, sighting.device, sighting.topic

    def add(self, sighting: Sighting) -> None:
        self.count += 1
        self.first_ns = min(self.first_ns, sighting.time_ns)
        if sighting.time_ns >= self.last_ns:
            self.last_ns = sighting.time_ns
            self.value, self.device, self.topic = sighting.value, sighting.device, sighting.topic

    def merge(self, other: _Tally) -> _Tally:
        self.count += other.count
        self.first_ns = min(self.first_ns, other.first_ns)
        self.last_ns = max(self.last_ns, other.last_ns)
        return self


class UnmappedStore:
    """One connection, used by one thread at a time (the ingest writer, or a reader)."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = MAX_ROWS,
        max_rows_per_lab: int = MAX_ROWS_PER_LAB,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        readonly: bool = False,
    ) -> None:
        self.path = path
        self.max_rows = max_rows
        self.max_rows_per_lab = max_rows_per_lab
        self.retention_ns = int(retention_days * NS_PER_DAY)
        self._pruned_at_ns: int | None = None
        if readonly:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            # NORMAL: the store only informs the operator; a commit lost on a power cut loses no reading.
            self._db = open_store(path, _SCHEMA, synchronous="NORMAL")
        self._known: set[tuple[str, str, str, str]] | None = None
        self._per_lab: dict[str, int] = {}

    def record(self, sightings: Iterable[Sighting]) -> int:
        """Add a batch of sightings in one transaction; returns how many rows it touched."""
        tallies: dict[tuple[str, str, str, str], _Tally] = {}
        for sighting in sightings:
            row_key = (
                sighting.lab,
                (sighting.device_model or "")[:MAX_KEY_CHARS],
                sighting.key[:MAX_KEY_CHARS],
                sighting.guess or "",
            )
            tally = tallies.get(row_key)
            if tally is None:
                tallies[row_key] = _Tally(sighting)
            else:
                tally.add(sighting)
        if not tallies:
            return 0
        now_ns = time.time_ns()
        if self._pruned_at_ns is None or now_ns - self._pruned_at_ns >= PRUNE_EVERY_NS:
            self.prune(now_ns)
        known = self._known_rows()
        upserts = []
        dropped: dict[tuple[str, str], _Tally] = {}
        for row_key, tally in tallies.items():
            lab = row_key[0]
            if row_key not in known:
                if len(known) >= self.max_rows or self._per_lab.get(lab, 0) >= self.max_rows_per_lab:
                    earlier = dropped.get((lab, row_key[1]))
                    dropped[(lab, row_key[1])] = tally if earlier is None else earlier.merge(tally)
                    continue
                known.add(row_key)
                self._per_lab[lab] = self._per_lab.get(lab, 0) + 1
            sample, kind = sample_of(tally.value)
            device = str(tally.device or "")[:MAX_DEVICE_CHARS]
            upserts.append(
                (
                    *row_key,
                    tally.count,
                    sample,
                    kind,
                    tally.first_ns,
                    tally.last_ns,
                    device,
                    tally.topic[:MAX_TOPIC_CHARS],
                )
            )
        with self._transaction():
            if upserts:
                self._db.executemany(_UPSERT, upserts)
            if dropped:
                rows = [(lab, model, tally.count, tally.last_ns) for (lab, model), tally in dropped.items()]
                self._db.executemany(_DROP, rows)
        return len(upserts)

    def prune(self, now_ns: int) -> int:
        """Delete the rows (and dropped counts) last seen more than ``retention`` before ``now_ns``; returns how
        many keys went. A key that comes back is counted again from then on."""
        cutoff = now_ns - self.retention_ns
        with self._transaction():
            gone = self._db.execute("DELETE FROM unmapped_keys WHERE last_ns < ?", (cutoff,)).rowcount
            self._db.execute("DELETE FROM unmapped_dropped WHERE last_ns < ?", (cutoff,))
        self._pruned_at_ns = now_ns
        if gone:
            self._known = None  # counted again from the table, with the room the deleted rows made
            self._per_lab = {}
        return gone

    def rows(self, lab: str | None = None) -> list[UnmappedRow]:
        sql = (
            "SELECT lab, device_model, key, guess, count, sample, sample_kind, first_ns, last_ns, device, topic"
            " FROM unmapped_keys"
        )
        params: tuple[str, ...] = ()
        if lab is not None:
            sql += " WHERE lab = ?"
            params = (lab,)
        return [UnmappedRow(*row) for row in self._db.execute(sql + " ORDER BY lab, device_model, key", params)]

    def dropped(self, lab: str | None = None) -> list[DroppedRow]:
        sql = "SELECT lab, device_model, count, last_ns FROM unmapped_dropped"
        params: tuple[str, ...] = ()
        if lab is not None:
            sql += " WHERE lab = ?"
            params = (lab,)
        return [DroppedRow(*row) for row in self._db.execute(sql, params)]

    def close(self) -> None:
        self._db.close()

    def _known_rows(self) -> set[tuple[str, str, str, str]]:
        if self._known is None:
            self._known = {
                (lab, model, key, guess)
                for lab, model, key, guess in self._db.execute(
                    "SELECT lab, device_model, key, guess FROM unmapped_keys"
                )
            }
            for lab, *_ in self._known:
                self._per_lab[lab] = self._per_lab.get(lab, 0) + 1
        return self._known

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
