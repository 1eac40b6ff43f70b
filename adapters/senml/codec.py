"""SenML JSON (RFC 8428): resolves base name, base time, base unit, base value and relative times."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from adapters._json import load_json, type_name
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation, RawTime, new_tuple
from core.timeutil import epoch_to_ns

# RFC 8428 section 4.5.3: times below 2**28 are relative to "now".
_RELATIVE_LIMIT = 2**28
_MAX_SECONDS = 9.2e9  # int64 nanoseconds end in 2262
_SUPPORTED_VERSION = 10
_KNOWN_FIELDS = {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}
_DEVICE_SEPARATORS = ":/;"
# A whole RFC 9039 device URN names a sensor, not a measurement; its unit tells the quantity.
_DEVICE_URN = re.compile(r"^urn:dev:[a-z]+:[^:/;]+$")
_LOCATION_UNITS = ("lat", "lon")


class SenmlCodec(Codec):
    name = "senml"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        pack = load_json(payload, "SenML pack")
        if isinstance(pack, dict):
            pack = [pack]
        if not isinstance(pack, list) or not pack:
            raise DecodeError(f"SenML pack: expected a non-empty array of records, got {type_name(pack)}")
        base_name, base_unit = "", None
        base_time = base_value = base_sum = 0.0
        observations: list[RawObservation] = []
        # RFC 8428 section 5.1.3: lat/lon records locate the sensor's other records of the same time.
        positions: dict[tuple[str | None, RawTime | None], dict[str, float]] = {}
        # A pack's records mostly share the base time: resolved once (seconds -> RawTime).
        last_seconds: float | None = None
        last_time: int | None = None
        for index, record in enumerate(pack):
            if not isinstance(record, dict):
                raise DecodeError(f"record {index}: expected an object, got {type_name(record)}")
            _check_fields(record, index)
            if "bn" in record:
                base_name = _text(record, "bn", index)
            if "bt" in record:
                base_time = _number(record, "bt", index)
            if "bu" in record:
                base_unit = _text(record, "bu", index)
            if "bv" in record:
                base_value = _number(record, "bv", index)
            if "bs" in record:
                base_sum = _number(record, "bs", index)
            has_own_name = "n" in record
            name = base_name + _text(record, "n", index) if has_own_name else base_name
            if not name:
                raise DecodeError(f"record {index}: no name (neither bn nor n)")
            value: object
            if "v" in record:
                value = base_value + _number(record, "v", index)
            elif "s" in record:
                value = base_sum + _number(record, "s", index)
            elif "vs" in record:
                value = _text(record, "vs", index)
            else:
                continue  # boolean (vb) and data (vd) values are never numeric readings
            seconds = base_time + _number(record, "t", index) if "t" in record else base_time
            if seconds != last_seconds:
                last_seconds, last_time = seconds, _resolve_time(seconds, context.received_ns, index)
            time = last_time
            unit = _text(record, "u", index) if "u" in record else base_unit
            device, key = _split_name(base_name, name, has_own_name)
            if unit in _LOCATION_UNITS and isinstance(value, float):
                positions.setdefault((device, time), {})[unit] = value
                continue
            # Every field, in order (key, value, unit, time, device, lat, lon, context, element, definition),
            # through new_tuple: cheaper than a NamedTuple's keywords.
            observations.append(
                new_tuple(RawObservation, (key or unit or name, value, unit, time, device, None, None, None, (), None))
            )
        # Every field, in order (observations, device, device_model, gateway_time, lat, lon, native).
        return new_tuple(DecodedMessage, (tuple(_locate(observations, positions)), None, None, None, None, None, ()))


def _check_fields(record: dict[str, Any], index: int) -> None:
    if not _KNOWN_FIELDS.issuperset(record):  # the common case, all fields known, needs no loop
        for field in record:
            if field.endswith("_"):
                # RFC 8428 section 4.4: fields ending in "_" must be understood, or the pack rejected.
                raise DecodeError(f"record {index}: must-understand field {field!r} is not supported")
    if "bver" not in record:
        return
    version = record["bver"]
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise DecodeError(f"record {index}.bver: expected an integer version")
    if isinstance(version, int) and version > _SUPPORTED_VERSION:
        raise DecodeError(f"record {index}.bver: version {version} is newer than the supported {_SUPPORTED_VERSION}")


# The record's index, not its "record {index}" text, is passed below: the text is only needed for an error.


def _text(record: dict[str, Any], field: str, index: int) -> str:
    value = record[field]
    if not isinstance(value, str):
        raise DecodeError(f"record {index}.{field}: expected a string, got {type_name(value)}")
    return value


def _number(record: dict[str, Any], field: str, index: int) -> float:
    value = record[field]
    if type(value) is float:  # the common case: no bool or int test needed
        if math.isfinite(value):
            return value
    elif not isinstance(value, bool) and isinstance(value, int):
        return float(value)
    raise DecodeError(f"record {index}.{field}: expected a number, got {type_name(value)}")


def _resolve_time(seconds: float, received_ns: int, index: int) -> int | None:
    if not abs(seconds) < _MAX_SECONDS:
        # bt + t can overflow to infinity, and ns beyond int64 fit no time store.
        raise DecodeError(f"record {index}: time {seconds:g} s (bt + t) is out of range")
    if seconds == 0.0:
        return None  # no time in the pack: the normaliser falls back to the receive time
    if seconds < _RELATIVE_LIMIT:
        return received_ns + epoch_to_ns(seconds)
    return epoch_to_ns(seconds)


def _locate(
    observations: list[RawObservation], positions: dict[tuple[str | None, RawTime | None], dict[str, float]]
) -> list[RawObservation]:
    if not positions:
        return observations
    located = []
    for observation in observations:
        position = positions.get((observation.device, observation.time), {})
        if "lat" in position and "lon" in position:
            observation = observation._replace(lat=position["lat"], lon=position["lon"])
        located.append(observation)
    return located


# A device's records repeat the same names in every pack.
@lru_cache(maxsize=4096)
def _split_name(base_name: str, name: str, has_own_name: bool) -> tuple[str | None, str | None]:
    """Device and measurement key of a resolved name; a key of None means "the unit says".

    The base name names the device (``urn:dev:ow:10e2...:``) and ``n`` the measurement.
    A record with no ``n`` of its own, or whose name is a whole device URN, measures
    what its unit says (RFC 8428 section 5.1.3 uses ``%RH`` that way).
    """
    if not has_own_name or _DEVICE_URN.match(name):
        return name.rstrip(_DEVICE_SEPARATORS) or None, None
    if base_name and len(name) > len(base_name):
        return base_name.rstrip(_DEVICE_SEPARATORS) or None, name[len(base_name) :]
    cut = max(name.rfind(separator) for separator in _DEVICE_SEPARATORS)
    if 0 < cut < len(name) - 1:
        return name[:cut], name[cut + 1 :]
    return None, name


CODEC = SenmlCodec()
