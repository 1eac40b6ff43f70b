"""FIWARE IoT Agent UltraLight 2.0: ``k|v|k|v`` measures on ``/ul/{apikey}/{device}/attrs``."""

from __future__ import annotations

import re

from adapters._fiware import TIME_ATTRIBUTE, parse_topic, split_unit
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation

# A group may start with its own time: "2016-06-13T00:35:30Z|lle|100" (the IoT Agent's ulParser).
_LEADING_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_PREVIEW = 32


class FiwareUlCodec(Codec):
    name = "fiware-ul"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        topic = parse_topic(context.topic)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"payload: not UTF-8 text (byte {exc.start})") from None
        text = text.strip()
        if not text:
            raise DecodeError("payload: empty (expected k|v pairs)")
        if topic.attribute is not None:
            # Single-measure topic …/attrs/{attribute}: the payload is the bare value.
            value, unit = split_unit(text)
            observation = RawObservation(key=topic.attribute, value=value, unit=unit)
            return DecodedMessage(observations=(observation,), device=topic.device)
        observations: list[RawObservation] = []
        for index, group in enumerate(text.split("#")):
            observations.extend(_group(group, f"group {index}"))
        return DecodedMessage(observations=tuple(observations), device=topic.device)


def _group(group: str, where: str) -> list[RawObservation]:
    fields = [field.strip() for field in group.split("|")]
    if fields == [""]:
        raise DecodeError(f"{where}: empty (a stray '#'?)")
    time: str | None = None
    if len(fields) % 2 == 1:
        if not _LEADING_TIME.match(fields[0]):
            raise DecodeError(
                f"{where}: {len(fields)} fields where k|v pairs (optionally after a timestamp) were expected, "
                f"starting {fields[0][:_PREVIEW]!r}"
            )
        time, fields = fields[0], fields[1:]
    pairs = [(fields[i], fields[i + 1]) for i in range(0, len(fields), 2)]
    observations = []
    for number, (key, value) in enumerate(pairs):
        if not key:
            raise DecodeError(f"{where}, pair {number}: empty attribute name")
        if not value:
            raise DecodeError(f"{where}, pair {number} ({key[:_PREVIEW]!r}): empty value (truncated message?)")
        if key == TIME_ATTRIBUTE:
            time = value
            continue
        text, unit = split_unit(value)
        observations.append(RawObservation(key=key, value=text, unit=unit))
    return [
        RawObservation(key=o.key, value=o.value, unit=o.unit, time=time) if time is not None else o
        for o in observations
    ]


CODEC = FiwareUlCodec()
