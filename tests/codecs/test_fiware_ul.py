from __future__ import annotations

import pytest

from adapters import DecodeError
from core.timeutil import parse_iso_ns
from tests.codecs.support import decode, failure, process

LAB = "trondheim-iot-lab"
TOPIC = "/ul/trd4f2a9c/node-7/attrs"


def test_pairs_are_string_values_keyed_by_object_id_with_the_device_from_the_topic() -> None:
    decoded = decode("fiware-ul", "h|70|t|15", topic=TOPIC)
    assert [(o.key, o.value, o.time) for o in decoded.observations] == [("h", "70", None), ("t", "15", None)]
    assert decoded.device == "node-7"


def test_lab_mappings_turn_object_ids_into_quantities() -> None:
    got = process("fiware-ul", "t|-4.5|h|88|pm25|3.1", topic=TOPIC, lab=LAB).result.readings
    assert [(r.quantity, r.value, r.device) for r in got] == [
        ("temperature", -4.5, "node-7"),
        ("relativeHumidity", 88.0, "node-7"),
        ("pm25", 3.1, "node-7"),
    ]


def test_groups_each_take_their_own_leading_timestamp() -> None:
    decoded = decode("fiware-ul", "2026-02-01T10:00:00Z|t|1#t|2#2026-02-01T10:10:00Z|t|3", topic=TOPIC)
    assert [(o.value, o.time) for o in decoded.observations] == [
        ("1", "2026-02-01T10:00:00Z"),
        ("2", None),
        ("3", "2026-02-01T10:10:00Z"),
    ]


def test_zoneless_group_times_are_in_the_lab_timezone() -> None:
    got = process("fiware-ul", "2025-07-01T14:00:00|t|20", topic=TOPIC, lab=LAB).result.readings
    assert got[0].time_ns == parse_iso_ns("2025-07-01T12:00:00Z", None)  # Europe/Oslo is UTC+2 in summer


def test_time_instant_pair_sets_the_group_time() -> None:
    decoded = decode("fiware-ul", "t|5|TimeInstant|2026-02-01T10:00:00Z", topic=TOPIC)
    assert [(o.key, o.time) for o in decoded.observations] == [("t", "2026-02-01T10:00:00Z")]


def test_single_measure_topic_names_the_attribute() -> None:
    decoded = decode("fiware-ul", "70\n", topic="/ul/trd4f2a9c/node-7/attrs/h")
    assert [(o.key, o.value) for o in decoded.observations] == [("h", "70")]
    got = process("fiware-ul", "70", topic="/ul/trd4f2a9c/node-7/attrs/h", lab=LAB).result.readings
    assert [(r.quantity, r.value) for r in got] == [("relativeHumidity", 70.0)]


def test_legacy_topic_without_protocol_level() -> None:
    assert decode("fiware-ul", "t|1", topic="/trd4f2a9c/old-node/attrs").device == "old-node"


def test_a_unit_written_after_the_number_is_kept() -> None:
    decoded = decode("fiware-ul", "h|45%|t|21.5Cel|gps|1.2/3.4", topic=TOPIC)
    assert [(o.value, o.unit) for o in decoded.observations] == [("45", "%"), ("21.5", "Cel"), ("1.2/3.4", None)]


def test_text_values_of_mapped_keys_are_rejected_as_not_a_number() -> None:
    result = process("fiware-ul", "t|warm", topic=TOPIC, lab=LAB).result
    assert [(r.code, r.key) for r in result.rejections] == [("not_a_number", "t")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("h|70|t", r"group 0: 3 fields where k\|v pairs .* were expected, starting 'h'"),
        ("t|1#", r"group 1: empty \(a stray '#'\?\)"),
        ("|5", r"group 0, pair 0: empty attribute name"),
        ("t|", r"group 0, pair 0 \('t'\): empty value \(truncated message\?\)"),
        ("   ", "payload: empty"),
    ],
)
def test_bad_input_names_the_group_and_pair(payload: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("fiware-ul", payload, topic=TOPIC)


def test_non_utf8_and_wrong_topics_are_decode_errors() -> None:
    code, detail = failure("fiware-ul", b"t|\xff\xfe", topic=TOPIC)
    assert (code, detail) == ("decode_error", "fiware-ul: payload: not UTF-8 text (byte 2)")
    with pytest.raises(DecodeError, match="not an IoT Agent measure topic"):
        decode("fiware-ul", "t|1", topic="/ul/trd4f2a9c/node-7/cmd")


def test_a_json_payload_is_not_ultralight() -> None:
    with pytest.raises(DecodeError, match="group 0: 1 fields"):
        decode("fiware-ul", '{"t": 1}', topic=TOPIC)
