"""Generic JSON: the lab config says where the values, units, times and devices are.

For labs with their own JSON. Two layouts, both per record (the payload, each element of a payload array,
or each element found at ``records``):

- wide: ``values`` lists paths and what they measure: ``{"t": 21.5, "rh": 40}`` with ``t -> temperature``; the
  path is the observation's key, and ``option_mappings`` hands its meaning to the normaliser;
- long: ``key`` / ``value`` / ``unit`` paths: ``{"type": "temperature", "value": 21.5, "unit": "C"}``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters._json import epoch_or_text_time, load_json, type_name
from adapters.json.paths import PathError, compile_path
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, KeyMapping, KeyMeaning, RawObservation, RawTime

EpochUnit = Literal["auto", "s", "ms", "us", "ns"]


def _check_path(text: str | None) -> str | None:
    if text is not None:
        try:
            compile_path(text)
        except PathError as exc:
            raise ValueError(str(exc)) from None
    return text


class JsonValue(BaseModel):
    """One measurement in a record (wide layout): its path is the key the codec emits, ``quantity`` its meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    # Checked against the vocabulary when the lab loads, like every mapping (hub.labs).
    quantity: str
    # A fixed unit, or a path (in the record) to the unit the payload states; neither: default_units, canonical.
    unit: str | None = None
    unit_path: str | None = None

    _paths = field_validator("path", "unit_path")(_check_path)

    @model_validator(mode="after")
    def _one_unit_source(self) -> JsonValue:
        if self.unit is not None and self.unit_path is not None:
            raise ValueError("give unit or unit_path, not both")
        return self


class JsonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Path to the array of records; unset: the payload is the record (or, if an array, the records).
    records: str | None = None
    # Paths read in the record, else in the whole message (a station id or time shared by all records).
    device: str | None = None
    time: str | None = None
    # Unit of numeric times; auto tells s/ms/µs/ns apart by size (this century's epochs differ by 1000x).
    time_unit: EpochUnit = "auto"
    lat: str | None = None
    lon: str | None = None
    # Wide layout.
    values: list[JsonValue] = Field(default_factory=list)
    # Long layout: the record's measurement name (mapped like any payload key), value and unit.
    key: str | None = None
    value: str | None = None
    unit: str | None = None

    _paths = field_validator("records", "device", "time", "lat", "lon", "key", "value", "unit")(_check_path)

    @model_validator(mode="after")
    def _one_layout(self) -> JsonOptions:
        long_layout = self.key is not None or self.value is not None
        if long_layout and (self.key is None or self.value is None):
            raise ValueError("the long layout needs both key and value paths")
        if long_layout and self.values:
            raise ValueError("configure either values (wide layout) or key and value (long layout), not both")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon paths go together")
        return self

    @property
    def has_layout(self) -> bool:
        return bool(self.values) or self.key is not None


class JsonCodec(Codec):
    name = "json"
    options_model = JsonOptions

    def parse_options(self, options: dict[str, Any]) -> BaseModel:
        parsed = super().parse_options(options)
        if isinstance(parsed, JsonOptions) and not parsed.has_layout:
            raise ValueError("configure values (wide layout) or key and value (long layout)")
        return parsed

    def option_mappings(self, options: BaseModel) -> tuple[KeyMapping, ...]:
        """The wide layout's ``values``: each path is a key, its quantity and fixed unit the meaning."""
        if not isinstance(options, JsonOptions):
            return ()
        return tuple(
            KeyMapping(spec.path, KeyMeaning(spec.quantity, spec.unit), f"values.{index}")
            for index, spec in enumerate(options.values)
        )

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        options = context.options
        if not isinstance(options, JsonOptions) or not options.has_layout:
            # Without a lab (citylab decode with no --lab) there is no mapping to read the payload with.
            raise DecodeError("no mapping configured: the json format needs the lab's options (values or key/value)")
        message = load_json(payload, "payload")
        observations: list[RawObservation] = []
        for index, record in enumerate(_records(message, options)):
            observations.extend(_record(record, message, options, f"record {index}"))
        return DecodedMessage(observations=tuple(observations))


def _records(message: Any, options: JsonOptions) -> list[Any]:
    if options.records is None:
        records = message if isinstance(message, list) else [message]
    else:
        found = compile_path(options.records).find(message)
        if not found:
            raise DecodeError(f"records: path {options.records!r} not found")
        if len(found) == 1 and isinstance(found[0], list):
            records = found[0]
        elif options.records.startswith("$"):
            records = found  # a JSONPath such as $.data[*] matches the records themselves
        else:
            raise DecodeError(f"records: {options.records!r} is {type_name(found[0])}, not an array")
    if not records:
        raise DecodeError("records: empty array")
    return records


