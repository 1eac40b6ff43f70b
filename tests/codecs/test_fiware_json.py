from __future__ import annotations

import pytest

from adapters import DecodeError
from core.timeutil import parse_iso_ns
from tests.codecs.support import decode, process

LAB = "trondheim-iot-lab"
TOPIC = "/json/trd7b31e0/station-2/attrs"


def test_flat_object_with_numbers_and_strings() -> None:
    decoded = decode("fiware-json", '{"t": 15, "h": "70", "label": "roof"}', topic=TOPIC)
    assert [(o.key, o.value, o.unit) for o in decoded.observations] == [
        ("t", 15, None),
        ("h", "70", None),
        ("label", "roof", None),
    ]
    assert decoded.device == "station-2"


def test_array_of_groups_each_with_time_instant() -> None:
    decoded = decode("fiware-json", '[{"t": 1, "TimeInstant": "2026-02-01T10:00:00Z"}, {"t": 2}]', topic=TOPIC)
    assert [(o.value, o.time) for o in decoded.observations] == [(1, "2026-02-01T10:00:00Z"), (2, None)]


def test_time_instant_as_epoch_milliseconds() -> None:
    decoded = decode("fiware-json", '{"t": 1, "TimeInstant": 1772362800123}', topic=TOPIC)
    assert decoded.observations[0].time == 1772362800123 * 10**6


def test_zoneless_time_instant_is_in_the_lab_timezone() -> None:
    got = process("fiware-json", '{"t": 3, "TimeInstant": "2026-01-15T08:00:00"}', topic=TOPIC, lab=LAB)
    assert got.result.readings[0].time_ns == parse_iso_ns("2026-01-15T07:00:00Z", None)


def test_string_value_with_unit_converts() -> None:
    got = process("fiware-json", '{"t": "68F", "h": "45%"}', topic=TOPIC, lab=LAB).result.readings
    assert [(r.quantity, r.value) for r in got] == [("temperature", 20.0), ("relativeHumidity", 45.0)]


def test_single_attribute_topic_value_or_timestamped_array() -> None:
    single = decode("fiware-json", "21.5", topic=TOPIC + "/t")
    assert [(o.key, o.value) for o in single.observations] == [("t", 21.5)]
    series = decode(
        "fiware-json", '[{"timestamp": "2026-02-01T10:00:00Z", "value": 44}, {"value": "45"}]', topic=TOPIC + "/h"
    )
    assert [(o.key, o.value, o.time) for o in series.observations] == [
        ("h", 44, "2026-02-01T10:00:00Z"),
        ("h", "45", None),
    ]


def test_a_null_measure_is_dead_lettered_not_dropped() -> None:
    result = process("fiware-json", '{"t": null, "h": 1}', topic=TOPIC, lab=LAB).result
    assert [(r.quantity, r.value) for r in result.readings] == [("relativeHumidity", 1.0)]
    assert [(r.code, r.detail) for r in result.rejections] == [("not_a_number", "t: null is not a number")]


@pytest.mark.parametrize(
    ("payload", "topic", "message"),
    [
        ('{"t": 1', TOPIC, "measure is not valid JSON"),
        ("[]", TOPIC, r"measure: empty array"),
        ("{}", TOPIC, r"measure: empty object"),
        ('[{"t": 1}, 5]', TOPIC, r"measure\[1\]: expected an object of attribute values, got a number"),
        ('{"t": 1, "TimeInstant": true}', TOPIC, "measure.TimeInstant: expected an epoch number or an ISO 8601 time"),
        ('[{"timestamp": "x"}]', TOPIC + "/h", r"measure of 'h'\[0\]: expected a \{'timestamp', 'value'\} object"),
        ("null", TOPIC + "/h", "measure of 'h': null"),
        ('{"t": 1}', "/json/trd7b31e0/station-2", "not an IoT Agent measure topic"),
    ],
)
def test_bad_input_names_the_problem_and_where(payload: str, topic: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("fiware-json", payload, topic=topic)
