"""Readings of one quantity: raw, or aggregated into time buckets; JSON or streamed CSV.

One route, four response shapes, each built by its own function: raw JSON, raw CSV, buckets
as JSON and buckets as CSV. Validation and queries are the read layer's (``hub.read``).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from core.names import MAX_DEVICE_ID
from core.timeutil import ns_to_rfc3339
from hub.api.deps import InfluxDep, LabsDep, LimitsDep, ReadAccess
from hub.api.models import AggregatedReadings, Bucket, RawReadings, ReadingOut
from hub.api.params import CityQuery, FromQuery, LabQuery, ToQuery
from hub.api.problems import problem_responses
from hub.read import (
    EVERY_PATTERN,
    Aggregate,
    BucketRow,
    Every,
    Filters,
    InvalidRequest,
    Limits,
    QuantityName,
    RawRow,
    ReadError,
    TimeRange,
    check_buckets,
    check_device,
    check_limit,
    check_quantity,
    check_slug,
    fetch_buckets,
    fetch_raw,
    parse_every,
    stream_raw,
    time_range,
)
from hub.read.labs import known_cities
from hub.store.influxql import InfluxQLClient

log = logging.getLogger(__name__)
router = APIRouter(tags=["readings"], dependencies=[ReadAccess], responses=problem_responses(400, 401, 503))

MAX_OFFSET = 1_000_000
DEFAULT_PAGE = 1000
RAW_CSV_COLUMNS = ["time", "city", "lab", "device", "quantity", "value", "unit", "lat", "lon"]
BUCKET_CSV_COLUMNS = ["time", "quantity", "agg", "every", "value", "unit"]
CSV_EXAMPLE = (
    "time,city,lab,device,quantity,value,unit,lat,lon\r\n"
    "2026-03-01T10:00:00Z,aarhus,aarhus-city-lab,lamp-7,pm25,7.25,ug/m3,56.1572,10.2107\r\n"
)


class OutputFormat(StrEnum):
    json = "json"
    csv = "csv"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which readings: a quantity (with its unit), a time window and tag filters, all validated."""

    quantity: str
    unit: str
    window: TimeRange
    filters: Filters


@dataclass(frozen=True, slots=True)
class Bucketing:
    every: Every
    agg: Aggregate
    buckets: int  # how many buckets the window spans
    unit: str  # of a bucket's value: the quantity's, or "readings" for a count


