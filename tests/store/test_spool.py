"""The disk spool: batches and the messages behind their lines, in order, durable, across reopen and upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.store.spool import MessageRef, Spool, message_of

A = MessageRef(0, 2, 100, "lab/a", b'{"a": [1, 2]}', "lab", "json")
B = MessageRef(3, 1, 200, "lab/b", b"\x00binary\xff", None, None)


def test_spool_keeps_batches_and_their_messages_in_order_across_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append(["a value=1.0 1", "a value=2.0 2", "hub_stats x=1.0 1", "b value=3.0 3"], [A, B], created_ns=10)
    spool.append(["c value=4.0 4"], [], created_ns=20)
    assert spool.depth == 5
    spool.close()

    reopened = Spool(tmp_path / "spool.sqlite3")
    assert reopened.depth == 5
    first = reopened.oldest()
    assert first is not None
    assert (first.created_ns, first.lines[:2], first.messages) == (10, ["a value=1.0 1", "a value=2.0 2"], [A, B])
    assert [first.message_of(i) for i in range(4)] == [A, A, None, B]  # line 2 is the hub's own
    reopened.remove(first)
    assert reopened.depth == 1
    second = reopened.oldest()
    assert second is not None and (second.lines, second.messages) == (["c value=4.0 4"], [])
    reopened.remove(second)
    assert reopened.depth == 0
    assert reopened.oldest() is None
    reopened.close()


def test_message_of_finds_the_message_behind_a_line() -> None:
    refs = [MessageRef(0, 1, 1, "t", b"", None, None), MessageRef(1, 3, 2, "u", b"", None, None)]
    assert [message_of(refs, line) for line in range(5)] == [refs[0], refs[1], refs[1], refs[1], None]
    assert message_of([], 0) is None


def test_a_spool_of_the_first_format_is_moved_over_and_drains_first(tmp_path: Path) -> None:
    """An upgrade keeps what an older hub spooled: its lines (with no messages), oldest first."""
    path = tmp_path / "spool.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, created_ns INTEGER NOT NULL,"
            " line_count INTEGER NOT NULL, lines TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO spool (created_ns, line_count, lines) VALUES (5, 2, 'old value=1.0 1\nold value=2.0 2')"
        )
    spool = Spool(path)
    assert spool.depth == 2
    spool.append(["new value=3.0 3"], [], created_ns=30)
    oldest = spool.oldest()
    assert oldest is not None and (oldest.lines, oldest.messages) == (["old value=1.0 1", "old value=2.0 2"], [])
    spool.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "spool" not in tables


def test_a_batch_is_committed_whole_or_not_at_all(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    clash = [A, A]  # the same first line twice: the second insert fails
    with pytest.raises(sqlite3.IntegrityError):
        spool.append(["a value=1.0 1", "a value=2.0 2"], clash, created_ns=1)
    assert (spool.depth, spool.oldest()) == (0, None)
    spool.close()