def _record(record: Any, message: Any, options: JsonOptions, where: str) -> list[RawObservation]:
    if not isinstance(record, dict):
        raise DecodeError(f"{where}: expected an object, got {type_name(record)}")
    device = _device(record, message, options, where)
    time = _time(record, message, options, where)
    lat = _degrees(record, message, options.lat, where, 90.0)
    lon = _degrees(record, message, options.lon, where, 180.0)
    if options.key is not None and options.value is not None:
        key = _scalar(record, options.key, f"{where}.key")
        if not isinstance(key, str) or not key:
            raise DecodeError(f"{where}: key at {options.key!r} is {type_name(key)}, not a name")
        value = _scalar(record, options.value, f"{where}.value")
        unit = _unit(record, options.unit, where) if options.unit is not None else None
        return [RawObservation(key=key, value=value, unit=unit, time=time, device=device, lat=lat, lon=lon)]
    observations = []
    for spec in options.values:
        # The key is the configured path: the source's mappings (option_mappings) say what it means.
        # A fixed unit is part of that meaning; only a unit the payload states travels here.
        unit = None if spec.unit_path is None else _unit(record, spec.unit_path, where)
        for value in compile_path(spec.path).find(record):
            # A null is kept: the path is mapped, so the normaliser dead-letters it as no number.
            if isinstance(value, dict | list):
                raise DecodeError(f"{where}: {spec.path!r} is {type_name(value)}, not a value")
            observations.append(
                RawObservation(key=spec.path, value=value, unit=unit, time=time, device=device, lat=lat, lon=lon)
            )
    if not observations:
        looked = ", ".join(repr(spec.path) for spec in options.values)
        raise DecodeError(f"{where}: none of the configured values found (looked for {looked})")
    return observations


def _lookup(record: dict[str, Any], message: Any, path: str) -> Any:
    """The first match in the record, else in the whole message; None when neither has it."""
    compiled = compile_path(path)
    found = compiled.find(record) or (compiled.find(message) if message is not record else [])
    return found[0] if found else None


def _scalar(record: dict[str, Any], path: str, where: str) -> Any:
    found = compile_path(path).find(record)
    if not found or found[0] is None:
        raise DecodeError(f"{where}: path {path!r} not found")
    if isinstance(found[0], dict | list):
        raise DecodeError(f"{where}: {path!r} is {type_name(found[0])}, not a value")
    return found[0]


def _unit(record: dict[str, Any], path: str, where: str) -> str | None:
    found = compile_path(path).find(record)
    if not found or found[0] is None:
        return None  # no unit stated: the lab's default_units, then the canonical unit
    if not isinstance(found[0], str):
        raise DecodeError(f"{where}: unit at {path!r} is {type_name(found[0])}, not text")
    return found[0]


def _device(record: dict[str, Any], message: Any, options: JsonOptions, where: str) -> str | None:
    if options.device is None:
        return None
    device = _lookup(record, message, options.device)
    if device is None:
        raise DecodeError(f"{where}: device path {options.device!r} not found")
    if isinstance(device, bool) or not isinstance(device, str | int):
        raise DecodeError(f"{where}: device at {options.device!r} is {type_name(device)}, not an id")
    return str(device)


def _time(record: dict[str, Any], message: Any, options: JsonOptions, where: str) -> RawTime | None:
    if options.time is None:
        return None
    raw = _lookup(record, message, options.time)
    at = f"{where}: time at {options.time!r}"
    if raw is None:
        raise DecodeError(f"{where}: time path {options.time!r} not found")
    unit = None if options.time_unit == "auto" else options.time_unit
    if isinstance(raw, str) and unit is not None:
        text: str = raw
        # Digits in text are an epoch in the configured unit; other text is ISO 8601 for the normaliser.
        try:
            raw = float(text) if "." in text or "e" in text.lower() else int(text)
        except ValueError:
            return text
    return epoch_or_text_time(raw, at, unit)


def _degrees(record: dict[str, Any], message: Any, path: str | None, where: str, limit: float) -> float | None:
    if path is None:
        return None
    raw = _lookup(record, message, path)
    if raw is None:
        return None  # a record without a position is placed at the lab's location
    try:
        degrees = float(raw) if not isinstance(raw, bool) and isinstance(raw, int | float | str) else math.nan
    except ValueError:
        degrees = math.nan
    if not -limit <= degrees <= limit:
        raise DecodeError(f"{where}: coordinate at {path!r} is {str(raw)[:32]!r}, not within ±{limit:g} degrees")
    return degrees


CODEC = JsonCodec()
