from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters import DecodeContext, get_codec
from core.model import DecodedMessage, KeyMapping, KeyMeaning
from core.timeutil import parse_iso_ns
from hub.labs import LabConfigError, load_lab
from tests.codecs.support import RECEIVED_NS, failure, process

LAB = "odense-city-lab"
AIR = "odense-city-lab/air/station-9"
NOISE = "odense-city-lab/noise/monitor-3"


def decode_with(options: dict[str, Any], payload: object, topic: str = "") -> DecodedMessage:
    codec = get_codec("json")
    return codec.decode(
        json.dumps(payload).encode(),
        DecodeContext(topic=topic, received_ns=RECEIVED_NS, options=codec.parse_options(options)),
    )


WIDE = {"time": "ts", "values": [{"path": "t", "quantity": "temperature"}]}
T_2026 = parse_iso_ns("2026-03-01T11:00:00Z", None)


@pytest.mark.parametrize(
    ("unit", "stamp"),
    [("s", 1772362800), ("ms", 1772362800000), ("us", 1772362800000000), ("ns", 1772362800000000000)],
)
def test_epoch_units_explicit_and_guessed(unit: str, stamp: int) -> None:
    explicit = decode_with({**WIDE, "time_unit": unit}, {"t": 1, "ts": stamp})
    guessed = decode_with(WIDE, {"t": 1, "ts": stamp})
    as_text = decode_with({**WIDE, "time_unit": unit}, {"t": 1, "ts": str(stamp)})
    assert explicit.observations[0].time == guessed.observations[0].time == T_2026
    assert as_text.observations[0].time == T_2026


def test_explicit_unit_beats_the_size_guess() -> None:
    # 1772362800 read as milliseconds is January 1970: the config says so, the codec obeys.
    decoded = decode_with({**WIDE, "time_unit": "ms"}, {"t": 1, "ts": 1772362800})
    assert decoded.observations[0].time == 1772362800 * 10**6


def test_iso_times_pass_through_and_zoneless_is_lab_local() -> None:
    # The noise source reads epoch seconds, but ISO text is still a time: 12:00 Copenhagen winter time is 11:00Z.
    got = process("json", '{"laeq": 50, "interval": {"end": "2026-02-01T12:00:00"}}', topic=NOISE, lab=LAB)
    assert got.result.readings[0].time_ns == parse_iso_ns("2026-02-01T11:00:00Z", None)
    decoded = decode_with(WIDE, {"t": 1, "ts": "2026-02-01T12:00:00"})
    assert decoded.observations[0].time == "2026-02-01T12:00:00"
    garbage = process("json", '{"laeq": 50, "interval": {"end": "soon"}}', topic=NOISE, lab=LAB)
    # The key is the configured path: the dead letter names what the payload called it.
    assert [(r.code, r.key) for r in garbage.result.rejections] == [("bad_time", "laeq")]


def test_long_layout_maps_names_and_units_per_record() -> None:
    payload = {
        "station": "s-1",
        "ts": 1772362800000,
        "position": {"lat": "55.40", "lng": 10.39},
        "readings": [{"type": "temperature", "value": 41, "unit": "F"}, {"type": "rh", "value": "80"}],
    }
    got = process("json", json.dumps(payload), topic=AIR, lab=LAB).result.readings
    assert [(r.quantity, r.value, r.device, r.lat) for r in got] == [
        ("temperature", 5.0, "s-1", 55.4),
        ("relativeHumidity", 80.0, "s-1", 55.4),
    ]


def test_record_values_override_message_values() -> None:
    payload = {
        "station": "s-1",
        "ts": 1772362800000,
        "readings": [{"type": "temperature", "value": 1, "station": "s-2", "ts": 1772362860000}],
    }
    got = process("json", json.dumps(payload), topic=AIR, lab=LAB).result.readings
    assert [(r.device, r.time_ns) for r in got] == [("s-2", T_2026 + 60 * 10**9)]


def test_jsonpath_for_keys_with_dots_and_arrays_of_readings() -> None:
    options = {
        "records": "$.data[*]",
        "device": "id",
        "values": [
            {"path": "$['PM2.5']", "quantity": "pm25", "unit": "ug/m3"},
            {"path": "temps.0", "quantity": "temperature", "unit_path": "unit"},
        ],
    }
    decoded = decode_with(
        options, {"data": [{"id": "a", "PM2.5": 3, "temps": [20, 21], "unit": "C"}, {"id": 7, "PM2.5": 4}]}
    )
    # The codec only parses: keys are the paths, units only what the payload states.
    assert [(o.key, o.value, o.unit, o.device) for o in decoded.observations] == [
        ("$['PM2.5']", 3, None, "a"),
        ("temps.0", 20, "C", "a"),
        ("$['PM2.5']", 4, None, "7"),
    ]
    # What the paths mean is declared to the normaliser, fixed unit included.
    codec = get_codec("json")
    assert codec.option_mappings(codec.parse_options(options)) == (
        KeyMapping("$['PM2.5']", KeyMeaning("pm25", "ug/m3"), "values.0"),
        KeyMapping("temps.0", KeyMeaning("temperature"), "values.1"),
    )


