"""The unmapped-key store: counts, the latest sample, bounds, and several stores read as one."""

from __future__ import annotations

import time
from pathlib import Path

from hub.read.unmapped import find_stores, merge_rows
from hub.unmapped import Sighting, UnmappedStore, sample_of
from hub.unmapped.store import MAX_KEY_CHARS, MAX_SAMPLE_CHARS, NS_PER_DAY

# An hour ago: within the store's retention (rows last seen longer ago are deleted as the store is written).
T = time.time_ns() - 3_600 * 10**9


def sighting(key: str, value: object, at: int = 0, **extra: object) -> Sighting:
    fields: dict[str, object] = {"lab": "aarhus-city-lab", "device_model": None, "device": "lamp-1", "topic": "t"}
    fields.update(extra)
    return Sighting(key=key, value=value, time_ns=T + at, **fields)  # type: ignore[arg-type]


def test_sightings_add_up_and_keep_the_first_and_the_latest(tmp_path: Path) -> None:
    store = UnmappedStore(tmp_path / "unmapped.sqlite3")
    store.record([sighting("rssi", -80, 1), sighting("rssi", -70, 5, device="lamp-2"), sighting("rssi", -90, 3)])
    store.record([sighting("rssi", -60, 2)])  # arrives late: counted, but the sample stays the latest
    (row,) = store.rows()
    assert (row.count, row.first_ns, row.last_ns, row.sample, row.device) == (4, T + 1, T + 5, "-70", "lamp-2")
    assert row.device_model == "" and row.guess == ""


def test_guessed_keys_are_rows_of_their_own_per_device_model(tmp_path: Path) -> None:
    store = UnmappedStore(tmp_path / "unmapped.sqlite3")
    store.record(
        [
            sighting("pressure", 1015.4, guess="atmosphericPressure"),
            sighting("pressure", 10, device_model="milesight-iot/em500-pp"),
            sighting("pressure", 11, device_model="milesight-iot/em500-pp"),
        ]
    )
    rows = {(row.device_model, row.guess): row.count for row in store.rows()}
    assert rows == {("", "atmosphericPressure"): 1, ("milesight-iot/em500-pp", ""): 2}


def test_keys_come_from_payloads_so_the_store_is_bounded(tmp_path: Path) -> None:
    store = UnmappedStore(tmp_path / "unmapped.sqlite3", max_rows=5, max_rows_per_lab=3)
    store.record([sighting(f"k{n}", n) for n in range(4)])
    store.record([sighting(f"k{n}", n, lab="oslo-urban-lab") for n in range(10)])
    store.record([sighting("k0", 0), sighting("x" * 1000, "y" * 1000, lab="bergen-city-lab")])
    by_lab: dict[str, int] = {}
    for row in store.rows():
        by_lab[row.lab] = by_lab.get(row.lab, 0) + 1
    assert by_lab == {"aarhus-city-lab": 3, "oslo-urban-lab": 2}
    # Nothing silently: what was not stored is counted per lab and device model.
    dropped = {row.lab: row.count for row in store.dropped()}
    assert dropped == {"aarhus-city-lab": 1, "oslo-urban-lab": 8, "bergen-city-lab": 1}
    store.close()
    reopened = UnmappedStore(tmp_path / "unmapped.sqlite3", max_rows=5, max_rows_per_lab=3)
    reopened.record([sighting("k0", 1)])  # a known key still counts after a restart
    assert next(row.count for row in reopened.rows() if row.key == "k0") == 3
    wide = UnmappedStore(tmp_path / "wide.sqlite3")
    wide.record([sighting("x" * 1000, "y" * 1000)])
    (row,) = wide.rows()
    assert len(row.key) == MAX_KEY_CHARS and len(row.sample) == MAX_SAMPLE_CHARS


def test_samples_say_what_kind_of_value_they_are() -> None:
    assert sample_of(21.5) == ("21.5", "number")
    assert sample_of("24.59") == ('"24.59"', "numeric text")
    assert sample_of("NONE") == ('"NONE"', "text")
    assert sample_of(True) == ("true", "boolean")
    assert sample_of(None) == ("null", "null")


def test_the_stores_of_several_processes_read_as_one(tmp_path: Path) -> None:
    for n, (value, at) in enumerate([(1, 10), (2, 20)], start=1):
        store = UnmappedStore(tmp_path / f"worker-{n}" / "unmapped.sqlite3")
        store.record([sighting("diag", value, at), sighting("diag", value, at - 5)])
        store.close()
    stores = find_stores([tmp_path])
    assert [path.parent.name for path in stores] == ["worker-1", "worker-2"]
    (row,), dropped = merge_rows(stores)
    assert (row.count, row.first_ns, row.last_ns, row.sample) == (4, T + 5, T + 20, "2")
    assert dropped == []
    assert find_stores([tmp_path / "nowhere"]) == []


def test_keys_not_seen_for_the_retention_leave_and_make_room(tmp_path: Path) -> None:
    """A device long gone should not keep its keys in the operator's list forever, nor hold the store's rows
    that new keys need: rows last seen longer than the retention ago are deleted as the store is written."""
    path = tmp_path / "unmapped.sqlite3"
    store = UnmappedStore(path, max_rows=2, retention_days=30)
    # Written before any prune of this store (a store prunes as it first writes, then hourly).
    store.record([sighting("gone", 1, at=-40 * NS_PER_DAY), sighting("old-too", 2, at=-31 * NS_PER_DAY)])
    store.record([sighting("new", 3)])  # the store is full: counted as dropped, not stored
    assert {row.key for row in store.rows()} == {"gone", "old-too"}
    assert [row.count for row in store.dropped()] == [1]
    store.close()

    restarted = UnmappedStore(path, max_rows=2, retention_days=30)  # prunes at its first write
    restarted.record([sighting("new", 3), sighting("recent", 4, at=-29 * NS_PER_DAY)])
    assert {row.key for row in restarted.rows()} == {"new", "recent"}
    assert [row.count for row in restarted.dropped()] == [1]  # the drop counted an hour ago stays
    assert restarted.prune(T + 40 * NS_PER_DAY) == 2 and restarted.rows() == [] and restarted.dropped() == []
