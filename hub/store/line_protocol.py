"""InfluxDB line protocol, escaped so that no tag or measurement can inject a point.

Measurement = quantity; tags city, device, lab (sorted by key, as InfluxData advises);
field ``value`` always a float (a field type conflict rejects the whole batch); ns time.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from core.model import Reading

# Line protocol can't carry a line break, and InfluxDB versions disagree on whether "\\"
# is an escaped backslash (1.x keeps both and then misreads a trailing one as escaping the
# next separator). So a backslash can't be stored portably: it becomes "/", and line
# breaks and tabs become the two characters "\n", "\r", "\t". The normaliser rejects device
# ids with either, so this is a last guard, never a silent rewrite of accepted data.
_CONTROL = {"\\": "/", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_TAG_ESCAPES = str.maketrans({**_CONTROL, ",": "\\,", "=": "\\=", " ": "\\ "})
_MEASUREMENT_ESCAPES = str.maketrans({**_CONTROL, ",": "\\,", " ": "\\ "})


def escape_tag(text: str) -> str:
    return text.translate(_TAG_ESCAPES)


def escape_measurement(text: str) -> str:
    return text.translate(_MEASUREMENT_ESCAPES)


def format_float(value: float) -> str:
    # repr keeps every digit and always has a "." or exponent: never an integer field.
    return repr(float(value))


@lru_cache(maxsize=65536)
def _series(quantity: str, city: str, device: str, lab: str) -> str:
    # Escaping is most of the cost of a line, and a device's series repeat endlessly.
    return f"{escape_measurement(quantity)},city={escape_tag(city)},device={escape_tag(device)},lab={escape_tag(lab)}"


# What a line holds besides its value and time, by series and position: the series key with " value=" after
# it, and the location fields with the space before the time. A device's readings repeat these endlessly, so
# a line costs a dictionary lookup, the value's repr and one join (about half of building it anew). Series are
# the devices' ids, so the memo is bounded (a few MB) and starts over when full.
_LinePartsKey = tuple[str, str | None, str, str | None, float | None, float | None]
_line_parts: dict[_LinePartsKey, tuple[str, str]] = {}
_LINE_PARTS_LIMIT = 65536


def reading_to_line(reading: Reading) -> str:
    key = (reading.quantity, reading.city, reading.device, reading.lab, reading.lat, reading.lon)
    parts = _line_parts.get(key)
    if parts is None:
        parts = _new_line_parts(key)
    return f"{parts[0]}{float(reading.value)!r}{parts[1]}{reading.time_ns}"  # format_float, inlined


def readings_to_lines(readings: Iterable[Reading]) -> list[str]:
    """``reading_to_line`` for each reading; a message's readings mostly share one time, written once."""
    lines: list[str] = []
    last_time: int | None = None
    time_text = ""
    for reading in readings:
        key = (reading.quantity, reading.city, reading.device, reading.lab, reading.lat, reading.lon)
        parts = _line_parts.get(key)
        if parts is None:
            parts = _new_line_parts(key)
        if reading.time_ns != last_time:
            last_time = reading.time_ns
            time_text = str(last_time)
        lines.append(f"{parts[0]}{float(reading.value)!r}{parts[1]}{time_text}")
    return lines


def _new_line_parts(key: _LinePartsKey) -> tuple[str, str]:
    quantity, city, device, lab, lat, lon = key
    head = _series(quantity, city or "unknown", device, lab or "unknown") + " value="
    tail = f",lat={format_float(lat)},lon={format_float(lon)} " if lat is not None and lon is not None else " "
    if len(_line_parts) >= _LINE_PARTS_LIMIT:
        _line_parts.clear()
    _line_parts[key] = (head, tail)
    return head, tail


def stats_line(measurement: str, tags: dict[str, str], fields: dict[str, float], time_ns: int) -> str:
    tag_text = "".join(f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v)
    field_text = ",".join(f"{escape_tag(k)}={format_float(v)}" for k, v in sorted(fields.items()))
    return f"{escape_measurement(measurement)}{tag_text} {field_text} {time_ns}"
