"""Helpers the JSON-based codecs share: strict loading and flattening of decoded objects."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import orjson

from core.codec import DecodeError
from core.model import RawObservation, RawTime, new_tuple
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
    obj: dict[str, Any],
    *,
    prefix: str = "",
    time: RawTime | None = None,
    depth: int = 0,
    element: tuple[tuple[str, str], ...] = (),
) -> Iterator[RawObservation]:
    """Turn a decoded payload object into observations with dotted keys.

    Understands plain numbers (``{"temperature": 21.5}``), Decentlab-style
    ``{"displayName", "unit", "value"}`` objects, ``{"unit", "values": [...]}`` series (Adeunis:
    ``temperature.values[0]`` is the newest sample), nested groups (``{"air": {"temperature": 1}}``
    -> ``air.temperature``) and lists (``grideye[3]``, ``messages[0].measurementValue``; see
    ``_list``). Strings pass through as values: the normaliser decides whether a mapped key's text is
    a number. What any key means is the key resolver's business, never the flattener's.
    """
    if depth > MAX_DEPTH:
        raise DecodeError(f"{prefix or 'payload'}: nested deeper than {MAX_DEPTH} levels")
    for key, value in obj.items():
        name = prefix + key if prefix else key  # JSON object keys are text
        if isinstance(value, dict):
            unit = value.get("unit")
            unit = unit if isinstance(unit, str) else None
            if "value" in value and not isinstance(value["value"], dict | list):
                yield RawObservation(key=name, value=value["value"], unit=unit, time=time, element=element)
            elif unit is not None and isinstance(value.get("values"), list):
                # A series in one unit, newest first: each sample keeps the unit.
                for index, sample in enumerate(value["values"]):
                    if not isinstance(sample, dict | list):
                        yield RawObservation(f"{name}.values[{index}]", sample, unit=unit, time=time, element=element)
                rest = {k: v for k, v in value.items() if k not in ("unit", "values")}
                yield from flatten_measurements(rest, prefix=f"{name}.", time=time, depth=depth + 1, element=element)
            else:
                yield from flatten_measurements(value, prefix=f"{name}.", time=time, depth=depth + 1, element=element)
        elif isinstance(value, list):
            yield from _list(value, name, time, depth + 1, element)
        else:
            # null too: a sensor that reports no value is news for a mapped key (the normaliser
            # dead-letters it), and an unmapped one is counted like any other unknown key.
            # Every field, in order (key, value, unit, time, device, lat, lon, context, element, definition),
            # through new_tuple: for every value of every payload.
            yield new_tuple(RawObservation, (name, value, None, time, None, None, None, None, element, None))


# A list element's own time: Milesight history frames (epoch ``timestamp``), Watteco samples (ISO
# ``date``), Sensative history (``timeStamp``). Only a number or text is a time; an object (Laird's
# ``{year, month, ...}``) is flattened like any other member.
ELEMENT_TIME_KEYS = ("timestamp", "timeStamp", "date", "datetime")


def _list(
    entries: list[Any], name: str, time: RawTime | None, depth: int, element: tuple[tuple[str, str], ...]
) -> Iterator[RawObservation]:
    """One observation per scalar of a list, keyed by its index (``name[2]``).

    An object element keeps its scalar members beside each of its observations (``element``), so a
    profile can select it by one of them (``messages[measurementId=4097].measurementValue``), and
    its own time (``ELEMENT_TIME_KEYS``) becomes the time of its values.
    """
    if depth > MAX_DEPTH:
        raise DecodeError(f"{name}: nested deeper than {MAX_DEPTH} levels")
    for index, entry in enumerate(entries):
        where = f"{name}[{index}]"
        if isinstance(entry, dict):
            entry_time, members = time, entry
            time_key = next((k for k in ELEMENT_TIME_KEYS if _is_time_value(entry.get(k))), None)
            if time_key is not None:
                entry_time = epoch_or_text_time(entry[time_key], f"{where}.{time_key}")
                members = {k: v for k, v in entry.items() if k != time_key}
            scalars = tuple((str(k), str(v)) for k, v in members.items() if _is_time_value(v))
            yield from flatten_measurements(members, prefix=f"{where}.", time=entry_time, depth=depth, element=scalars)
        elif isinstance(entry, list):
            yield from _list(entry, where, time, depth + 1, element)
        else:
            yield RawObservation(key=where, value=entry, time=time, element=element)


def _is_time_value(value: Any) -> bool:
    """Text or a number (not a boolean): what a time, or a selector value, can be."""
    return isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))


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
