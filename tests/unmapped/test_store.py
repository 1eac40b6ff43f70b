"""The unmapped-key store: counts, the latest sample, bounds, and several stores read as one."""

from __future__ import annotations

from pathlib import Path

from hub.read.unmapped import find_stores, merge_rows
from hub.unmapped import Sighting, UnmappedStore, sample_of
from hub.unmapped.store import MAX_KEY_CHARS, MAX_SAMPLE_CHARS

T = 1_772_366_400_000_000_000


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
