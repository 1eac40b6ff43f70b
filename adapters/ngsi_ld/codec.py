"""NGSI-LD: notifications, single entities or arrays of entities, normalized, concise or keyValues.

Works with Smart Data Models such as AirQualityObserved, WeatherObserved,
NoiseLevelObserved and TrafficFlowObserved: ``unitCode`` and ``observedAt`` are
honoured, and the entity's ``dateObserved`` (or ``dateObservedTo``) is the
measurement time of attributes that carry none.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from pydantic import BaseModel, ConfigDict

from adapters._json import MAX_DEPTH, load_json, type_name
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation, RawTime, new_tuple
from core.timeutil import TimeFormatError, parse_iso_ns

# Entity members that are never measurements.
_RESERVED = {
    "id",
    "type",
    "@context",
    "location",
    "observationSpace",
    "operationSpace",
    "scope",
    "dateObserved",
    "dateObservedFrom",
    "dateObservedTo",
    "dateCreated",
    "dateModified",
    "createdAt",
    "modifiedAt",
    "refDevice",
    "refPointOfInterest",
    "address",
    "name",
    "source",
    "dataProvider",
}


# Attribute types that hold no measured value.
_NOT_VALUES = ("Relationship", "GeoProperty", "LanguageProperty")

# Attributes that count what passed during dateObservedFrom..dateObservedTo (TrafficFlowObserved.intensity,
# CrowdFlowObserved.peopleCount): the codec divides by the period, as the unit of the rate is per hour.
_COUNTS_OVER_THE_PERIOD = frozenset({"intensity", "peopleCount"})


class NgsiLdOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Which member names the device: ``refDevice`` when present, else the entity id.
    device_attribute: str = "refDevice"


class NgsiLdCodec(Codec):
    name = "ngsi-ld"
    options_model = NgsiLdOptions

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        document = load_json(payload, "NGSI-LD document")
        options = context.options if isinstance(context.options, NgsiLdOptions) else NgsiLdOptions()
        notified_at: str | None = None
        if isinstance(document, dict) and document.get("type") == "Notification":
            notified = document.get("notifiedAt")
            notified_at = notified if isinstance(notified, str) else None
            entities = document.get("data")
            if isinstance(entities, dict) and entities.get("type") == "FeatureCollection":
                entities = [
                    feature.get("properties", feature)
                    for feature in entities.get("features", [])
                    if isinstance(feature, dict)
                ]
            where = "data"
        elif isinstance(document, list):
            entities, where = document, "entities"
        else:
            entities, where = [document], "entity"
        if not isinstance(entities, list) or not entities:
            raise DecodeError(f"{where}: expected a non-empty array of entities, got {type_name(entities)}")
        observations: list[RawObservation] = []
        for index, entity in enumerate(entities):
            observations.extend(_entity_observations(entity, f"{where}[{index}]", options))
        # Every field, in order (observations, device, device_model, gateway_time, lat, lon, native).
        return new_tuple(DecodedMessage, (tuple(observations), None, None, notified_at, None, None, ()))


def _entity_observations(entity: Any, where: str, options: NgsiLdOptions) -> list[RawObservation]:
    if not isinstance(entity, dict):
        raise DecodeError(f"{where}: expected an entity object, got {type_name(entity)}")
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise DecodeError(f"{where}.id: missing entity id")
    entity_type = entity.get("type")
    # Smart Data Models name attributes per entity type: the type is the context the key is read in.
    context = entity_type if isinstance(entity_type, str) and entity_type else None
    device = _device(entity, entity_id, entity_type, options)
    entity_time = _entity_time(entity, where)
    lat, lon = _point(entity.get("location"), f"{where}.location")
    period = _period_hours(entity)
    observations = []
    for attribute, member in entity.items():
        if attribute in _RESERVED or attribute.startswith("@"):
            continue
        value, unit, observed_at = _property(member)
        if value is None:
            continue
        if attribute in _COUNTS_OVER_THE_PERIOD and period and unit is None and _is_number(value):
            # Smart Data Models count vehicles (people) over the observation period; the hub stores a rate.
            value, unit = value / period, "1/h"
        # Every field, in order (key, value, unit, time, device, lat, lon, context, element, definition), through
        # new_tuple: a NamedTuple's eight keywords cost twice its construction, 0.5 µs an attribute.
        observations.append(
            new_tuple(
                RawObservation,
                (attribute, value, unit, observed_at or entity_time, device, lat, lon, context, (), None),
            )
        )
    return observations


def _property(member: Any) -> tuple[object | None, str | None, str | None]:
    """Value, unitCode and observedAt of a normalized, concise or keyValues attribute."""
    if isinstance(member, dict):
        if member.get("type") in _NOT_VALUES or "object" in member:
            return None, None, None
        value = member["value"] if "value" in member else member.get("@value")
        if isinstance(value, dict | list) or value is None:
            return None, None, None
        unit = member.get("unitCode")
        observed_at = member.get("observedAt")
        return (value, unit if isinstance(unit, str) else None, observed_at if isinstance(observed_at, str) else None)
    if isinstance(member, bool) or not isinstance(member, int | float | str):
        return None, None, None
    return member, None, None


def _text_value(member: Any) -> str | None:
    """A date or id in any of the forms NGSI-LD uses: plain, Property, or JSON-LD typed literal."""
    depth = 0
    while isinstance(member, dict) and depth < MAX_DEPTH:
        member = member.get("value", member.get("@value", member.get("object")))
        depth += 1
    return member if isinstance(member, str) else None


def _entity_time(entity: dict[str, Any], where: str) -> RawTime | None:
    for member in ("dateObserved", "dateObservedTo", "dateObservedFrom"):
        text = _text_value(entity.get(member))
        if text is None:
            continue
        if "/" in text:
            text = text.split("/", 1)[1]  # an ISO 8601 interval: the observation ends at its end
        return text
    return None


def _period_hours(entity: dict[str, Any]) -> float | None:
    if "dateObservedFrom" not in entity:
        return None
    start, end = _text_value(entity.get("dateObservedFrom")), _text_value(entity.get("dateObservedTo"))
    if start is None or end is None:
        return None
    try:
        seconds = (parse_iso_ns(end, None) - parse_iso_ns(start, None)) / 1e9
    except TimeFormatError:
        return None
    return seconds / 3600 if seconds > 0 else None


def _device(entity: dict[str, Any], entity_id: str, entity_type: Any, options: NgsiLdOptions) -> str:
    named = _text_value(entity.get(options.device_attribute))
    device = named or entity_id
    if not device.startswith("urn:ngsi-ld:"):
        return device  # none of the prefixes below
    for prefix in (f"urn:ngsi-ld:{entity_type}:", "urn:ngsi-ld:Device:", "urn:ngsi-ld:"):
        if device.startswith(prefix) and len(device) > len(prefix):
            return device[len(prefix) :]
    return device


def _point(location: Any, where: str) -> tuple[float | None, float | None]:
    """A representative point of a GeoJSON geometry: the point itself, or the mean of a line's vertices."""
    geometry = location.get("value", location) if isinstance(location, dict) else None
    if not isinstance(geometry, dict):
        return None, None
    coordinates = geometry.get("coordinates")
    kind = geometry.get("type")
    points: list[Any]
    if kind == "Point" and type(coordinates) is list and len(coordinates) >= 2:
        # The common case, read directly: what the general path below gives for one point.
        try:
            # "0 +", as the sum() below does: -0.0 becomes 0.0 there too.
            lon, lat = 0 + float(coordinates[0]), 0 + float(coordinates[1])
        except (TypeError, ValueError):
            raise DecodeError(f"{where}: coordinates are not [lon, lat] numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise DecodeError(f"{where}: [{lon:g}, {lat:g}] is not a [lon, lat] position")
        return lat, lon
    if kind == "Point":
        points = [coordinates]
    elif kind in ("LineString", "MultiPoint") and isinstance(coordinates, list):
        points = coordinates
    elif kind == "Polygon" and isinstance(coordinates, list) and coordinates:
        points = coordinates[0]
    else:
        return None, None
    try:
        lons = [float(point[0]) for point in points]
        lats = [float(point[1]) for point in points]
    except (TypeError, ValueError, IndexError, KeyError):  # KeyError: a point that is an object, not a pair
        raise DecodeError(f"{where}: coordinates are not [lon, lat] numbers") from None
    if not lons:
        return None, None
    lat, lon = sum(lats) / len(lats), sum(lons) / len(lons)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN and the infinity "1E310" becomes
        raise DecodeError(f"{where}: [{lon:g}, {lat:g}] is not a [lon, lat] position")
    return lat, lon


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


CODEC = NgsiLdCodec()
