"""Every read the public page makes, and nothing else: all of them go through the read layer.

The page asks the read layer (``hub.read``) the same questions the JSON API does, so a number on the
page is the number ``/api/v1/compare`` or ``/api/v1/devices`` gives for the same span:

| here | read layer |
| --- | --- |
| ``quantities_with_data`` | ``fetch_measurements`` ∩ vocabulary |
| ``latest_hourly`` | ``fetch_city_bucket_means`` (1 h buckets) |
| ``city_totals`` | ``fetch_city_totals`` (what ``/compare`` reports) |
| ``city_trends`` | ``fetch_city_bucket_means`` |
| ``devices`` | ``list_devices`` (what ``/devices`` reports) |

Times are integer nanoseconds; spans are ``hub.read.TimeRange``, ``to`` exclusive. InfluxDB being
unreachable surfaces as ``hub.read.Unavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.read import (
    BucketRow,
    CityTotals,
    Filters,
    TimeRange,
    every_of_seconds,
    fetch_city_bucket_means,
    fetch_city_totals,
    fetch_measurements,
    list_devices,
)

# Spans and their units, re-exported so the page's other modules depend on this one alone.
from hub.read.request import NS_PER_DAY, NS_PER_HOUR
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
    buckets = fetch_city_bucket_means(client, quantity, cities, span, every_of_seconds(3600))
    return {city: HourlyMean(rows[-1].time_ns, rows[-1].value) for city, rows in buckets.items() if rows}


def city_totals(client: InfluxQLClient, quantity: str, cities: list[str], span: TimeRange) -> dict[str, CityTotals]:
    """Count, mean and max of every reading of each city in the span: exactly ``/compare``'s numbers."""
    return fetch_city_totals(client, quantity, cities, span) if cities else {}


def city_trends(
    client: InfluxQLClient, quantity: str, cities: list[str], span: TimeRange, every_s: int
) -> dict[str, list[BucketRow]]:
    """Each city's mean per epoch-aligned bucket of ``every_s`` seconds; empty buckets left out."""
    return fetch_city_bucket_means(client, quantity, cities, span, every_of_seconds(every_s)) if cities else {}


def devices(client: InfluxQLClient, city: str | None = None) -> list[DeviceNow]:
    """Every device with readings (of one city), ordered by city, lab and device, as ``/devices`` has them."""
    return [
        DeviceNow(
            city=found.city,
            lab=found.lab,
            device=found.device,
            last_ns=found.last_ns,
            lat=found.location.lat if found.location else None,
            lon=found.location.lon if found.location else None,
            quantities=tuple(QuantityNow(q.quantity, q.last_ns, q.last_value) for q in found.quantities),
        )
        for found in list_devices(client, load_vocabulary(), Filters(city=city))
    ]
