"""Cities side by side for one quantity: totals, coverage and hours above the WHO guideline."""

from __future__ import annotations

from dataclasses import dataclass

from hub.read.request import NS_PER_HOUR, Every, TimeRange, check_buckets
from hub.read.rows import BucketRow, fetch_city_bucket_means, fetch_city_totals
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import Quantity, Reference

HOUR = Every("1h", NS_PER_HOUR)


@dataclass(frozen=True, slots=True)
class CityStats:
    city: str
    readings: int
    mean: float | None  # None without readings
    max: float | None
    buckets_with_data: int
    coverage: float  # buckets_with_data / the buckets the range spans, 0..1
    hours_with_data: int
    hours_above_who: int | None  # None when the quantity has no WHO short-term guideline


@dataclass(frozen=True, slots=True)
class CityComparison:
    quantity: Quantity
    window: TimeRange
    every: Every
    buckets: int  # the `every` buckets the range spans, aligned to the epoch
    who_guideline: Reference | None
    cities: list[CityStats]  # in the order asked


def hours_above(hourly_means: list[BucketRow], guideline: Reference | None) -> int | None:
    """Clock hours whose mean is strictly above the guideline: a screening count, not a regulatory exceedance."""
    if guideline is None:
        return None
    return sum(1 for hour in hourly_means if hour.value > guideline.value)


def compare_cities(
    client: InfluxQLClient, quantity: Quantity, cities: list[str], window: TimeRange, every: Every, *, max_buckets: int
) -> CityComparison:
    """Every reading of every device in each city in ``window``; ``cities`` are validated slugs.

    Coverage counts ``every`` buckets; hours above the WHO guideline are always counted on
    clock hours (UTC), whatever ``every`` is.
    """
    total_buckets = check_buckets(window, every, max_buckets)
    guideline = quantity.who_short_term()
    totals = fetch_city_totals(client, quantity.name, cities, window)
    buckets = fetch_city_bucket_means(client, quantity.name, cities, window, every)
    hourly = buckets if every.ns == HOUR.ns else fetch_city_bucket_means(client, quantity.name, cities, window, HOUR)
    stats = []
    for city in cities:
        total = totals.get(city)
        city_buckets = buckets.get(city, [])
        city_hours = hourly.get(city, [])
        stats.append(
            CityStats(
                city=city,
                readings=total.count if total else 0,
                mean=total.mean if total else None,
                max=total.max if total else None,
                buckets_with_data=len(city_buckets),
                coverage=len(city_buckets) / total_buckets,
                hours_with_data=len(city_hours),
                hours_above_who=hours_above(city_hours, guideline),
            )
        )
    return CityComparison(quantity, window, every, total_buckets, guideline, stats)
