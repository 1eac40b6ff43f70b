"""Helpers the JSON-based codecs share: strict loading and flattening of decoded objects."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import orjson

from core.codec import DecodeError
from core.model import RawObservation, RawTime
from core.timeutil import epoch_to_ns, guess_epoch_unit

# Deep nesting is never a sensor reading; it is a way to make a decoder recurse forever.
MAX_DEPTH = 8


def load_json(payload: bytes, what: str = "payload") -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{what} is not valid JSON: {exc}") from None


def require_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{where}: expected a JSON object, got {type_name(value)}")
    return value


def type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def optional_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DecodeError(f"{where}.{key}: expected a string, got {type_name(value)}")
    return value


def flatten_measurements(
    obj: dict[str, Any], *, prefix: str = "", time: RawTime | None = None, depth: int = 0
) -> Iterator[RawObservation]:
    """Turn a decoded payload object into observations with dotted keys.

    Understands plain numbers (``{"temperature": 21.5}``), Decentlab-style
    ``{"displayName", "unit", "value"}`` objects, and nested groups
    (``{"air": {"temperature": 1}}`` -> ``air.temperature``). Strings pass through as
    values: the normaliser decides whether a mapped key's text is a number.
    """
    if depth > MAX_DEPTH:
        raise DecodeError(f"{prefix or 'payload'}: nested deeper than {MAX_DEPTH} levels")
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if "value" in value and not isinstance(value["value"], dict | list):
                unit = value.get("unit")
                yield RawObservation(
                    key=name, value=value["value"], unit=unit if isinstance(unit, str) else None, time=time
                )
            else:
                yield from flatten_measurements(value, prefix=f"{name}.", time=time, depth=depth + 1)
        elif isinstance(value, list):
            if _is_history(value):
                yield from _history(value, name, depth)
            # other arrays (raw bytes, lists of readings without times) are format-specific; codecs handle them
        else:
            # null too: a sensor that reports no value is news for a mapped key (the normaliser
            # dead-letters it), and an unmapped one is counted like any other unknown key.
            yield RawObservation(key=name, value=value, time=time)


# Milesight (and similar) decoders put retransmitted frames in an array of objects,
# each with its own epoch-seconds ``timestamp``: ``{"history": [{"temperature": 27.2, "timestamp": 1665561758}]}``.
HISTORY_TIME_KEY = "timestamp"


def _is_history(entries: list[Any]) -> bool:
    return bool(entries) and all(isinstance(entry, dict) and HISTORY_TIME_KEY in entry for entry in entries)


def _history(entries: list[Any], name: str, depth: int) -> Iterator[RawObservation]:
    """One observation per measurement of each entry, at that entry's own time."""
    for index, entry in enumerate(entries):
        where = f"{name}[{index}]"
        entry_time = epoch_or_text_time(entry[HISTORY_TIME_KEY], f"{where}.{HISTORY_TIME_KEY}")
        measurements = {k: v for k, v in entry.items() if k != HISTORY_TIME_KEY}
        yield from flatten_measurements(measurements, prefix=f"{name}.", time=entry_time, depth=depth + 1)


# Epoch numbers beyond this many ns (year ~2262) don't fit InfluxDB's int64 timestamps.
_MAX_EPOCH_NS = 2**63 - 1


def epoch_or_text_time(value: Any, where: str, unit: str | None = None) -> RawTime:
    """A payload time: an epoch number (unit guessed from its size unless given) or text for the normaliser.

    Numbers become integer ns here, because ``RawTime`` integers mean ns; text (ISO 8601, or
    digits) is left for the normaliser, which applies the lab timezone to zoneless times.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DecodeError(f"{where}: expected an epoch number or an ISO 8601 time, got {type_name(value)}")
    # Checked before scaling: a float near 1e308 times 1e9 is infinite and can't become an integer.
    time_ns = epoch_to_ns(value, unit or guess_epoch_unit(value)) if 0 <= value <= _MAX_EPOCH_NS else -1
    if not 0 <= time_ns <= _MAX_EPOCH_NS:
        raise DecodeError(f"{where}: epoch time {value!r} is out of range")
    return time_ns


def parse_degrees(value: Any, where: str, limit: float) -> float:
    """Decimal degrees from a number or numeric text, within ±``limit`` (90 for latitude, 180 for longitude)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DecodeError(f"{where}: expected decimal degrees, got {type_name(value)}")
    try:
        degrees = float(value)
    except ValueError:
        raise DecodeError(f"{where}: {str(value)[:32]!r} is not decimal degrees") from None
    if not -limit <= degrees <= limit:
        raise DecodeError(f"{where}: {degrees:g} is outside -{limit:g}..{limit:g}")
    return degrees