@router.get(
    "/readings",
    summary="Readings of one quantity, raw or aggregated",
    response_model=RawReadings | AggregatedReadings,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}}}},
)
def get_readings(
    request: Request,
    limits: LimitsDep,
    influx: InfluxDep,
    labs: LabsDep,
    quantity: Annotated[QuantityName, Query(description="a quantity from /quantities", examples=["pm25"])],
    city: CityQuery = None,
    lab: LabQuery = None,
    device: Annotated[str | None, Query(min_length=1, max_length=MAX_DEVICE_ID, examples=["lamp-7"])] = None,
    start: FromQuery = None,
    end: ToQuery = None,
    every: Annotated[
        str | None,
        Query(
            pattern=EVERY_PATTERN,
            description="bucket width (30s, 15m, 1h, 1d, 1w): aggregate instead of raw",
            examples=["1h"],
        ),
    ] = None,
    agg: Annotated[
        Aggregate | None, Query(description="aggregate per bucket (default mean); only with `every`")
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="page size; default 1000 (JSON), every bucket (aggregates), CITYLAB_API_MAX_CSV_ROWS (CSV)",
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (paging)")] = 0,
    format: Annotated[
        OutputFormat | None, Query(description="json (default) or csv; `Accept: text/csv` also selects CSV")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """Raw readings ordered by time, or with `every` the `agg` of all matching readings in each
    epoch-aligned bucket (every device that matches the filters together; empty buckets left out)."""
    as_csv = format is OutputFormat.csv or (format is None and accept is not None and "text/csv" in accept)
    spec = check_quantity(QuantityName(quantity).value)
    check_slug(city, "city", known_cities(labs))
    check_slug(lab, "lab", set(labs))
    filters = Filters(city=city, lab=lab, device=check_device(device))
    selection = Selection(spec.name, spec.unit, time_range(start, end, max_days=limits.max_range_days), filters)

    if every is None:
        if agg is not None:
            raise InvalidRequest("agg", "agg: needs every (a bucket width such as 1h); without every, readings are raw")
        if as_csv:
            return raw_csv(influx, selection, limits, limit, offset)
        return raw_json(request, influx, selection, limits, limit, offset)
    interval = parse_every(every)
    agg = agg or Aggregate.MEAN
    buckets = check_buckets(selection.window, interval, limits.max_buckets)
    bucketing = Bucketing(interval, agg, buckets, "readings" if agg is Aggregate.COUNT else spec.unit)
    size = check_limit(limit or bucketing.buckets, limits.max_buckets, "buckets")
    if as_csv:
        return buckets_csv(influx, selection, bucketing, size, offset)
    return buckets_json(request, influx, selection, bucketing, size, offset)


def raw_json(
    request: Request, influx: InfluxQLClient, selection: Selection, limits: Limits, limit: int | None, offset: int
) -> RawReadings:
    """One page of readings in time order, with a `next` link when more follow."""
    size = check_limit(limit or DEFAULT_PAGE, limits.max_page, "readings per JSON page")
    rows = fetch_raw(influx, selection.quantity, selection.window, selection.filters, size + 1, offset)
    return RawReadings.model_validate(
        {
            "quantity": selection.quantity,
            "unit": selection.unit,
            "from": selection.window.start,
            "to": selection.window.end,
            "limit": size,
            "offset": offset,
            "next": _next_page(request, offset + size) if len(rows) > size else None,
            "readings": [
                ReadingOut(
                    time=ns_to_rfc3339(r.time_ns),
                    city=r.city,
                    lab=r.lab,
                    device=r.device,
                    value=r.value,
                    unit=selection.unit,
                    lat=r.lat,
                    lon=r.lon,
                )
                for r in rows[:size]
            ],
        }
    )


def raw_csv(
    influx: InfluxQLClient, selection: Selection, limits: Limits, limit: int | None, offset: int
) -> StreamingResponse:
    """Every matching reading as CSV, streamed in chunks."""
    size = check_limit(limit or limits.max_csv_rows, limits.max_csv_rows, "CSV rows")
    stream = stream_raw(influx, selection.quantity, selection.window, selection.filters, size, offset)
    # The first chunk is fetched before the response starts, so an unreachable InfluxDB is a 503.
    first = next(stream, None)
    lines = _raw_csv_lines(first, stream, selection)
    return _csv_response(RAW_CSV_COLUMNS, lines, f"{selection.quantity}.csv")


def buckets_json(
    request: Request, influx: InfluxQLClient, selection: Selection, bucketing: Bucketing, size: int, offset: int
) -> AggregatedReadings:
    """One page of buckets, with a `next` link when more follow."""
    rows = _fetch_buckets(influx, selection, bucketing, size + 1, offset)
    unit = bucketing.unit
    return AggregatedReadings.model_validate(
        {
            "quantity": selection.quantity,
            "unit": unit,
            "agg": bucketing.agg.value,
            "every": bucketing.every.text,
            "from": selection.window.start,
            "to": selection.window.end,
            "limit": size,
            "offset": offset,
            "next": _next_page(request, offset + size) if len(rows) > size else None,
            "buckets": [Bucket(time=ns_to_rfc3339(r.time_ns), value=r.value, unit=unit) for r in rows[:size]],
        }
    )


def buckets_csv(
    influx: InfluxQLClient, selection: Selection, bucketing: Bucketing, size: int, offset: int
) -> StreamingResponse:
    """One page of buckets as CSV (at most CITYLAB_API_MAX_BUCKETS, so fetched at once)."""
    rows = _fetch_buckets(influx, selection, bucketing, size, offset)
    unit = bucketing.unit
    agg, every = bucketing.agg.value, bucketing.every.text
    table = ([ns_to_rfc3339(r.time_ns), selection.quantity, agg, every, r.value, unit] for r in rows)
    return _csv_response(BUCKET_CSV_COLUMNS, table, f"{selection.quantity}-{agg}-{every}.csv")


def _fetch_buckets(
    influx: InfluxQLClient, selection: Selection, bucketing: Bucketing, limit: int, offset: int
) -> list[BucketRow]:
    return fetch_buckets(
        influx, selection.quantity, selection.window, selection.filters, bucketing.every, bucketing.agg, limit, offset
    )


def _next_page(request: Request, offset: int) -> str:
    return str(request.url.include_query_params(offset=offset))


def _raw_csv_lines(first: RawRow | None, rest: Iterator[RawRow], selection: Selection) -> Iterator[list[Any]]:
    if first is None:
        return
    for row in _chain(first, rest):
        yield [
            ns_to_rfc3339(row.time_ns),
            row.city,
            row.lab,
            row.device,
            selection.quantity,
            row.value,
            selection.unit,
            "" if row.lat is None else row.lat,
            "" if row.lon is None else row.lon,
        ]


def _chain(first: RawRow, rest: Iterator[RawRow]) -> Iterator[RawRow]:
    yield first
    yield from rest


def _csv_response(columns: list[str], rows: Iterable[list[Any]], filename: str) -> StreamingResponse:
    return StreamingResponse(
        _csv_chunks(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_chunks(columns: list[str], rows: Iterable[list[Any]], chunk_rows: int = 1000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    count = 0
    try:
        for row in rows:
            writer.writerow(row)
            count += 1
            if count % chunk_rows == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    except ReadError as exc:
        # Headers are sent already: say so in the body rather than end as if complete.
        log.warning("CSV export cut short after %d rows: %s", count, exc)
        writer.writerow([f"# export incomplete after {count} rows: InfluxDB query failed"])
    yield buffer.getvalue()
