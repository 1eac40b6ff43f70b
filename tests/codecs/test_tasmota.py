from __future__ import annotations

import json

import pytest

from adapters import DecodeError
from core.timeutil import parse_iso_ns
from tests.codecs.support import decode, process

LAB = "vejle-makerspace"
TOPIC = "vejle-makerspace/tele/board-{n}/SENSOR"


def test_temp_unit_f_converts_every_temperature_field() -> None:
    payload = json.dumps(
        {
            "Time": "2026-01-10T09:00:00",
            "DS18B20": {"Temperature": 32.0},
            "SHT3X": {"Temperature": 50.0, "Humidity": 40},
            "TempUnit": "F",
        }
    )
    result = process("tasmota", payload, topic=TOPIC.format(n=1), lab=LAB).result
    assert [(r.quantity, r.value) for r in result.readings] == [("temperature", 0.0), ("relativeHumidity", 40.0)]
    # Two temperatures of one device at one time would overwrite each other in the store: the second is
    # refused, in °C, with the reason (a lab maps the probe's key, e.g. to waterTemperature).
    assert [(r.code, r.key) for r in result.rejections] == [("same_time", "SHT3X.Temperature")]
    assert "a second temperature of 10 for" in result.rejections[0].detail


def test_temp_unit_c_and_pressure_unit_are_passed_as_units() -> None:
    decoded = decode(
        "tasmota",
        '{"BME280": {"Temperature": 1, "Pressure": 1000, "SeaPressure": 1010}, "TempUnit": "C", "PressureUnit": "hPa"}',
    )
    assert [(o.key, o.unit) for o in decoded.observations] == [
        ("BME280.Temperature", "Cel"),
        ("BME280.Pressure", "hPa"),
        ("BME280.SeaPressure", "hPa"),
    ]


def test_local_time_is_read_in_the_lab_timezone() -> None:
    got = process(
        "tasmota", '{"Time": "2025-07-14T14:05:00", "BME280": {"Temperature": 20}}', topic=TOPIC.format(n=2), lab=LAB
    ).result.readings
    assert got[0].time_ns == parse_iso_ns("2025-07-14T12:05:00Z", None)


def test_sds011_pm25_key_with_a_dot_maps() -> None:
    got = process("tasmota", '{"SDS0X1": {"PM2.5": 6.1, "PM10": 11.4}}', topic=TOPIC.format(n=3), lab=LAB)
    assert [(r.quantity, r.value, r.device) for r in got.result.readings] == [
        ("pm25", 6.1, "board-3"),
        ("pm10", 11.4, "board-3"),
    ]


def test_without_units_the_lab_default_units_apply() -> None:
    # No TempUnit: the source's default_units (none in Vejle) and then the canonical °C.
    got = process("tasmota", '{"AM2301": {"Temperature": 12.5}}', topic=TOPIC.format(n=4), lab=LAB).result
    assert [(r.quantity, r.value, r.unit) for r in got.readings] == [("temperature", 12.5, "Cel")]


def test_device_from_default_full_topic() -> None:
    assert decode("tasmota", '{"BME280": {"Temperature": 1}}', topic="tele/tasmota_ABC123/SENSOR").device == (
        "tasmota_ABC123"
    )


def test_unknown_pressure_unit_is_rejected_with_a_reason() -> None:
    result = process(
        "tasmota", '{"BME280": {"Pressure": 750}, "PressureUnit": "atm"}', topic=TOPIC.format(n=5), lab=LAB
    ).result
    assert [(r.code, r.key) for r in result.rejections] == [("unknown_unit", "BME280.Pressure")]


def test_arrays_are_not_readings_and_nulls_are_passed_on() -> None:
    decoded = decode(
        "tasmota", '{"DS18B20": {"Id": "0316A279C3FF", "Temperature": 4}, "COUNTER": {"C1": [1, 2]}, "X": null}'
    )
    assert [(o.key, o.value) for o in decoded.observations] == [
        ("DS18B20.Id", "0316A279C3FF"),
        ("DS18B20.Temperature", 4),
        ("X", None),
    ]


def test_a_sensor_reporting_null_is_dead_lettered() -> None:
    result = process(
        "tasmota", '{"BME280": {"Temperature": null, "Humidity": 50}}', topic=TOPIC.format(n=5), lab=LAB
    ).result
    assert [r.quantity for r in result.readings] == ["relativeHumidity"]
    assert [(r.code, r.key) for r in result.rejections] == [("not_a_number", "BME280.Temperature")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"BME280": {"Temperature": 21.7', "SENSOR message is not valid JSON"),
        ('[{"BME280": {}}]', "SENSOR message: expected a JSON object, got an array"),
        ('{"Time": 1700000000, "BME280": {}}', r"SENSOR message.Time: expected a string, got a number"),
        ('{"TempUnit": "K", "BME280": {"Temperature": 1}}', "SENSOR message.TempUnit: 'K' is neither 'C' nor 'F'"),
        ('{"A": {"B": {"C": {"D": 1}}}}', "A.B.C: nested deeper than 3 levels"),
        ('{"BME280": {"Temperature": true}}', "BME280.Temperature: expected a number or text, got a boolean"),
    ],
)
def test_bad_input_names_the_key(payload: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("tasmota", payload)


def test_pressure_in_mmhg_or_inhg_converts_to_hpa() -> None:
    for unit, value in (("mmHg", 760.0), ("inHg", 29.92)):
        payload = json.dumps({"Time": "2026-03-01T12:00:00", "BME280": {"Pressure": value}, "PressureUnit": unit})
        got = process("tasmota", payload, topic="vejle-makerspace/tele/board-1/SENSOR", lab="vejle-makerspace")
        [reading] = got.result.readings
        assert reading.quantity == "atmosphericPressure"
        assert reading.value == pytest.approx(1013.2, abs=0.1)
