from __future__ import annotations

import json

import pytest

from adapters import DecodeError
from core.timeutil import parse_iso_ns
from hub.labs import Source
from hub.normalise import Normaliser
from tests.codecs.support import RECEIVED_NS, decode, process

LAB = "reykjavik-air-lab"
PUSH = "reykjavik-air-lab/push/esp8266-998877"


def push(*values: tuple[str, object], **extra: object) -> str:
    return json.dumps(
        {
            "software_version": "NRZ-2024-135",
            "sensordatavalues": [{"value_type": t, "value": v} for t, v in values],
            **extra,
        }
    )


def test_p1_is_pm10_and_p2_is_pm25_from_string_values() -> None:
    got = process("sensor-community", push(("P1", "12.50"), ("P2", "7.25")), topic=PUSH, lab=LAB).result.readings
    assert [(r.quantity, r.value, r.unit, r.device) for r in got] == [
        ("pm10", 12.5, "ug/m3", "esp8266-998877"),
        ("pm25", 7.25, "ug/m3", "esp8266-998877"),
    ]


def test_pressure_is_pascal_even_when_the_lab_defaults_say_otherwise() -> None:
    # The codec only parses: the value type's fixed unit is data (the format's aliases pin Pa).
    decoded = decode("sensor-community", push(("BME280_pressure", "100230.00")))
    assert [(o.key, o.unit) for o in decoded.observations] == [("pressure", None)]
    got = process("sensor-community", push(("pressure", "100230.00")), topic=PUSH, lab=LAB).result.readings
    assert [(r.quantity, r.value) for r in got] == [("atmosphericPressure", 1002.3)]
    hpa_lab = Source(
        topic="x/+", format="sensor-community", device_topic_level=1, default_units={"atmosphericPressure": "hPa"}
    )
    normalised = Normaliser().normalise(
        decoded, received_ns=RECEIVED_NS, format_name="sensor-community", source=hpa_lab, topic="x/node-1"
    )
    assert [r.value for r in normalised.readings] == [1002.3]


def test_sensor_prefixes_are_dropped_but_names_with_underscores_survive() -> None:
    decoded = decode("sensor-community", push(("SDS_P1", 1), ("DNMS_noise_LAeq", 2), ("noise_LAeq", 3)))
    assert [o.key for o in decoded.observations] == ["P1", "noise_LAeq", "noise_LAeq"]


def test_api_times_are_utc_without_zone_not_the_lab_timezone() -> None:
    record = {
        "timestamp": "2026-01-15 08:00:00",
        "sensor": {"id": 5},
        "location": {"latitude": "55.7", "longitude": "12.5", "altitude": ""},
        "sensordatavalues": [{"value_type": "temperature", "value": "1"}],
    }
    # Copenhagen is UTC+1 in January; Sensor.Community's API time is UTC all the same.
    processed = process("sensor-community", json.dumps(record), topic="reykjavik-air-lab/api", lab=LAB)
    assert processed.result.readings[0].time_ns == parse_iso_ns("2026-01-15T08:00:00Z", None)
    decoded = decode("sensor-community", json.dumps(record))
    assert decoded.observations[0].time == "2026-01-15 08:00:00Z"


def test_push_timestamp_with_offset_is_kept() -> None:
    decoded = decode("sensor-community", push(("P1", 1), timestamp="2015-04-05 22:10:10+02:00"))
    assert decoded.observations[0].time == "2015-04-05 22:10:10+02:00"


def test_api_array_records_keep_their_own_device_time_and_position() -> None:
    records = [
        {
            "timestamp": "2026-01-15 08:00:00",
            "sensor": {"id": 1},
            "location": {"latitude": "64.1", "longitude": "-21.9"},
            "sensordatavalues": [{"value_type": "P2", "value": "3"}],
        },
        {
            "timestamp": "2026-01-15 08:05:00",
            "sensor": {"id": 2},
            "location": {"latitude": "", "longitude": ""},
            "sensordatavalues": [{"value_type": "P2", "value": "4"}],
        },
    ]
    decoded = decode("sensor-community", json.dumps(records))
    assert [(o.device, o.time, o.lat, o.lon) for o in decoded.observations] == [
        ("sensor-1", "2026-01-15 08:00:00Z", 64.1, -21.9),
        ("sensor-2", "2026-01-15 08:05:00Z", None, None),
    ]


def test_local_api_chip_id_names_the_device() -> None:
    assert decode("sensor-community", push(("P1", 1), esp8266id="15432712")).observations[0].device == (
        "esp8266-15432712"
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"sensordatavalues": [{"value_type": "P1", "value": "1"}', "Sensor.Community data is not valid JSON"),
        ('{"software_version": "x"}', "record.sensordatavalues: missing"),
        ('{"sensordatavalues": {"P1": 1}}', "record.sensordatavalues: expected an array, got an object"),
        ('{"sensordatavalues": [{"value": "1"}]}', r"record.sensordatavalues\[0\].value_type: missing"),
        ('{"sensordatavalues": [{"value_type": "P1"}]}', r"record.sensordatavalues\[0\].value: missing"),
        (
            '{"sensordatavalues": [{"value_type": "P1", "value": [1]}]}',
            r"record.sensordatavalues\[0\].value: expected a number or numeric text, got an array",
        ),
        ('[{"sensordatavalues": [], "sensor": {"id": "abc"}}]', r"records\[0\].sensor.id: expected an integer id"),
        (
            '{"sensordatavalues": [], "location": {"latitude": "x", "longitude": "1"}}',
            "record.location.latitude: 'x' is not decimal degrees",
        ),
        ("[]", "records: empty array"),
    ],
)
def test_bad_input_names_the_record_and_entry(payload: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("sensor-community", payload)