def test_payload_array_is_the_records() -> None:
    decoded = decode_with({"key": "k", "value": "v"}, [{"k": "temperature", "v": 1}, {"k": "pm10", "v": 2}])
    assert [o.key for o in decoded.observations] == ["temperature", "pm10"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "configure values"),
        ({"key": "k"}, "needs both key and value"),
        ({"key": "k", "value": "v", "values": [{"path": "t", "quantity": "temperature"}]}, "not both"),
        ({"values": [{"path": "t", "quantity": "temperature", "unit": "C", "unit_path": "u"}]}, "not both"),
        ({"values": [{"path": "$.[[", "quantity": "temperature"}]}, "not a JSONPath expression"),
        ({"values": [{"path": "a..b", "quantity": "temperature"}]}, "empty path member"),
        ({"lat": "a", "values": [{"path": "t", "quantity": "temperature"}]}, "lat and lon paths go together"),
        ({"time_unit": "minutes", "values": [{"path": "t", "quantity": "temperature"}]}, "time_unit"),
    ],
)
def test_bad_options_are_refused_when_the_lab_loads(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_codec("json").parse_options(options)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([{"path": "t", "quantity": "warmth"}], "sources.0.options.values.0.quantity: unknown quantity 'warmth'"),
        (
            [{"path": "t", "quantity": "temperature", "unit": "ppm"}],
            "sources.0.options.values.0.unit: 'ppm' can't be converted for temperature",
        ),
        (
            [{"path": "t", "quantity": "temperature"}, {"path": "t", "quantity": "pm10"}],
            "sources.0.options.values.1: key 't' is already mapped by options.values.0",
        ),
    ],
)
def test_what_values_mean_is_checked_like_every_mapping_when_the_lab_loads(
    tmp_path: Path, values: list[dict[str, str]], message: str
) -> None:
    lab = {
        "lab": "json-lab",
        "city": "odense",
        "name": "JSON Lab",
        "city_name": "Odense",
        "country": "DK",
        "timezone": "Europe/Copenhagen",
        "location": {"lat": 55.4, "lon": 10.39},
        "sources": [{"topic": "json-lab/+", "format": "json", "device_topic_level": 1, "options": {"values": values}}],
    }
    path = tmp_path / "json-lab.yaml"
    path.write_text(yaml.safe_dump(lab))
    with pytest.raises(LabConfigError) as error:
        load_lab(path)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"station": "s", "ts": 1, "readings": [', "payload is not valid JSON"),
        ('{"station": "s", "ts": 1}', "records: path 'readings' not found"),
        ('{"station": "s", "ts": 1, "readings": {"type": "t"}}', "records: 'readings' is an object, not an array"),
        ('{"station": "s", "ts": 1, "readings": []}', "records: empty array"),
        ('{"station": "s", "ts": 1, "readings": [5]}', "record 0: expected an object, got a number"),
        ('{"ts": 1772362800000, "readings": [{"type": "t", "value": 1}]}', "record 0: device path 'station' not found"),
        ('{"station": "s", "readings": [{"type": "t", "value": 1}]}', "record 0: time path 'ts' not found"),
        (
            '{"station": "s", "ts": true, "readings": [{"type": "t", "value": 1}]}',
            "record 0: time at 'ts': expected an epoch number or an ISO 8601 time, got a boolean",
        ),
        ('{"station": "s", "ts": 1772362800000, "readings": [{"value": 1}]}', "record 0.key: path 'type' not found"),
        (
            '{"station": "s", "ts": 1772362800000, "readings": [{"type": "t", "value": {"x": 1}}]}',
            "record 0.value: 'value' is an object, not a value",
        ),
        (
            '{"station": "s", "ts": 1772362800000, "position": {"lat": 91, "lng": 1}, "readings": [{"type": "t", '
            '"value": 1}]}',
            r"record 0: coordinate at 'position.lat' is '91', not within ±90 degrees",
        ),
    ],
)
def test_bad_payloads_name_the_record_and_path(payload: str, message: str) -> None:
    code, detail = failure("json", payload, topic=AIR, lab=LAB)
    assert code == "decode_error"
    assert message in detail


def test_wide_record_without_any_configured_value_says_what_was_looked_for() -> None:
    _, detail = failure("json", '{"interval": {"end": 1772362800}, "lafmax": 70}', topic=NOISE, lab=LAB)
    assert detail == ("json: record 0: none of the configured values found (looked for 'laeq', \"$.env['temp.c']\")")


def test_without_a_lab_there_is_no_mapping() -> None:
    code, detail = failure("json", '{"t": 1}')
    assert (code, detail) == (
        "decode_error",
        "json: no mapping configured: the json format needs the lab's options (values or key/value)",
    )


def test_a_null_value_is_passed_on_for_the_normaliser_to_dead_letter() -> None:
    decoded = decode_with(WIDE, {"t": None, "ts": 1772362800})
    assert [(o.key, o.value) for o in decoded.observations] == [("t", None)]
