"""Readings of one quantity: raw, or aggregated into time buckets; JSON or streamed CSV."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from core.names import MAX_SLUG_LENGTH, SLUG_PATTERN
from core.timeutil import ns_to_rfc3339
from hub.api.deps import InfluxDep, LabsDep, ReadAccess, SettingsDep, VocabularyDep
from hub.api.models import AggregatedReadings, Bucket, RawReadings, ReadingOut
from hub.api.params import (
    EVERY_PATTERN,
    Aggregate,
    FromQuery,
    QuantityName,
    ToQuery,
    check_buckets,
    check_device,
    check_limit,
    check_slug,
    parse_every,
    time_range,
)
from hub.api.problems import problem_responses
from hub.api.queries import Filters, RawRow, fetch_buckets, fetch_raw, stream_raw
from hub.store.influxql import InfluxQLError

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


@router.get(
    "/readings",
    summary="Readings of one quantity, raw or aggregated",
    response_model=RawReadings | AggregatedReadings,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}}}},
)
def get_readings(
    request: Request,
    settings: SettingsDep,
    influx: InfluxDep,
    labs: LabsDep,
    vocabulary: VocabularyDep,
    quantity: Annotated[QuantityName, Query(description="a quantity from /quantities", examples=["pm25"])],
    city: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus"])] = None,
    lab: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus-city-lab"])
    ] = None,
    device: Annotated[str | None, Query(min_length=1, max_length=128, examples=["lamp-7"])] = None,
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
    agg: Annotated[Aggregate, Query(description="aggregate per bucket, with `every`")] = Aggregate.MEAN,
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
    check_slug(city, "city", {config.city for config in labs.values()})
    check_slug(lab, "lab", set(labs))
    filters = Filters(city=city, lab=lab, device=check_device(device))
    span = time_range(start, end, max_days=settings.api_max_range_days)
    name = QuantityName(quantity).value
    unit = vocabulary.quantities[name].unit

    if every is not None:
        interval = parse_every(every)
        buckets = check_buckets(span, interval, settings.api_max_buckets)
        size = check_limit(limit or buckets, settings.api_max_buckets, "buckets")
        rows = fetch_buckets(influx, name, span, filters, interval, agg, size + 1, offset)
        more = len(rows) > size
        rows = rows[:size]
        value_unit = "readings" if agg is Aggregate.COUNT else unit
        if as_csv:
            table = ([ns_to_rfc3339(r.time_ns), name, agg.value, interval.text, r.value, value_unit] for r in rows)
            return _csv_response(BUCKET_CSV_COLUMNS, table, f"{name}-{agg.value}-{interval.text}.csv")
        return AggregatedReadings.model_validate(
            {
                "quantity": name,
                "unit": value_unit,
                "agg": agg.value,
                "every": interval.text,
                "from": span.start,
                "to": span.end,
                "limit": size,
                "offset": offset,
                "next": _next_page(request, offset + size) if more else None,
                "buckets": [Bucket(time=ns_to_rfc3339(r.time_ns), value=r.value, unit=value_unit) for r in rows],
            }
        )

    if as_csv:
        size = check_limit(limit or settings.api_max_csv_rows, settings.api_max_csv_rows, "CSV rows")
        # The first chunk is fetched before the response starts, so an unreachable InfluxDB is a 503.
        stream = stream_raw(influx, name, span, filters, size, offset)
        first = next(stream, None)
        lines = _raw_csv_lines(first, stream, name, unit)
        return _csv_response(RAW_CSV_COLUMNS, lines, f"{name}.csv")

    size = check_limit(limit or DEFAULT_PAGE, settings.api_max_page, "readings per JSON page")
    raw = fetch_raw(influx, name, span, filters, size + 1, offset)
    more = len(raw) > size
    return RawReadings.model_validate(
        {
            "quantity": name,
            "unit": unit,
            "from": span.start,
            "to": span.end,
            "limit": size,
            "offset": offset,
            "next": _next_page(request, offset + size) if more else None,
            "readings": [
                ReadingOut(
                    time=ns_to_rfc3339(r.time_ns),
                    city=r.city,
                    lab=r.lab,
                    device=r.device,
                    value=r.value,
                    unit=unit,
                    lat=r.lat,
                    lon=r.lon,
                )
                for r in raw[:size]
            ],
        }
    )


def _next_page(request: Request, offset: int) -> str:
    return str(request.url.include_query_params(offset=offset))


def _raw_csv_lines(first: RawRow | None, rest: Iterator[RawRow], quantity: str, unit: str) -> Iterator[list[Any]]:
    if first is None:
        return
    for row in _chain(first, rest):
        yield [
            ns_to_rfc3339(row.time_ns),
            row.city,
            row.lab,
            row.device,
            quantity,
            row.value,
            unit,
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
    except InfluxQLError as exc:
        # Headers are sent already: say so in the body rather than end as if complete.
        log.warning("CSV export cut short after %d rows: %s", count, exc)
        writer.writerow([f"# export incomplete after {count} rows: InfluxDB query failed"])
    yield buffer.getvalue()
