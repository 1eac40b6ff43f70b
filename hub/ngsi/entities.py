"""Hub readings as NGSI-LD entities typed by Smart Data Models: pure functions, no I/O.

An entity is one device seen through one entity type: ``urn:ngsi-ld:<Type>:<city>:<lab>:<device>``.
City and lab are slugs; the device id is free text, so it is percent-encoded where a URN can't
carry it as is (RFC 8141: ``/``, ``?``, ``#``, ``%``, spaces, non-ASCII …).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, unquote

from core.names import is_slug, is_storable_device_id
from core.timeutil import NS_PER_S, ns_to_rfc3339
from hub.ngsi.mapping import AttributeMap, EntityType, SdmMapping

URN_PREFIX = "urn:ngsi-ld:"
# RFC 8141 NSS characters kept as they are (unreserved, sub-delims, ":" and "@"); the rest is %-encoded.
_URN_SAFE = "-._~!$&'()*+,;=:@"
NS_PER_HOUR = 3600 * NS_PER_S

Representation = Literal["normalized", "concise", "keyValues"]


@dataclass(frozen=True, slots=True, order=True)
class DeviceKey:
    city: str
    lab: str
    device: str


@dataclass(frozen=True, slots=True)
class Observation:
    """One value of one quantity: the latest reading, or one instance of a temporal query."""

    time_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class Place:
    """What an entity says about where it is and who provides it."""

    lat: float
    lon: float
    city_name: str
    country: str
    lab_name: str


@dataclass(slots=True)
class EntityState:
    """A device seen through one entity type: its latest value per attribute."""

    entity_type: EntityType
    key: DeviceKey
    place: Place
    latest: dict[str, tuple[AttributeMap, Observation]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return entity_id(self.entity_type.name, self.key)


def entity_id(entity_type: str, key: DeviceKey) -> str:
    return f"{URN_PREFIX}{entity_type}:{key.city}:{key.lab}:{quote(key.device, safe=_URN_SAFE)}"


def parse_entity_id(text: str) -> tuple[str, DeviceKey] | None:
    """``urn:ngsi-ld:<Type>:<city>:<lab>:<device>`` -> (type, key); None for any other id."""
    if not text.startswith(URN_PREFIX):
        return None
    parts = text[len(URN_PREFIX) :].split(":", 3)
    if len(parts) != 4:
        return None
    entity_type, city, lab, encoded = parts
    try:
        device = unquote(encoded, errors="strict") if "%" in encoded else encoded
    except UnicodeDecodeError:
        return None
    if not (entity_type and is_slug(city) and is_slug(lab) and is_storable_device_id(device)):
        return None
    if entity_id(entity_type, DeviceKey(city, lab, device)) != text:
        return None  # not the hub's own spelling of that id (e.g. an encoded character that needn't be)
    return entity_type, DeviceKey(city, lab, device)


def group_entities(
    mapping: SdmMapping,
    latest: Iterable[tuple[DeviceKey, str, Observation]],
    places: dict[DeviceKey, Place],
) -> list[EntityState]:
    """(device, quantity, latest value) triples -> one state per device and entity type, sorted by id."""
    states: dict[tuple[str, DeviceKey], EntityState] = {}
    for key, quantity, observation in latest:
        mapped = mapping.by_quantity.get(quantity)
        place = places.get(key)
        if mapped is None or place is None:
            continue
        state_key = (mapped.entity_type.name, key)
        state = states.get(state_key)
        if state is None:
            state = states[state_key] = EntityState(mapped.entity_type, key, place)
        state.latest[mapped.attribute] = (mapped, observation)
    return sorted(states.values(), key=lambda s: s.id)


def _time(time_ns: int) -> str:
    return ns_to_rfc3339(time_ns)


def _base(state: EntityState, observed_ns: int, representation: Representation) -> dict[str, Any]:
    place = state.place
    geometry = {"type": "Point", "coordinates": [place.lon, place.lat]}
    address = {"addressLocality": place.city_name, "addressCountry": place.country}
    members: dict[str, Any] = {
        "dateObserved": _time(observed_ns),
        "location": geometry,
        "address": address,
        "dataProvider": place.lab_name,
        "name": state.key.device,
    }
    period = state.entity_type.period
    if period is not None:
        start = observed_ns - (NS_PER_HOUR if period == "hour" else 0)
        members["dateObservedFrom"] = _time(start)
        members["dateObservedTo"] = _time(observed_ns)
    entity: dict[str, Any] = {"id": state.id, "type": state.entity_type.name}
    for name, value in members.items():
        if representation == "keyValues":
            entity[name] = value
        elif name == "location":
            entity[name] = {"type": "GeoProperty", "value": value} if representation == "normalized" else value
        elif representation == "normalized":
            entity[name] = {"type": "Property", "value": value}
        else:  # concise: a bare value, but a structured one keeps "value" so it can't read as sub-attributes
            entity[name] = {"value": value} if isinstance(value, dict) else value
    return entity


def render_entity(state: EntityState, representation: Representation, attrs: set[str] | None = None) -> dict[str, Any]:
    """The entity in one NGSI-LD representation; ``attrs`` limits the attributes (None: all)."""
    observed = max(obs.time_ns for _m, obs in state.latest.values())
    entity = _base(state, observed, representation)
    for attribute in sorted(state.latest):
        mapped, observation = state.latest[attribute]
        value = mapped.from_canonical(observation.value)
        if representation == "keyValues":
            entity[attribute] = value
            continue
        member: dict[str, Any] = {
            "value": value,
            "observedAt": _time(observation.time_ns),
            "unitCode": mapped.unit_code,
        }
        if representation == "normalized":
            member = {"type": "Property", **member}
        entity[attribute] = member
    if attrs is not None:
        entity = {name: member for name, member in entity.items() if name in ("id", "type") or name in attrs}
    return entity


def render_temporal(
    state: EntityState,
    series: dict[str, list[Observation]],
    representation: Literal["normalized", "temporalValues"],
) -> dict[str, Any]:
    """A temporal entity: every instance of each attribute in ``series`` (attribute -> instances)."""
    entity: dict[str, Any] = {"id": state.id, "type": state.entity_type.name}
    for attribute in sorted(series):
        mapped = _attribute_map(state, attribute)
        instances = series[attribute]
        if representation == "temporalValues":
            entity[attribute] = {
                "type": "Property",
                "values": [[mapped.from_canonical(o.value), _time(o.time_ns)] for o in instances],
            }
        else:
            entity[attribute] = [
                {
                    "type": "Property",
                    "value": mapped.from_canonical(o.value),
                    "observedAt": _time(o.time_ns),
                    "unitCode": mapped.unit_code,
                }
                for o in instances
            ]
    return entity


@dataclass(frozen=True, slots=True)
class Bucket:
    start_ns: int
    end_ns: int
    values: dict[str, float]  # NGSI-LD method name (avg, min, max, …) -> value in the canonical unit


def render_aggregated(state: EntityState, series: dict[str, list[Bucket]], methods: list[str]) -> dict[str, Any]:
    """``aggregatedValues``: per attribute and method, ``[[value, startAt, endAt], …]``."""
    entity: dict[str, Any] = {"id": state.id, "type": state.entity_type.name}
    for attribute in sorted(series):
        mapped = _attribute_map(state, attribute)
        member: dict[str, Any] = {"type": "Property"}
        for method in methods:
            member[method] = [
                [_aggregate_value(mapped, method, b.values[method]), _time(b.start_ns), _time(b.end_ns)]
                for b in series[attribute]
                if method in b.values
            ]
        entity[attribute] = member
    return entity


# Counts are counts; every other method is a value of the attribute and takes its unit.
_COUNTS = {"totalCount", "distinctCount"}


def _aggregate_value(mapped: AttributeMap, method: str, value: float) -> float | int:
    if method in _COUNTS:
        return int(value)
    if method in ("stddev",):
        return mapped.from_canonical(value) - mapped.from_canonical(0.0)
    return mapped.from_canonical(value)


def _attribute_map(state: EntityState, attribute: str) -> AttributeMap:
    found = state.latest.get(attribute)
    if found is None:
        raise KeyError(f"{state.id} has no attribute {attribute}")
    return found[0]


def geojson_feature(entity: dict[str, Any]) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (``Accept: application/geo+json``)."""
    location = entity.get("location")
    geometry = location.get("value", location) if isinstance(location, dict) else None
    properties = {name: member for name, member in entity.items() if name != "id"}
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}
