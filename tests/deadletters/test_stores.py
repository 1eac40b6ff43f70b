"""Every dead-letter store under a data directory (the directory's own, each worker's) read as one."""

from __future__ import annotations

from pathlib import Path

from hub.deadletters.store import DeadLetterStore
from hub.deadletters.stores import ID_STRIDE, DeadLetterStores, find_dead_letter_stores
from tests.deadletters.test_store import letter


def fill(path: Path, numbers: range, **changes: object) -> None:
    store = DeadLetterStore(path / "deadletters.sqlite3")
    store.add_many(letter(n, **changes) for n in numbers)  # type: ignore[arg-type]
    store.close()


def test_ids_are_unique_across_stores_and_pages_run_store_by_store(tmp_path: Path) -> None:
    fill(tmp_path, range(0, 2))  # a single `citylab serve` ran here once
    fill(tmp_path / "worker-2", range(20, 23))
    fill(tmp_path / "worker-1", range(10, 13), code="bad_time")
    (tmp_path / "worker-3").mkdir()  # a worker that stored nothing yet
    (tmp_path / "elsewhere").mkdir()
    fill(tmp_path / "elsewhere", range(90, 91))  # not a worker's directory: not ours
    assert [number for number, _ in find_dead_letter_stores(tmp_path)] == [0, 1, 2]

    stores = DeadLetterStores(tmp_path)
    try:
        every = stores.select(limit=100)
        assert [found.id for found in every] == [
            1,
            2,
            *(ID_STRIDE + n for n in (1, 2, 3)),
            *(2 * ID_STRIDE + n for n in (1, 2, 3)),
        ]
        assert [found.received_ns for found in every] == [1000, 1001, 1010, 1011, 1012, 1020, 1021, 1022]
        # Any page is the same slice of that order, across store boundaries.
        for offset in range(9):
            for limit in (1, 2, 3, 5):
                assert stores.select(limit=limit, offset=offset) == every[offset : offset + limit]
        assert [found.id for found in stores.select(reason_code="bad_time", offset=1, limit=5)] == [
            ID_STRIDE + 2,
            ID_STRIDE + 3,
        ]
        assert stores.count() == 8
        assert stores.counts() == {("oslo-urban-lab", "out_of_range"): 5, ("oslo-urban-lab", "bad_time"): 3}

        # Replay's outcome goes to the store each letter came from.
        resolved = [2, ID_STRIDE + 1, 2 * ID_STRIDE + 3]
        stores.settle(resolved, [(ID_STRIDE + 2, letter(50)), (None, letter(51))])
        fill(tmp_path / "worker-3", range(30, 31))  # appears while the API runs
        stores.refresh()
        assert [(found.id, found.received_ns) for found in stores.select(limit=100)] == [
            (1, 1000),
            (3, 1051),  # found without a stored sibling: the directory's own store
            (ID_STRIDE + 2, 1011),
            (ID_STRIDE + 3, 1012),
            (ID_STRIDE + 4, 1050),  # beside its message's letter, in worker-1's store
            (2 * ID_STRIDE + 1, 1020),
            (2 * ID_STRIDE + 2, 1021),
            (3 * ID_STRIDE + 1, 1030),
        ]
    finally:
        stores.close()


def test_an_empty_data_directory_has_no_letters_and_creates_no_file(tmp_path: Path) -> None:
    stores = DeadLetterStores(tmp_path / "nothing-yet")
    try:
        assert stores.select(limit=10, offset=5) == []
        assert stores.counts() == {}
    finally:
        stores.close()
    assert not (tmp_path / "nothing-yet").exists()
