"""Tasmota telemetry: ``tele/{device}/SENSOR``, one object per sensor with message-wide units.

``{"Time": "2019-11-03T19:34:28", "BME280": {"Temperature": 21.7, "Humidity": 66.6, "Pressure": 988.6},
"PressureUnit": "hPa", "TempUnit": "C"}``: keys become ``BME280.Temperature``; ``Time`` is the device's
local time without a zone, which the normaliser reads in the lab's timezone.
"""

from __future__ import annotations

from typing import Any

from adapters._json import load_json, optional_str, require_object, type_name
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation

_TIME = "Time"
_TEMP_UNIT = "TempUnit"
_PRESSURE_UNIT = "PressureUnit"
_MESSAGE_KEYS = {_TIME, _TEMP_UNIT, _PRESSURE_UNIT, "SpeedUnit", "Epoch", "TimeZone"}
# Sensor fields whose unit the message-wide TempUnit / PressureUnit gives.
_TEMPERATURE_FIELDS = {"Temperature", "DewPoint", "Temperature1", "Temperature2"}
_PRESSURE_FIELDS = {"Pressure", "SeaPressure"}
_TEMP_UNITS = {"C": "Cel", "F": "F"}
_TELEMETRY = "tele"
_SENSOR = "SENSOR"
# Tasmota sensor objects are one level deep ({"BME280": {...}}); a few drivers nest once more.
_MAX_NESTING = 3


class TasmotaCodec(Codec):
    name = "tasmota"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        message = require_object(load_json(payload, "SENSOR message"), "SENSOR message")
        time = optional_str(message, _TIME, "SENSOR message")
        temp_unit = _temp_unit(message)
        pressure_unit = optional_str(message, _PRESSURE_UNIT, "SENSOR message")
        observations: list[RawObservation] = []
        for key, value in message.items():
            if key in _MESSAGE_KEYS:
                continue
            observations.extend(_sensor_values(key, key, value, time, temp_unit, pressure_unit, depth=1))
        return DecodedMessage(observations=tuple(observations), device=_topic_device(context.topic))


def _temp_unit(message: dict[str, Any]) -> str | None:
    unit = optional_str(message, _TEMP_UNIT, "SENSOR message")
    if unit is None:
        return None
    if unit not in _TEMP_UNITS:
        raise DecodeError(f"SENSOR message.{_TEMP_UNIT}: {unit[:16]!r} is neither 'C' nor 'F'")
    return _TEMP_UNITS[unit]


def _sensor_values(
    key: str,
    field: str,
    value: Any,
    time: str | None,
    temp_unit: str | None,
    pressure_unit: str | None,
    depth: int,
) -> list[RawObservation]:
    """``key`` is the dotted path (``SDS0X1.PM2.5``), ``field`` its last member (``PM2.5``, which has a dot)."""
    if isinstance(value, dict):
        if depth >= _MAX_NESTING:
            raise DecodeError(f"{key}: nested deeper than {_MAX_NESTING} levels")
        found: list[RawObservation] = []
        for name, inner in value.items():
            found.extend(_sensor_values(f"{key}.{name}", name, inner, time, temp_unit, pressure_unit, depth + 1))
        return found
    if isinstance(value, list):
        return []  # lists are multi-channel counters and raw values, never one reading
    unit = temp_unit if field in _TEMPERATURE_FIELDS else pressure_unit if field in _PRESSURE_FIELDS else None
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        raise DecodeError(f"{key}: expected a number or text, got {type_name(value)}")
    return [RawObservation(key=key, value=value, unit=unit, time=time)]


def _topic_device(topic: str) -> str | None:
    """``…/tele/{device}/SENSOR`` in the default FullTopic; other layouts use device_topic_level."""
    levels = topic.split("/")
    if len(levels) >= 3 and levels[-1] == _SENSOR and levels[-3] == _TELEMETRY and levels[-2]:
        return levels[-2]
    return None


CODEC = TasmotaCodec()
