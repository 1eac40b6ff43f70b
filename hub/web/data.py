"""Every read the public page makes, and nothing else: the one module to re-point at the read layer.

The page asks the same InfluxQL the JSON API asks, through the API's own query functions
(``hub.api.queries``), so a number on the page is the number ``/compare`` or ``/devices``
gives for the same span. Each function here maps onto one read the read layer offers:

| here | today | read layer |
| --- | --- | --- |
| ``quantities_with_data`` | ``fetch_measurements`` ∩ vocabulary | the quantities read |
| ``latest_hourly`` | ``fetch_city_bucket_means`` (1 h) | the comparison's bucket means |
| ``city_totals`` | ``fetch_city_totals`` | the comparison (``/compare``) |
| ``city_trends`` | ``fetch_city_bucket_means`` | the comparison's bucket means |
| ``devices`` | ``fetch_device_series`` + ``fetch_device_locations`` | the devices read (``/devices``) |

Times are integer nanoseconds; spans are ``hub.api.params.TimeRange``, ``to`` exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

# Spans and their units, re-exported so the page's other modules depend on this one alone.
from hub.api.params import NS_PER_DAY, NS_PER_HOUR, TimeRange
from hub.api.queries import (
    BucketRow,
    CityTotals,
    Filters,
    fetch_city_bucket_means,
    fetch_city_totals,
    fetch_device_locations,
    fetch_device_series,
    fetch_measurements,
)
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import load_vocabulary

# How far back "now" looks for a city's latest complete hour.
LATEST_LOOKBACK_HOURS = 48

__all__ = [
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "BucketRow",
    "CityTotals",
    "DeviceNow",
    "HourlyMean",
    "TimeRange",
    "city_totals",
    "city_trends",
    "devices",
    "latest_hourly",
    "quantities_with_data",
]


@dataclass(frozen=True, slots=True)
class HourlyMean:
    """The mean of every reading of a city in one clock hour (UTC), ``start_ns`` to ``start_ns + 1 h``."""

    start_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class QuantityNow:
    quantity: str
    time_ns: int
    value: float


@dataclass(frozen=True, slots=True)
class DeviceNow:
    """A device as ``/devices`` lists it: last reading of each quantity, last position."""

    city: str
    lab: str
    device: str
    last_ns: int
    lat: float | None
    lon: float | None
    quantities: tuple[QuantityNow, ...]


def quantities_with_data(client: InfluxQLClient) -> list[str]:
    """Quantities of the vocabulary that have a measurement in InfluxDB (not the hub's own hub_stats)."""
    known = load_vocabulary().quantities
    return [name for name in fetch_measurements(client) if name in known]


def latest_hourly(client: InfluxQLClient, quantity: str, cities: list[str], now_ns: int) -> dict[str, HourlyMean]:
    """Each city's mean of its latest complete clock hour with readings, within the last two days."""
    if not cities:
        return {}
    hour_start = now_ns - now_ns % NS_PER_HOUR
    span = TimeRange(hour_start - LATEST_LOOKBACK_HOURS * NS_PER_HOUR, hour_start)
    buckets = fetch_city_bucket_means(client, quantity, cities, span, 3600)
    return {city: HourlyMean(rows[-1].time_ns, rows[-1].value) for city, rows in buckets.items() if rows}


def city_totals(client: InfluxQLClient, quantity: str, cities: list[str], span: TimeRange) -> dict[str, CityTotals]:
    """Count, mean and max of every reading of each city in the span: exactly ``/compare``'s numbers."""
    return fetch_city_totals(client, quantity, cities, span) if cities else {}


def city_trends(
    client: InfluxQLClient, quantity: str, cities: list[str], span: TimeRange, every_s: int
) -> dict[str, list[BucketRow]]:
    """Each city's mean per epoch-aligned bucket of ``every_s`` seconds; empty buckets left out."""
    return fetch_city_bucket_means(client, quantity, cities, span, every_s) if cities else {}


def devices(client: InfluxQLClient, quantities: list[str], city: str | None = None) -> list[DeviceNow]:
    """Every device with readings (of one city), ordered by city, lab and device, as ``/devices`` has them."""
    filters = Filters(city=city)
    series = fetch_device_series(client, quantities, filters)
    locations = fetch_device_locations(client, quantities, filters)
    grouped: dict[tuple[str, str, str], list[QuantityNow]] = {}
    for item in series:
        grouped.setdefault((item.city, item.lab, item.device), []).append(
            QuantityNow(item.quantity, item.last_ns, item.last_value)
        )
    found = []
    for key in sorted(grouped):
        items = sorted(grouped[key], key=lambda q: q.quantity)
        newest = max(items, key=lambda q: q.time_ns)
        # The position the device reported with its newest reading, else with any other.
        where = locations.get((newest.quantity, *key)) or next(
            (locations[(q.quantity, *key)] for q in items if (q.quantity, *key) in locations), None
        )
        found.append(
            DeviceNow(
                city=key[0],
                lab=key[1],
                device=key[2],
                last_ns=newest.time_ns,
                lat=where.lat if where else None,
                lon=where.lon if where else None,
                quantities=tuple(items),
            )
        )
    return found
