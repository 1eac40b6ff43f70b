from __future__ import annotations

from pathlib import Path

from hub.store.spool import Spool


def test_spool_keeps_batches_in_order_across_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append(["a value=1.0 1", "a value=2.0 2"], created_ns=10)
    spool.append(["b value=3.0 3"], created_ns=20)
    assert spool.depth == 3
    spool.close()

    reopened = Spool(tmp_path / "spool.sqlite3")
    assert reopened.depth == 3
    first = reopened.oldest()
    assert first is not None
    assert (first.created_ns, first.lines) == (10, ["a value=1.0 1", "a value=2.0 2"])
    reopened.remove(first)
    assert reopened.depth == 1
    second = reopened.oldest()
    assert second is not None and second.lines == ["b value=3.0 3"]
    reopened.remove(second)
    assert reopened.depth == 0
    assert reopened.oldest() is None
