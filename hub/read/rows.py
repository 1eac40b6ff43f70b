"""Rows from InfluxDB: raw readings, buckets, city totals and bucket means, device series and positions.

Each function runs one or more statements from ``hub.read.statements`` and turns the answer into
typed rows. InfluxDB's failures become read errors: ``Unavailable`` when it can't be reached or
can't answer, ``QueryRejected`` when it refused a statement (the validation in
``hub.read.request`` is there so that this never happens).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from hub.read.errors import QueryRejected, Unavailable
from hub.read.request import Aggregate, Every, Filters, TimeRange
from hub.read.statements import (
    SHOW_MEASUREMENTS,
    Statement,
    aggregate_statement,
    city_bucket_means_statement,
    city_latest_statement,
    city_totals_statement,
    device_locations_statement,
    device_series_statement,
    raw_statement,
)
from hub.store.influxql import InfluxQLClient, InfluxQLError, InfluxUnavailableError, Series

log = logging.getLogger(__name__)

# Chunk size when streaming a large export: each chunk is one bounded query.
STREAM_CHUNK = 10_000


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
    """One bucket: its start (aligned to the epoch) and the aggregate of its readings."""

    time_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class CityTotals:
    count: int
    mean: float
    max: float


@dataclass(frozen=True, slots=True)
class LatestValue:
    time_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class DeviceSeries:
    """A device's latest reading of one quantity."""

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


def run(client: InfluxQLClient, statement: Statement) -> list[Series]:
    """One statement, with InfluxDB's failures turned into read errors."""
    text, params = statement
    try:
        return client.query(text, params=params)
    except InfluxUnavailableError as exc:
        raise Unavailable(f"InfluxDB query failed: {exc}") from exc
    except InfluxQLError as exc:
        # The caller gets no internals; the log has the statement (values are bound, not in the text).
        log.error("InfluxDB refused a statement the read layer built: %s; statement: %s", exc, text)
        raise QueryRejected("InfluxDB refused a query the hub built; see the hub's log") from exc


def fetch_measurements(client: InfluxQLClient) -> list[str]:
    return [str(row[0]) for series in run(client, (SHOW_MEASUREMENTS, {})) for row in series.values]


def fetch_raw(
    client: InfluxQLClient, quantity: str, window: TimeRange, filters: Filters, limit: int, offset: int
) -> list[RawRow]:
    """Up to ``limit`` readings in time order, after skipping ``offset``."""
    rows: list[RawRow] = []
    for series in run(client, raw_statement(quantity, window, filters, limit, offset)):
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
    client: InfluxQLClient, quantity: str, window: TimeRange, filters: Filters, limit: int, offset: int
) -> Iterator[RawRow]:
    """Up to ``limit`` rows, fetched in bounded chunks so a large export never sits in memory.

    A failure partway raises from the iterator; rows already yielded stay yielded.
    """
    remaining = limit
    position = offset
    while remaining > 0:
        size = min(STREAM_CHUNK, remaining)
        chunk = fetch_raw(client, quantity, window, filters, size, position)
        yield from chunk
        if len(chunk) < size:
            return
        remaining -= len(chunk)
        position += len(chunk)


def fetch_buckets(
    client: InfluxQLClient,
    quantity: str,
    window: TimeRange,
    filters: Filters,
    every: Every,
    agg: Aggregate,
    limit: int,
    offset: int,
) -> list[BucketRow]:
    """``agg`` of every matching reading per epoch-aligned bucket; buckets without a reading are left out."""
    statement = aggregate_statement(quantity, window, filters, every, agg, limit, offset)
    return [
        BucketRow(int(record["time"]), float(record["value"]))
        for series in run(client, statement)
        for record in series.records()
        if record.get("value") is not None
    ]


def fetch_city_totals(
    client: InfluxQLClient, quantity: str, cities: list[str], window: TimeRange
) -> dict[str, CityTotals]:
    """Count, mean and max of every reading per city; cities without a reading are absent."""
    totals: dict[str, CityTotals] = {}
    for series in run(client, city_totals_statement(quantity, cities, window)):
        for record in series.records():
            if record.get("count"):
                totals[series.tags.get("city", "")] = CityTotals(
                    int(record["count"]), float(record["mean"]), float(record["max"])
                )
    return totals


def fetch_city_bucket_means(
    client: InfluxQLClient, quantity: str, cities: list[str], window: TimeRange, every: Every
) -> dict[str, list[BucketRow]]:
    """Mean of every reading in each epoch-aligned bucket, per city; empty buckets are left out."""
    buckets: dict[str, list[BucketRow]] = {}
    for series in run(client, city_bucket_means_statement(quantity, cities, window, every)):
        rows = buckets.setdefault(series.tags.get("city", ""), [])
        rows.extend(
            BucketRow(int(r["time"]), float(r["value"])) for r in series.records() if r.get("value") is not None
        )
    return buckets


def fetch_city_latest(client: InfluxQLClient, quantity: str, cities: list[str] | None = None) -> dict[str, LatestValue]:
    """Each city's newest reading of ``quantity`` (all cities with data when ``cities`` is None)."""
    latest: dict[str, LatestValue] = {}
    for series in run(client, city_latest_statement(quantity, cities)):
        for record in series.records():
            if record.get("value") is not None:
                latest[series.tags.get("city", "")] = LatestValue(int(record["time"]), float(record["value"]))
    return latest


def fetch_device_series(client: InfluxQLClient, quantities: list[str], filters: Filters) -> list[DeviceSeries]:
    """The latest reading of each quantity each matching device has."""
    if not quantities:
        return []
    found: list[DeviceSeries] = []
    for series in run(client, device_series_statement(quantities, filters)):
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
    """The last position per (quantity, city, lab, device); the caller picks the quantity reported last."""
    if not quantities:
        return {}
    locations: dict[tuple[str, str, str, str], DeviceLocation] = {}
    for series in run(client, device_locations_statement(quantities, filters)):
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
