"""Sensor.Community (luftdaten.info): airrohr firmware pushes and data API records.

Push (what the firmware POSTs, bridged to MQTT):
``{"software_version": "...", "sensordatavalues": [{"value_type": "P1", "value": "6.73"}]}``.
API record (``data.sensor.community/static/v1/data.json`` and ``/airrohr/v1/sensor/<id>/``): the same values
plus ``timestamp`` (UTC, no zone), ``location`` and ``sensor``; the API serves arrays of records.
"""

from __future__ import annotations

import re
from typing import Any

from adapters._json import load_json, optional_str, parse_degrees, require_object, type_name
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation

# Value types come with no unit: the firmware and the API fix one per type (P1 in µg/m³, pressure in Pa),
# and that knowledge is data, with the value types' meanings: hub/data/aliases/formats/sensor-community.yaml.
# The firmware's local-API variant prefixes value types with the sensor: SDS_P1, BME280_pressure, DNMS_noise_LAeq.
_SENSOR_PREFIX = re.compile(r"^[A-Z][A-Z0-9]*_(?=.)")
# API times are UTC written without a zone ("2017-03-30T19:24:02", "2020-01-22 14:33:47").
_ZONELESS = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


class SensorCommunityCodec(Codec):
    name = "sensor-community"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        document = load_json(payload, "Sensor.Community data")
        if isinstance(document, list):
            if not document:
                raise DecodeError("records: empty array")
            observations: list[RawObservation] = []
            for index, record in enumerate(document):
                observations.extend(_record(record, f"records[{index}]"))
            return DecodedMessage(observations=tuple(observations))
        return DecodedMessage(observations=tuple(_record(document, "record")))


def _record(record: Any, where: str) -> list[RawObservation]:
    record = require_object(record, where)
    values = record.get("sensordatavalues")
    if not isinstance(values, list):
        problem = "missing" if values is None else f"expected an array, got {type_name(values)}"
        raise DecodeError(f"{where}.sensordatavalues: {problem}")
    time = _time(record, where)
    device = _device(record, where)
    lat, lon = _location(record, where)
    observations = []
    for index, entry in enumerate(values):
        at = f"{where}.sensordatavalues[{index}]"
        entry = require_object(entry, at)
        value_type = optional_str(entry, "value_type", at)
        if not value_type:
            raise DecodeError(f"{at}.value_type: missing")
        value = entry.get("value")
        if value is None:
            raise DecodeError(f"{at}.value: missing")
        if isinstance(value, dict | list):
            raise DecodeError(f"{at}.value: expected a number or numeric text, got {type_name(value)}")
        key = _SENSOR_PREFIX.sub("", value_type)
        observations.append(RawObservation(key=key, value=value, time=time, device=device, lat=lat, lon=lon))
    return observations


def _time(record: dict[str, Any], where: str) -> str | None:
    text = optional_str(record, "timestamp", where)
    if text is None:
        return None  # firmware pushes carry no time: the hub's receive time applies
    text = text.strip()
    return text + "Z" if _ZONELESS.match(text) else text


def _device(record: dict[str, Any], where: str) -> str | None:
    """API records name their sensor; local-API pushes their node. Plain pushes name neither (the topic does)."""
    sensor = record.get("sensor")
    if sensor is not None:
        sensor_id = require_object(sensor, f"{where}.sensor").get("id")
        if isinstance(sensor_id, int) and not isinstance(sensor_id, bool):
            return f"sensor-{sensor_id}"
        raise DecodeError(f"{where}.sensor.id: expected an integer id, got {type_name(sensor_id)}")
    chip = record.get("esp8266id", record.get("esp32id"))
    if chip is None:
        return None
    if isinstance(chip, bool) or not isinstance(chip, str | int):
        raise DecodeError(f"{where}.esp8266id: expected the chip id, got {type_name(chip)}")
    return f"{'esp32' if 'esp32id' in record else 'esp8266'}-{chip}"


def _location(record: dict[str, Any], where: str) -> tuple[float | None, float | None]:
    location = record.get("location")
    if location is None:
        return None, None
    location = require_object(location, f"{where}.location")
    lat = _degrees(location.get("latitude"), f"{where}.location.latitude", 90.0)
    lon = _degrees(location.get("longitude"), f"{where}.location.longitude", 180.0)
    if lat is None or lon is None:
        return None, None
    return lat, lon


def _degrees(value: Any, where: str, limit: float) -> float | None:
    if value is None or value == "":
        return None  # the API leaves unknown positions empty
    return parse_degrees(value, where, limit)


CODEC = SensorCommunityCodec()
