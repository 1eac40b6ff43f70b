"""Cities side by side for one quantity: the question the network exists to answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.deps import InfluxDep, LabsDep, LimitsDep, ReadAccess
from hub.api.models import CityAggregate, Comparison, Guideline
from hub.api.params import FromQuery, ToQuery
from hub.api.problems import problem_responses
from hub.read import (
    CITIES_PATTERN,
    EVERY_PATTERN,
    QuantityName,
    check_cities,
    check_quantity,
    compare_cities,
    parse_every,
    time_range,
)
from hub.read.labs import known_cities

router = APIRouter(tags=["compare"], dependencies=[ReadAccess], responses=problem_responses(400, 401, 503))


@router.get("/compare", summary="Per-city mean, max, coverage and hours above the WHO guideline")
def get_comparison(
    limits: LimitsDep,
    influx: InfluxDep,
    labs: LabsDep,
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
    names = check_cities(cities, known_cities(labs), limits.max_cities)
    window = time_range(start, end, max_days=limits.max_range_days)
    spec = check_quantity(QuantityName(quantity).value)
    result = compare_cities(influx, spec, names, window, parse_every(every), max_buckets=limits.max_buckets)
    guideline = result.who_guideline
    return Comparison.model_validate(
        {
            "quantity": spec.name,
            "unit": spec.unit,
            "from": window.start,
            "to": window.end,
            "every": result.every.text,
            "buckets": result.buckets,
            "who_guideline": (
                Guideline(name=guideline.name, value=guideline.value, unit=spec.unit, period=guideline.period)
                if guideline is not None
                else None
            ),
            "cities": [
                CityAggregate(
                    city=city.city,
                    readings=city.readings,
                    mean=city.mean,
                    max=city.max,
                    unit=spec.unit,
                    buckets_with_data=city.buckets_with_data,
                    coverage=city.coverage,
                    hours_with_data=city.hours_with_data,
                    hours_above_who=city.hours_above_who,
                )
                for city in result.cities
            ],
        }
    )
