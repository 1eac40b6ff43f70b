"""FIWARE IoT Agent JSON: a flat object or an array of them on ``/json/{apikey}/{device}/attrs``."""

from __future__ import annotations

from typing import Any

from adapters._fiware import TIME_ATTRIBUTE, parse_topic, split_unit
from adapters._json import epoch_or_text_time, load_json, type_name
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation, RawTime

# Single-measure arrays carry their own time under this lower-case key (IoT Agent JSON manual).
_SINGLE_TIME = "timestamp"


class FiwareJsonCodec(Codec):
    name = "fiware-json"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        topic = parse_topic(context.topic)
        document = load_json(payload, "measure")
        if topic.attribute is not None:
            observations = _single(document, topic.attribute)
        else:
            groups = document if isinstance(document, list) else [document]
            if not groups:
                raise DecodeError("measure: empty array (expected measure objects)")
            observations = []
            for index, group in enumerate(groups):
                where = f"measure[{index}]" if isinstance(document, list) else "measure"
                observations.extend(_group(group, where))
        return DecodedMessage(observations=tuple(observations), device=topic.device)


def _group(group: Any, where: str) -> list[RawObservation]:
    if not isinstance(group, dict):
        raise DecodeError(f"{where}: expected an object of attribute values, got {type_name(group)}")
    if not group:
        raise DecodeError(f"{where}: empty object (no attributes)")
    time: RawTime | None = None
    if group.get(TIME_ATTRIBUTE) is not None:
        time = epoch_or_text_time(group[TIME_ATTRIBUTE], f"{where}.{TIME_ATTRIBUTE}")
    observations = []
    for key, value in group.items():
        if key == TIME_ATTRIBUTE:
            continue  # a null measure goes on: the normaliser dead-letters it if the key is mapped
        observations.append(_observation(key, value, time))
    return observations


def _single(document: Any, attribute: str) -> list[RawObservation]:
    """…/attrs/{attribute}: a bare value, or an array of ``{"timestamp", "value"}`` entries."""
    if isinstance(document, dict | list):
        entries = document if isinstance(document, list) else [document]
        if not entries:
            raise DecodeError(f"measure of {attribute!r}: empty array")
        observations = []
        for index, entry in enumerate(entries):
            where = f"measure of {attribute!r}[{index}]"
            if not isinstance(entry, dict) or "value" not in entry:
                raise DecodeError(f"{where}: expected a {{'timestamp', 'value'}} object, got {type_name(entry)}")
            time = None
            if entry.get(_SINGLE_TIME) is not None:
                time = epoch_or_text_time(entry[_SINGLE_TIME], f"{where}.{_SINGLE_TIME}")
            observations.append(_observation(attribute, entry["value"], time))
        return observations
    if document is None:
        raise DecodeError(f"measure of {attribute!r}: null")
    return [_observation(attribute, document, None)]


def _observation(key: str, value: Any, time: RawTime | None) -> RawObservation:
    if isinstance(value, str):
        text, unit = split_unit(value)
        return RawObservation(key=key, value=text, unit=unit, time=time)
    return RawObservation(key=key, value=value, time=time)


CODEC = FiwareJsonCodec()
