"""What the NGSI-LD endpoints do, between validated parameters and InfluxDB: select and build entities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from re import Pattern

from hub.labs import LabConfig
from hub.ngsi import data
from hub.ngsi.entities import Bucket, DeviceKey, EntityState, Observation, Place, group_entities, render_entity
from hub.ngsi.mapping import SdmMapping
from hub.ngsi.query import GeoQuery, Query
from hub.read import TimeRange
from hub.store.influxql import InfluxQLClient


@dataclass(frozen=True, slots=True)
class Selection:
    """Which entities a query asks for; every member is already validated."""

    types: list[str] | None = None
    ids: list[str] | None = None
    id_pattern: Pattern[str] | None = None
    attrs: list[str] | None = None
    q: Query | None = None
    geo: GeoQuery | None = None
    keys: list[tuple[str, DeviceKey]] = field(default_factory=list)  # parsed hub ids, when ids were given


def places(labs: dict[str, LabConfig], positions: dict[DeviceKey, tuple[float, float]]) -> dict[DeviceKey, Place]:
    """Where each device is (its last reported position, else its lab's) and who provides it."""
    found: dict[DeviceKey, Place] = {}
    for key, (lat, lon) in positions.items():
        lab = labs.get(key.lab)
        if lab is not None:
            found[key] = Place(lat, lon, lab.city_name, lab.country, lab.name)
    return found


def _quantities(mapping: SdmMapping, selection: Selection) -> list[str]:
    types = set(selection.types) if selection.types is not None else None
    if selection.keys:
        id_types = {t for t, _k in selection.keys}
        types = id_types if types is None else types & id_types
    return [
        quantity
        for quantity, mapped in mapping.by_quantity.items()
        if types is None or mapped.entity_type.name in types
    ]


def select_entities(
    client: InfluxQLClient, labs: dict[str, LabConfig], mapping: SdmMapping, selection: Selection
) -> list[EntityState]:
    """Every entity the selection matches, sorted by id (filters on the latest values)."""
    quantities = _quantities(mapping, selection)
    if not quantities or (selection.ids is not None and not selection.keys):
        return []
    filters = data.narrowest_filters(k for _t, k in selection.keys)
    latest = [row for row in data.latest(client, quantities, filters) if row[0].lab in labs]
    positions = data.positions(client, quantities, filters, latest)
    for key, _quantity, _obs in latest:
        if key not in positions:
            lab = labs[key.lab]
            positions[key] = (lab.location.lat, lab.location.lon)
    states = group_entities(mapping, latest, places(labs, positions))
    wanted_ids = set(selection.ids) if selection.ids is not None else None
    attrs = set(selection.attrs) if selection.attrs is not None else None
    result = []
    for state in states:
        if wanted_ids is not None and state.id not in wanted_ids:
            continue
        if selection.id_pattern is not None and selection.id_pattern.search(state.id) is None:
            continue
        if attrs is not None and not attrs & set(state.latest):
            continue
        if selection.geo is not None and not selection.geo.matches(state.place.lat, state.place.lon):
            continue
        if selection.q is not None and not selection.q.predicate(render_entity(state, "normalized")):
            continue
        result.append(state)
    return result


@dataclass(slots=True)
class TemporalResult:
    series: dict[str, dict[str, list[Observation]]]  # entity id -> attribute -> instances
    truncated: bool


def temporal_instances(
    client: InfluxQLClient,
    states: Sequence[EntityState],
    attrs: set[str] | None,
    span: TimeRange,
    *,
    last_n: int | None,
    max_instances: int,
    max_total: int,
) -> TemporalResult:
    """Readings in ``span`` per entity and attribute: the last ``last_n``, else the first ``max_instances``."""
    by_quantity: dict[str, list[EntityState]] = {}
    for state in states:
        for attribute, (mapped, _obs) in state.latest.items():
            if attrs is None or attribute in attrs:
                by_quantity.setdefault(mapped.quantity, []).append(state)
    result = TemporalResult({state.id: {} for state in states}, truncated=False)
    total = 0
    limit = last_n if last_n is not None else max_instances + 1
    for quantity, holders in sorted(by_quantity.items()):
        for start in range(0, len(holders), data.MAX_KEYS_PER_QUERY):
            chunk = holders[start : start + data.MAX_KEYS_PER_QUERY]
            found = data.instances(
                client, quantity, [s.key for s in chunk], span, limit, newest_first=last_n is not None
            )
            for state in chunk:
                rows = found.get(state.key, [])
                if len(rows) > max_instances:
                    rows = rows[:max_instances]
                    result.truncated = True
                if total + len(rows) > max_total:
                    rows = rows[: max(0, max_total - total)]
                    result.truncated = True
                total += len(rows)
                if rows:
                    attribute = next(a for a, (m, _o) in state.latest.items() if m.quantity == quantity)
                    result.series[state.id][attribute] = rows
    return result


def temporal_aggregates(
    client: InfluxQLClient,
    states: Sequence[EntityState],
    attrs: set[str] | None,
    span: TimeRange,
    aggregation: data.Aggregation,
) -> dict[str, dict[str, list[Bucket]]]:
    """Per entity and attribute, the aggregation's periods in ``span`` (empty periods left out)."""
    result: dict[str, dict[str, list[Bucket]]] = {state.id: {} for state in states}
    by_quantity: dict[str, list[EntityState]] = {}
    for state in states:
        for attribute, (mapped, _obs) in state.latest.items():
            if attrs is None or attribute in attrs:
                by_quantity.setdefault(mapped.quantity, []).append(state)
    for quantity, holders in sorted(by_quantity.items()):
        for start in range(0, len(holders), data.MAX_KEYS_PER_QUERY):
            chunk = holders[start : start + data.MAX_KEYS_PER_QUERY]
            found = data.aggregates(client, quantity, [s.key for s in chunk], span, aggregation)
            for state in chunk:
                buckets = found.get(state.key)
                if buckets:
                    attribute = next(a for a, (m, _o) in state.latest.items() if m.quantity == quantity)
                    result[state.id][attribute] = buckets
    return result
