"""Helpers the JSON-based codecs share: strict loading and flattening of decoded objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from adapters._codec import DecodeError
from hub.model import RawObservation, RawTime

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
            continue  # arrays (history frames, raw bytes) are format-specific; codecs handle them
        elif value is not None:
            yield RawObservation(key=name, value=value, time=time)
