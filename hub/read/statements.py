"""The InfluxQL the read layer sends: text built only from closed sets and integers, values bound.

Injection-proof by construction: measurement names come from the vocabulary (a closed set),
aggregate functions from an enum, times and intervals are integers, and every tag value
(city, lab, device) is bound server-side through ``params``, never spliced into the text.
Each builder returns ``(statement, params)``.
"""

from __future__ import annotations

from typing import Any

from hub.read.request import Aggregate, Every, Filters, TimeRange

Statement = tuple[str, dict[str, Any]]

SHOW_MEASUREMENTS = "SHOW MEASUREMENTS"
_TAGS = ("city", "lab", "device")


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _where(filters: Filters, window: TimeRange | None) -> Statement:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for tag in _TAGS:
        value = getattr(filters, tag)
        if value is not None:
            clauses.append(f"{quote_ident(tag)} = ${tag}")
            params[tag] = value
    if window is not None:
        clauses.append(_time_clause(window))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _time_clause(window: TimeRange) -> str:
    # Integers we produced ourselves: ns since the epoch.
    return f"time >= {int(window.start_ns)} AND time < {int(window.end_ns)}"


def _city_clause(cities: list[str]) -> Statement:
    names = [f"city{index}" for index in range(len(cities))]
    clause = "(" + " OR ".join(f'"city" = ${name}' for name in names) + ")"
    return clause, dict(zip(names, cities, strict=True))


def raw_statement(quantity: str, window: TimeRange, filters: Filters, limit: int, offset: int) -> Statement:
    where, params = _where(filters, window)
    statement = (
        f'SELECT "value", "lat", "lon", "city", "lab", "device" FROM {quote_ident(quantity)}{where}'
        f" ORDER BY time ASC LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return statement, params


def aggregate_statement(
    quantity: str, window: TimeRange, filters: Filters, every: Every, agg: Aggregate, limit: int, offset: int
) -> Statement:
    where, params = _where(filters, window)
    function = Aggregate(agg).value  # a closed set, never user text
    statement = (
        f'SELECT {function}("value") AS "value" FROM {quote_ident(quantity)}{where}'
        f" GROUP BY time({int(every.seconds)}s) fill(none) LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return statement, params


def city_totals_statement(quantity: str, cities: list[str], window: TimeRange) -> Statement:
    clause, params = _city_clause(cities)
    statement = (
        f'SELECT count("value") AS "count", mean("value") AS "mean", max("value") AS "max" FROM {quote_ident(quantity)}'
        f' WHERE {clause} AND {_time_clause(window)} GROUP BY "city"'
    )
    return statement, params


def city_bucket_means_statement(quantity: str, cities: list[str], window: TimeRange, every: Every) -> Statement:
    clause, params = _city_clause(cities)
    statement = (
        f'SELECT mean("value") AS "value" FROM {quote_ident(quantity)} WHERE {clause} AND {_time_clause(window)}'
        f' GROUP BY time({int(every.seconds)}s), "city" fill(none)'
    )
    return statement, params


def city_latest_statement(quantity: str, cities: list[str] | None) -> Statement:
    clause, params = _city_clause(cities) if cities else ("", {})
    where = f" WHERE {clause}" if clause else ""
    return f'SELECT last("value") AS "value" FROM {quote_ident(quantity)}{where} GROUP BY "city"', params


def device_series_statement(quantities: list[str], filters: Filters) -> Statement:
    where, params = _where(filters, None)
    sources = ", ".join(quote_ident(q) for q in quantities)
    return f'SELECT last("value") AS "value" FROM {sources}{where} GROUP BY "city", "lab", "device"', params


def device_locations_statement(quantities: list[str], filters: Filters) -> Statement:
    # Two selectors in one query make InfluxDB drop the point's time, so positions are a query of their own.
    where, params = _where(filters, None)
    sources = ", ".join(quote_ident(q) for q in quantities)
    statement = (
        f'SELECT last("lat") AS "lat", last("lon") AS "lon" FROM {sources}{where} GROUP BY "city", "lab", "device"'
    )
    return statement, params
