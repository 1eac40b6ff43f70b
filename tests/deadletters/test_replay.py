"""Replay: dead letters stored as ingest made them, re-run after a lab config fix, against a real InfluxDB."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.model import RejectCode
from hub.deadletters.replay import replay
from hub.deadletters.store import DeadLetter, DeadLetterStore, rejected_reading_reason
from hub.devstack import InfluxDB1, free_port
from hub.ingest.envelope import InboundMessage, MessageTranslator
from hub.labs import LabConfig, load_labs
from hub.settings import Settings
from hub.store.delivery import write_exactly
from hub.store.influxql import InfluxQLClient
from hub.store.writers import TransientWriteError, make_writer
from tests.conftest import LABS_DIR
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink

pytestmark = pytest.mark.integration

HARBOUR = AARHUS_TOPIC.format(device="harbour-1")
CM_MAPPING = "level_cm: {quantity: waterLevel, unit: cm}"


def labs_with(tmp_path: Path, name: str, level_cm_unit: str) -> dict[str, LabConfig]:
    directory = tmp_path / name
    shutil.copytree(LABS_DIR, directory)
    config = directory / "aarhus-city-lab.yaml"
    text = config.read_text()
    assert CM_MAPPING in text
    config.write_text(text.replace(CM_MAPPING, f"level_cm: {{quantity: waterLevel, unit: {level_cm_unit}}}"))
    return load_labs(directory)


def ingest(store: DeadLetterStore, labs: dict[str, LabConfig], messages: list[tuple[str, bytes]]) -> list[str]:
    """Store the dead letters ingest would store for ``messages``; return the lines it would write."""
    translator = MessageTranslator(labs, max_payload_bytes=256 * 1024)
    lines: list[str] = []
    for n, (topic, payload) in enumerate(messages):
        envelope = translator.translate(InboundMessage(topic, payload, 1_772_400_000_000_000_000 + n, n + 1, 1))
        store.add_many(envelope.dead_letters)
        lines.extend(envelope.lines)
    return lines


@pytest.fixture
def store(tmp_path: Path):
    opened = DeadLetterStore(tmp_path / "deadletters.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def settings(influx: InfluxDB1, database: str) -> Settings:
    return Settings(influx_url=influx.url, influx_api="v1", influx_bucket=database)


MESSAGES = [
    # The probe sends millimetres, the config says centimetres: 25 m and 30 m are out of range.
    (HARBOUR, ttn_uplink("h", {"level_cm": 2500}, "2026-03-01T10:00:00Z")),
    (HARBOUR, ttn_uplink("h", {"level_cm": 3000, "temp_water": 7.5}, "2026-03-01T11:00:00Z")),
    (HARBOUR, b'{"uplink_message": {"decoded_payload": '),  # truncated: still undecodable after any fix
]


def test_a_fixed_mapping_writes_what_now_decodes_and_resolves_its_letters(
    tmp_path: Path, store: DeadLetterStore, settings: Settings, influxql: InfluxQLClient
) -> None:
    written_on_arrival = ingest(store, labs_with(tmp_path, "before", "cm"), MESSAGES)
    assert len(written_on_arrival) == 1  # the water temperature
    letters = store.select()
    assert sorted(letter.reason_code for letter in letters) == ["decode_error", "out_of_range", "out_of_range"]
    fixed = labs_with(tmp_path, "after", "mm")

    dry = replay(letters, labs=fixed, settings=settings, store=store, dry_run=True)
    assert (dry.selected, dry.decoded, dry.readings, dry.readings_written, dry.new_dead_letters) == (3, 2, 3, 0, 0)
    assert dict(dry.still_failing_reasons) == {"decode_error": 1}
    assert len(store.select()) == 3
    assert influxql.query('SELECT "value" FROM "waterLevel"') == []

    done = replay(letters, labs=fixed, settings=settings, store=store, dry_run=False)
    assert (done.decoded, done.readings, done.readings_written, done.still_failing) == (2, 3, 3, 1)
    assert [letter.reason_code for letter in store.select()] == ["decode_error"]
    (level,) = influxql.query('SELECT "value", device FROM "waterLevel"')
    # Each reading at its payload's time, from the message's original receive time: exactly as on arrival.
    assert level.values == [[1772359200000000000, 2.5, "harbour-1"], [1772362800000000000, 3.0, "harbour-1"]]
    (water,) = influxql.query('SELECT "value" FROM "waterTemperature"')
    assert [row[1] for row in water.values] == [7.5]  # the same point rewritten, not doubled


def test_a_wrong_fix_keeps_the_letter_and_records_the_new_rejection(
    tmp_path: Path, store: DeadLetterStore, settings: Settings
) -> None:
    ingest(store, labs_with(tmp_path, "before", "cm"), MESSAGES[:1])
    wrong = labs_with(tmp_path, "after", "m")  # 2500 m: still out of range, with another reason
    outcome = replay(store.select(), labs=wrong, settings=settings, store=store, dry_run=False)
    assert (outcome.decoded, outcome.new_dead_letters) == (1, 1)
    (letter,) = store.select()
    assert "waterLevel 2500 m" in letter.reason


def test_readings_influxdb_refused_are_replayed_once_the_conflict_is_resolved(
    tmp_path: Path, store: DeadLetterStore, settings: Settings, influx: InfluxDB1, database: str, influxql
) -> None:
    """store_rejected letters hold the original message: after the field type conflict is gone, replay stores them."""
    labs = labs_with(tmp_path, "labs", "cm")
    # Someone wrote temperature as an integer in this week's shard: InfluxDB refuses the hub's float temperatures.
    seed = make_writer(api="v1", url=influx.url, bucket=database)
    seed.write(["temperature,device=seed value=1i 1772300000000000000"])
    uplinks = [
        (HARBOUR, ttn_uplink("h", {"temperature": 5.5, "pm2_5": 3.0}, "2026-03-01T10:00:00Z")),
        (HARBOUR, ttn_uplink("h", {"pm2_5": 4.0}, "2026-03-01T11:00:00Z")),
    ]
    lines = ingest(store, labs, uplinks)
    assert store.select() == []
    refused = write_exactly(seed, lines)
    assert [lines[rejection.index].startswith("temperature") for rejection in refused] == [True]
    (rejection,) = refused
    message = InboundMessage(*uplinks[0], 1_772_400_000_000_000_000)
    store.add_many(
        [
            DeadLetter(
                message.received_ns,
                message.topic,
                "aarhus-city-lab",
                "ttn-v3",
                RejectCode.STORE_REJECTED,
                rejected_reading_reason(lines[rejection.index], rejection.status, rejection.reason),
                message.payload,
            )
        ]
    )

    still = replay(store.select(), labs=labs, settings=settings, store=store, dry_run=False)
    assert (still.decoded, still.still_failing, still.new_dead_letters, still.readings) == (0, 1, 0, 2)
    assert still.readings_written == 1  # pm25 again (idempotent); temperature refused again, the letter stays
    assert len(store.select()) == 1

    influxql.execute('DROP MEASUREMENT "temperature"')  # the operator resolves the conflict
    done = replay(store.select(), labs=labs, settings=settings, store=store, dry_run=False)
    assert (done.decoded, done.still_failing, done.readings_written) == (1, 0, 2)
    assert store.select() == []
    (temperature,) = influxql.query('SELECT "value", device FROM temperature')
    assert temperature.values == [[1772359200000000000, 5.5, "harbour-1"]]
    seed.close()


def test_letters_replay_cannot_use_stay_as_they_are(tmp_path: Path, store: DeadLetterStore, settings: Settings) -> None:
    labs = labs_with(tmp_path, "labs", "mm")
    store.add_many(
        [
            DeadLetter(1, "nobody/claims/this", None, None, "no_source", "topic matches no lab source", b"{}", 2),
            # Only the first 3 bytes of an oversized payload were kept: replaying them would be wrong.
            DeadLetter(2, HARBOUR, "aarhus-city-lab", "ttn-v3", "oversized", "too big", b'{"u', 300_000),
        ]
    )
    outcome = replay(store.select(), labs=labs, settings=settings, store=store, dry_run=False)
    assert (outcome.selected, outcome.decoded, outcome.readings_written) == (2, 0, 0)
    assert dict(outcome.still_failing_reasons) == {"no_source": 1, "oversized": 1}
    assert len(store.select()) == 2


def test_nothing_is_removed_when_the_write_fails(tmp_path: Path, store: DeadLetterStore) -> None:
    ingest(store, labs_with(tmp_path, "before", "cm"), MESSAGES[:2])
    down = Settings(influx_url=f"http://127.0.0.1:{free_port()}", influx_api="v1", influx_bucket="x")
    with pytest.raises(TransientWriteError):
        replay(store.select(), labs=labs_with(tmp_path, "after", "mm"), settings=down, store=store, dry_run=False)
    assert len(store.select()) == 2
