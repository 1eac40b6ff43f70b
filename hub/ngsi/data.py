"""Every InfluxDB read of the NGSI-LD API, the open-data export and the forwarder's tests: one module.

It calls the JSON API's query functions (``hub.api.queries``) or builds InfluxQL the same
injection-proof way: measurement names from the vocabulary (a closed set), functions from a closed
table, times and intervals as integers, and every city, lab and device bound through ``params``.
When the read layer moves to ``hub/read/``, only the imports of this module change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.ngsi.entities import Bucket, DeviceKey, Observation
from hub.ngsi.query import AGGREGATES
from hub.read import Filters, TimeRange, fetch_raw, stream_raw
from hub.read.rows import fetch_device_locations, fetch_device_series, run
from hub.read.statements import quote_ident
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import load_vocabulary

# At most this many devices in one OR-ed tag clause (each is three bound parameters).
MAX_KEYS_PER_QUERY = 100


def _measurement(quantity: str) -> str:
    if quantity not in load_vocabulary().quantities:
        raise ValueError(f"{quantity!r} is not a quantity")  # never user text: callers pass mapped names
    return quote_ident(quantity)


def narrowest_filters(keys: Iterable[DeviceKey]) -> Filters:
    """Tag filters every key satisfies: exact where all keys agree, open where they differ."""
    keys = list(keys)
    if not keys:
        return Filters()
    cities = {k.city for k in keys}
    labs = {k.lab for k in keys}
    devices = {k.device for k in keys}
    return Filters(
        city=next(iter(cities)) if len(cities) == 1 else None,
        lab=next(iter(labs)) if len(labs) == 1 else None,
        device=next(iter(devices)) if len(devices) == 1 else None,
    )


def latest(
    client: InfluxQLClient, quantities: Sequence[str], filters: Filters
) -> list[tuple[DeviceKey, str, Observation]]:
    """The newest reading of each quantity of each device."""
    for quantity in quantities:
        _measurement(quantity)
    return [
        (DeviceKey(s.city, s.lab, s.device), s.quantity, Observation(s.last_ns, s.last_value))
        for s in fetch_device_series(client, list(quantities), filters)
    ]


def positions(
    client: InfluxQLClient,
    quantities: Sequence[str],
    filters: Filters,
    latest_rows: Iterable[tuple[DeviceKey, str, Observation]],
) -> dict[DeviceKey, tuple[float, float]]:
    """The last position each device reported, taken from the quantity it reported last."""
    found = fetch_device_locations(client, list(quantities), filters)
    newest: dict[DeviceKey, tuple[int, str]] = {}
    for key, quantity, observation in latest_rows:
        if key not in newest or observation.time_ns > newest[key][0]:
            newest[key] = (observation.time_ns, quantity)
    result: dict[DeviceKey, tuple[float, float]] = {}
    for key, (_time, quantity) in newest.items():
        location = found.get((quantity, key.city, key.lab, key.device))
        if location is None:  # that quantity's last point had no position: any other one will do
            location = next(
                (loc for (q, c, lab, d), loc in found.items() if (c, lab, d) == (key.city, key.lab, key.device)), None
            )
        if location is not None:
            result[key] = (location.lat, location.lon)
    return result


def _keys_clause(keys: Sequence[DeviceKey]) -> tuple[str, dict[str, Any]]:
    if not keys or len(keys) > MAX_KEYS_PER_QUERY:
        raise ValueError(f"1..{MAX_KEYS_PER_QUERY} devices per query, got {len(keys)}")
    parts = []
    params: dict[str, Any] = {}
    for index, key in enumerate(keys):
        parts.append(f'("city" = $c{index} AND "lab" = $l{index} AND "device" = $d{index})')
        params.update({f"c{index}": key.city, f"l{index}": key.lab, f"d{index}": key.device})
    return "(" + " OR ".join(parts) + ")", params


def _key(tags: dict[str, str]) -> DeviceKey:
    return DeviceKey(tags.get("city", ""), tags.get("lab", ""), tags.get("device", ""))


def instances_statement(
    quantity: str, keys: Sequence[DeviceKey], span: TimeRange, limit: int, newest_first: bool
) -> tuple[str, dict[str, Any]]:
    clause, params = _keys_clause(keys)
    order = "DESC" if newest_first else "ASC"
    statement = (
        f'SELECT "value" FROM {_measurement(quantity)} WHERE {clause}'
        f" AND time >= {int(span.start_ns)} AND time < {int(span.end_ns)}"
        f' GROUP BY "city", "lab", "device" ORDER BY time {order} LIMIT {int(limit)}'
    )
    return statement, params


def instances(
    client: InfluxQLClient,
    quantity: str,
    keys: Sequence[DeviceKey],
    span: TimeRange,
    limit: int,
    *,
    newest_first: bool = False,
) -> dict[DeviceKey, list[Observation]]:
    """Up to ``limit`` readings per device (InfluxQL's LIMIT applies per series), oldest first in the result."""
    statement, params = instances_statement(quantity, keys, span, limit, newest_first)
    found: dict[DeviceKey, list[Observation]] = {}
    for series in run(client, (statement, params)):
        rows = [Observation(int(r["time"]), float(r["value"])) for r in series.records() if r.get("value") is not None]
        if newest_first:
            rows.reverse()
        found.setdefault(_key(series.tags), []).extend(rows)
    return found


@dataclass(frozen=True, slots=True)
class Aggregation:
    methods: list[str]  # NGSI-LD names, keys of query.AGGREGATES
    every_s: int | None  # None: the whole range is one period


def aggregates_statement(
    quantity: str, keys: Sequence[DeviceKey], span: TimeRange, aggregation: Aggregation
) -> tuple[str, dict[str, Any]]:
    clause, params = _keys_clause(keys)
    selects = ", ".join(f'{AGGREGATES[method]}("value") AS {quote_ident(method)}' for method in aggregation.methods)
    group = '"city", "lab", "device"'
    if aggregation.every_s is not None:
        # Periods start at the start of the range, not at the epoch: an offset in milliseconds.
        offset_ms = (span.start_ns // 1_000_000) % (aggregation.every_s * 1000)
        group = f"time({int(aggregation.every_s)}s, {int(offset_ms)}ms), {group} fill(none)"
    statement = (
        f"SELECT {selects} FROM {_measurement(quantity)} WHERE {clause}"
        f" AND time >= {int(span.start_ns)} AND time < {int(span.end_ns)} GROUP BY {group}"
    )
    return statement, params


def aggregates(
    client: InfluxQLClient, quantity: str, keys: Sequence[DeviceKey], span: TimeRange, aggregation: Aggregation
) -> dict[DeviceKey, list[Bucket]]:
    statement, params = aggregates_statement(quantity, keys, span, aggregation)
    every_ns = aggregation.every_s * 1_000_000_000 if aggregation.every_s is not None else None
    found: dict[DeviceKey, list[Bucket]] = {}
    for series in run(client, (statement, params)):
        buckets = found.setdefault(_key(series.tags), [])
        for record in series.records():
            values = {m: float(record[m]) for m in aggregation.methods if record.get(m) is not None}
            if not values:
                continue
            start = max(int(record["time"]), span.start_ns) if every_ns is not None else span.start_ns
            end = min(int(record["time"]) + every_ns, span.end_ns) if every_ns is not None else span.end_ns
            buckets.append(Bucket(start, end, values))
    return found


# --- open data ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayCount:
    quantity: str
    city: str
    lab: str
    day_ns: int  # 00:00 UTC of the day
    readings: int


def daily_counts(client: InfluxQLClient, quantities: Sequence[str], span: TimeRange) -> list[DayCount]:
    """How many readings each lab has per quantity and UTC day in ``span``."""
    if not quantities:
        return []
    sources = ", ".join(_measurement(q) for q in quantities)
    statement = (
        f'SELECT count("value") AS "count" FROM {sources} WHERE time >= {int(span.start_ns)}'
        f' AND time < {int(span.end_ns)} GROUP BY time(1d), "city", "lab" fill(none)'
    )
    return [
        DayCount(series.name, series.tags.get("city", ""), series.tags.get("lab", ""), int(r["time"]), int(r["count"]))
        for series in run(client, (statement, {}))
        for r in series.records()
        if r.get("count")
    ]


def city_positions(
    client: InfluxQLClient, quantities: Sequence[str]
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """The last position of every device, per (quantity, city)."""
    for quantity in quantities:
        _measurement(quantity)
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for (quantity, city, _lab, _device), location in fetch_device_locations(
        client, list(quantities), Filters()
    ).items():
        found.setdefault((quantity, city), []).append((location.lat, location.lon))
    return found


@dataclass(frozen=True, slots=True)
class Coverage:
    first_ns: int
    last_ns: int


def coverage(client: InfluxQLClient, quantities: Sequence[str]) -> dict[tuple[str, str], Coverage]:
    """The first and last reading time per (quantity, city), over all time."""
    if not quantities:
        return {}
    sources = ", ".join(_measurement(q) for q in quantities)
    found: dict[tuple[str, str], dict[str, int]] = {}
    for selector in ("first", "last"):
        statement = f'SELECT {selector}("value") AS "value" FROM {sources} GROUP BY "city"'
        for series in run(client, (statement, {})):
            for record in series.records():
                if record.get("value") is not None:
                    found.setdefault((series.name, series.tags.get("city", "")), {})[selector] = int(record["time"])
    return {key: Coverage(v["first"], v["last"]) for key, v in found.items() if "first" in v and "last" in v}


def city_rows(client: InfluxQLClient, quantity: str, city: str, span: TimeRange, limit: int) -> list[Any]:
    """Raw readings of one city and quantity, oldest first (the read layer's ``fetch_raw``, bound city)."""
    return list(fetch_raw(client, quantity, span, Filters(city=city), limit, 0))


def city_rows_stream(client: InfluxQLClient, quantity: str, city: str, span: TimeRange, limit: int) -> Iterable[Any]:
    _measurement(quantity)
    return stream_raw(client, quantity, span, Filters(city=city), limit, 0)
