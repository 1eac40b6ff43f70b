"""The dead-letter store: SQLite, committed all at once, filtered and counted for the API and /metrics."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.model import RejectCode
from hub.deadletters.store import MAX_REASON_CHARS, DeadLetter, DeadLetterStore


def letter(n: int, *, lab: str | None = "oslo-urban-lab", code: str = RejectCode.OUT_OF_RANGE, **changes) -> DeadLetter:
    fields = {
        "received_ns": 1_000 + n,
        "topic": f"oslo-urban-lab/senml/{n}",
        "lab": lab,
        "codec": "senml",
        "reason_code": code,
        "reason": f"reason {n}",
        "payload": f'[{{"n": "t", "v": {n}}}]'.encode(),
        **changes,
    }
    return DeadLetter(**fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path):
    opened = DeadLetterStore(tmp_path / "nested" / "deadletters.sqlite3")
    yield opened
    opened.close()


def test_letters_come_back_oldest_first_with_ids_and_sizes(store: DeadLetterStore, tmp_path: Path) -> None:
    assert store.add_many([letter(1), letter(2, lab=None, code=RejectCode.NO_SOURCE)]) == 2
    first, second = store.select()
    assert (first.id, second.id) == (1, 2)
    assert first == letter(1, id=1, payload_size=len(letter(1).payload))
    assert (second.lab, second.reason_code) == (None, "no_source")

    store.close()
    reopened = DeadLetterStore(tmp_path / "nested" / "deadletters.sqlite3")
    assert [found.id for found in reopened.select()] == [1, 2]  # committed, on disk
    reopened.close()


def test_payloads_are_stored_whole_and_only_reasons_are_cut(store: DeadLetterStore) -> None:
    """A letter must be replayable: its payload is data, never cut (the old store kept only 64 KiB)."""
    big = bytes(range(256)) * 4096 + b"end"  # 1 MiB and a bit, every byte value
    store.add_many([letter(1, payload=big, reason="r" * 5000)])
    (found,) = store.select()
    assert found.payload == big
    assert found.payload_size == len(big)
    assert len(found.reason) == MAX_REASON_CHARS


def test_letters_are_committed_with_synchronous_full(store: DeadLetterStore) -> None:
    """A letter stands in for an acked message: its commit must be on disk, not only in the OS cache."""
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_filters_pages_counts_and_deletes(store: DeadLetterStore) -> None:
    store.add_many(
        [
            letter(1),
            letter(2, code=RejectCode.DECODE_ERROR),
            letter(3, lab="bergen-city-lab"),
            letter(4, lab=None, code=RejectCode.NO_SOURCE),
        ]
    )
    assert [found.id for found in store.select(lab="oslo-urban-lab")] == [1, 2]
    assert [found.id for found in store.select(reason_code="out_of_range")] == [1, 3]
    assert [found.id for found in store.select(lab="oslo-urban-lab", reason_code="decode_error")] == [2]
    assert [found.id for found in store.select(since_ns=1_003)] == [3, 4]
    assert [found.id for found in store.select(limit=2, offset=1)] == [2, 3]
    assert store.counts() == {
        ("oslo-urban-lab", "out_of_range"): 1,
        ("oslo-urban-lab", "decode_error"): 1,
        ("bergen-city-lab", "out_of_range"): 1,
        (None, "no_source"): 1,
    }
    store.delete([1, 4])
    assert [found.id for found in store.select()] == [2, 3]


def test_a_batch_of_letters_is_committed_whole_or_not_at_all(store: DeadLetterStore) -> None:
    """The writer acks a message only after its letters are committed; a half-stored batch would lose some."""
    broken = letter(2, reason_code=None)  # NOT NULL: the insert fails on the second row
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        store.add_many([letter(1), broken])
    assert store.select() == []
    assert store.add_many([]) == 0
