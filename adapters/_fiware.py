"""What the FIWARE IoT Agent codecs (UltraLight 2.0 and JSON) share: topic layout and measure values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.codec import DecodeError

MEASURE_LEVEL = "attrs"
# The IoT Agents stamp a measure group with this attribute when the device sends its own time.
TIME_ATTRIBUTE = "TimeInstant"
# "45%" or "21.5 Cel": a number with its unit written after it (the IoT Agent JSON manual shows "45%").
_NUMBER_WITH_UNIT = re.compile(
    r"^\s*(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[%°µμA-Za-z][^\s]*)?\s*$"
)


@dataclass(frozen=True, slots=True)
class MeasureTopic:
    """``[/][ul|json/]{apikey}/{device}/attrs[/{attribute}]``; empty when no topic is known."""

    device: str | None = None
    # Set on single-measure topics: the payload is this one attribute's value.
    attribute: str | None = None


def parse_topic(topic: str) -> MeasureTopic:
    if not topic:
        return MeasureTopic()
    levels = topic.split("/")
    for index in range(len(levels) - 1, 1, -1):
        if levels[index] != MEASURE_LEVEL:
            continue
        rest = levels[index + 1 :]
        if len(rest) > 1 or (rest and not rest[0]):
            break
        device = levels[index - 1]
        if not device:
            break
        return MeasureTopic(device=device, attribute=rest[0] if rest else None)
    raise DecodeError(
        f"topic {topic!r}: not an IoT Agent measure topic (…/{{apikey}}/{{device}}/attrs[/{{attribute}}])"
    )


def split_unit(value: str) -> tuple[str, str | None]:
    """``"45%"`` -> ``("45", "%")``; text that isn't a number followed by a unit is returned whole."""
    match = _NUMBER_WITH_UNIT.match(value)
    if match is None or match["unit"] is None:
        return value, None
    return match["number"], match["unit"]
