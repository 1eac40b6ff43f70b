"""InfluxQL the API sends, and the rows it gets back.

Injection-proof by construction: measurement names come from the vocabulary (a closed set),
aggregate functions from an enum, times and intervals are integers, and every tag value
(city, lab, device) is bound server-side through ``params``, never spliced into the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hub.api.params import Aggregate, Every, TimeRange
from hub.store.influxql import InfluxQLClient

# Chunk size when streaming a large CSV: each chunk is one bounded query.
STREAM_CHUNK = 10_000


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Filters:
    city: str | None = None
    lab: str | None = None
    device: str | None = None

    def clauses(self) -> tuple[list[str], dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for tag in ("city", "lab", "device"):
            value = getattr(self, tag)
            if value is not None:
                clauses.append(f"{quote_ident(tag)} = ${tag}")
                params[tag] = value
        return clauses, params


def _where(filters: Filters, span: TimeRange | None) -> tuple[str, dict[str, Any]]:
    clauses, params = filters.clauses()
    if span is not None:
        # Integers we produced ourselves: ns since the epoch.
        clauses.append(f"time >= {int(span.start_ns)} AND time < {int(span.end_ns)}")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


@dataclass(frozen=True, slots=True)
class RawRow:
    time_ns: int
    city: str
    lab: str
    device: str
    value: float
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True)
class BucketRow:
    time_ns: int
    value: float


def raw_statement(
    quantity: str, span: TimeRange, filters: Filters, limit: int, offset: int
) -> tuple[str, dict[str, Any]]:
    where, params = _where(filters, span)
    statement = (
        f'SELECT "value", "lat", "lon", "city", "lab", "device" FROM {quote_ident(quantity)}{where}'
        f" ORDER BY time ASC LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return statement, params


def aggregate_statement(
    quantity: str, span: TimeRange, filters: Filters, every: Every, agg: Aggregate, limit: int, offset: int
) -> tuple[str, dict[str, Any]]:
    where, params = _where(filters, span)
    function = Aggregate(agg).value  # a closed set, never user text
    statement = (
        f'SELECT {function}("value") AS "value" FROM {quote_ident(quantity)}{where}'
        f" GROUP BY time({int(every.seconds)}s) fill(none) LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return statement, params


def fetch_raw(
    client: InfluxQLClient, quantity: str, span: TimeRange, filters: Filters, limit: int, offset: int
) -> list[RawRow]:
    statement, params = raw_statement(quantity, span, filters, limit, offset)
    rows: list[RawRow] = []
    for series in client.query(statement, params=params):
        for record in series.records():
            if record.get("value") is None:
                continue  # a point with only lat/lon: no reading
            rows.append(
                RawRow(
                    time_ns=int(record["time"]),
                    city=str(record.get("city") or ""),
                    lab=str(record.get("lab") or ""),
                    device=str(record.get("device") or ""),
                    value=float(record["value"]),
                    lat=_float_or_none(record.get("lat")),
                    lon=_float_or_none(record.get("lon")),
                )
            )
    return rows


def stream_raw(
    client: InfluxQLClient, quantity: str, span: TimeRange, filters: Filters, limit: int, offset: int
) -> Iterator[RawRow]:
    """Up to ``limit`` rows, fetched in bounded chunks so a large export never sits in memory."""
    remaining = limit
    position = offset
    while remaining > 0:
        size = min(STREAM_CHUNK, remaining)
        chunk = fetch_raw(client, quantity, span, filters, size, position)
        yield from chunk
        if len(chunk) < size:
            return
        remaining -= len(chunk)
        position += len(chunk)


def fetch_buckets(
    client: InfluxQLClient,
    quantity: str,
    span: TimeRange,
    filters: Filters,
    every: Every,
    agg: Aggregate,
    limit: int,
    offset: int,
) -> list[BucketRow]:
    statement, params = aggregate_statement(quantity, span, filters, every, agg, limit, offset)
    return [
        BucketRow(int(record["time"]), float(record["value"]))
        for series in client.query(statement, params=params)
        for record in series.records()
        if record.get("value") is not None
    ]


@dataclass(frozen=True, slots=True)
class CityTotals:
    count: int
    mean: float
    max: float


def city_clause(cities: list[str]) -> tuple[str, dict[str, Any]]:
    names = [f"city{index}" for index in range(len(cities))]
    clause = "(" + " OR ".join(f'"city" = ${name}' for name in names) + ")"
    return clause, dict(zip(names, cities, strict=True))


def fetch_city_totals(
    client: InfluxQLClient, quantity: str, cities: list[str], span: TimeRange
) -> dict[str, CityTotals]:
    clause, params = city_clause(cities)
    statement = (
        f'SELECT count("value") AS "count", mean("value") AS "mean", max("value") AS "max" FROM {quote_ident(quantity)}'
        f' WHERE {clause} AND time >= {int(span.start_ns)} AND time < {int(span.end_ns)} GROUP BY "city"'
    )
    totals: dict[str, CityTotals] = {}
    for series in client.query(statement, params=params):
        for record in series.records():
            if record.get("count"):
                totals[series.tags.get("city", "")] = CityTotals(
                    int(record["count"]), float(record["mean"]), float(record["max"])
                )
    return totals


def fetch_city_bucket_means(
    client: InfluxQLClient, quantity: str, cities: list[str], span: TimeRange, every_seconds: int
) -> dict[str, list[BucketRow]]:
    """Mean of every reading in each epoch-aligned bucket, per city; empty buckets are left out."""
    clause, params = city_clause(cities)
    statement = (
        f'SELECT mean("value") AS "value" FROM {quote_ident(quantity)}'
        f" WHERE {clause} AND time >= {int(span.start_ns)} AND time < {int(span.end_ns)}"
        f' GROUP BY time({int(every_seconds)}s), "city" fill(none)'
    )
    buckets: dict[str, list[BucketRow]] = {}
    for series in client.query(statement, params=params):
        rows = buckets.setdefault(series.tags.get("city", ""), [])
        rows.extend(
            BucketRow(int(r["time"]), float(r["value"])) for r in series.records() if r.get("value") is not None
        )
    return buckets


@dataclass(frozen=True, slots=True)
class DeviceSeries:
    quantity: str
    city: str
    lab: str
    device: str
    last_ns: int
    last_value: float


@dataclass(frozen=True, slots=True)
class DeviceLocation:
    lat: float
    lon: float


def fetch_measurements(client: InfluxQLClient) -> list[str]:
    return [str(row[0]) for series in client.query("SHOW MEASUREMENTS") for row in series.values]


def fetch_device_series(client: InfluxQLClient, quantities: list[str], filters: Filters) -> list[DeviceSeries]:
    if not quantities:
        return []
    where, params = _where(filters, None)
    sources = ", ".join(quote_ident(q) for q in quantities)
    statement = f'SELECT last("value") AS "value" FROM {sources}{where} GROUP BY "city", "lab", "device"'
    found: list[DeviceSeries] = []
    for series in client.query(statement, params=params):
        for record in series.records():
            if record.get("value") is None:
                continue
            found.append(
                DeviceSeries(
                    quantity=series.name,
                    city=series.tags.get("city", ""),
                    lab=series.tags.get("lab", ""),
                    device=series.tags.get("device", ""),
                    last_ns=int(record["time"]),
                    last_value=float(record["value"]),
                )
            )
    return found


def fetch_device_locations(
    client: InfluxQLClient, quantities: list[str], filters: Filters
) -> dict[tuple[str, str, str, str], DeviceLocation]:
    """The last position per (quantity, city, lab, device).

    Two selectors in one query make InfluxDB drop the point's time, so this is a query of
    its own; the caller picks the quantity the device reported last.
    """
    if not quantities:
        return {}
    where, params = _where(filters, None)
    sources = ", ".join(quote_ident(q) for q in quantities)
    statement = (
        f'SELECT last("lat") AS "lat", last("lon") AS "lon" FROM {sources}{where} GROUP BY "city", "lab", "device"'
    )
    locations: dict[tuple[str, str, str, str], DeviceLocation] = {}
    for series in client.query(statement, params=params):
        for record in series.records():
            lat, lon = _float_or_none(record.get("lat")), _float_or_none(record.get("lon"))
            if lat is not None and lon is not None:
                tags = series.tags
                key = (series.name, tags.get("city", ""), tags.get("lab", ""), tags.get("device", ""))
                locations[key] = DeviceLocation(lat, lon)
    return locations


def _float_or_none(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None
