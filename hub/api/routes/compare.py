"""Cities side by side for one quantity: the question the network exists to answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.deps import InfluxDep, LabsDep, ReadAccess, SettingsDep, VocabularyDep
from hub.api.models import CityAggregate, Comparison, Guideline
from hub.api.params import (
    CITIES_PATTERN,
    EVERY_PATTERN,
    NS_PER_HOUR,
    FromQuery,
    QuantityName,
    ToQuery,
    check_buckets,
    check_cities,
    parse_every,
    time_range,
)
from hub.api.problems import problem_responses
from hub.api.queries import fetch_city_bucket_means, fetch_city_totals
from hub.vocabulary import Quantity, Reference

router = APIRouter(tags=["compare"], dependencies=[ReadAccess], responses=problem_responses(400, 401, 503))

# The averaging periods a WHO short-term guideline can have, shortest first.
SHORT_TERM_PERIODS = ("1h", "8h", "24h")


def who_short_term(quantity: Quantity) -> Reference | None:
    """The WHO guideline with the shortest averaging period below a year (24 h for PM and NO₂)."""
    candidates = [ref for ref in quantity.references if ref.name.startswith("WHO") and ref.period in SHORT_TERM_PERIODS]
    return min(candidates, key=lambda ref: SHORT_TERM_PERIODS.index(ref.period), default=None)


@router.get("/compare", summary="Per-city mean, max, coverage and hours above the WHO guideline")
def compare_cities(
    settings: SettingsDep,
    influx: InfluxDep,
    labs: LabsDep,
    vocabulary: VocabularyDep,
    quantity: Annotated[QuantityName, Query(examples=["pm25"])],
    cities: Annotated[
        str,
        Query(
            pattern=CITIES_PATTERN,
            max_length=2000,
            description="city slugs, comma-separated",
            examples=["aarhus,copenhagen"],
        ),
    ],
    start: FromQuery = None,
    end: ToQuery = None,
    every: Annotated[
        str, Query(pattern=EVERY_PATTERN, description="bucket width for coverage", examples=["1h"])
    ] = "1h",
) -> Comparison:
    """For each city, over every reading of every device in that city in [from, to):

    - `mean`, `max`: of all readings; `readings`: how many.
    - `coverage`: buckets of width `every` (aligned to the epoch, as InfluxDB's GROUP BY time) holding at least
      one reading, divided by the buckets the range spans.
    - `hours_above_who`: clock hours (UTC, aligned to the hour) whose mean of all the city's readings in that hour
      is strictly above the WHO short-term guideline (the 24 h guideline for PM2.5, PM10, NO₂ and SO₂; 8 h for O₃).
      Hourly means are compared with the guideline value as a screening count; it is not a regulatory
      24 h exceedance. Null when the quantity has no WHO guideline.
    """
    known = {config.city for config in labs.values()}
    names = check_cities(cities, known, settings.api_max_cities)
    span = time_range(start, end, max_days=settings.api_max_range_days)
    interval = parse_every(every)
    total_buckets = check_buckets(span, interval, settings.api_max_buckets)
    name = QuantityName(quantity).value
    spec = vocabulary.quantities[name]
    guideline = who_short_term(spec)

    totals = fetch_city_totals(influx, name, names, span)
    buckets = fetch_city_bucket_means(influx, name, names, span, interval.seconds)
    hourly = buckets if interval.ns == NS_PER_HOUR else fetch_city_bucket_means(influx, name, names, span, 3600)

    results = []
    for city in names:
        total = totals.get(city)
        city_buckets = buckets.get(city, [])
        city_hours = hourly.get(city, [])
        results.append(
            CityAggregate(
                city=city,
                readings=total.count if total else 0,
                mean=total.mean if total else None,
                max=total.max if total else None,
                unit=spec.unit,
                buckets_with_data=len(city_buckets),
                coverage=len(city_buckets) / total_buckets,
                hours_with_data=len(city_hours),
                hours_above_who=(
                    sum(1 for hour in city_hours if hour.value > guideline.value) if guideline is not None else None
                ),
            )
        )
    return Comparison.model_validate(
        {
            "quantity": name,
            "unit": spec.unit,
            "from": span.start,
            "to": span.end,
            "every": interval.text,
            "buckets": total_buckets,
            "who_guideline": (
                Guideline(name=guideline.name, value=guideline.value, unit=spec.unit, period=guideline.period)
                if guideline is not None
                else None
            ),
            "cities": results,
        }
    )
