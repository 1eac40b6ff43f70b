"""Validation of every user value that reaches a query: times, intervals, slugs, quantities.

Anything that fails here never reaches InfluxDB. Values that pass are either from a closed
set (quantities, aggregate functions), slugs, integers, or bound as query parameters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Query

from core.names import MAX_DEVICE_ID, is_slug, is_storable_device_id
from core.timeutil import NS_PER_S, TimeFormatError, now_ns, ns_to_rfc3339, parse_iso_ns
from hub.api.problems import ApiProblem
from hub.vocabulary import load_vocabulary

NS_PER_HOUR = 3600 * NS_PER_S
NS_PER_DAY = 24 * NS_PER_HOUR
DEFAULT_RANGE_NS = NS_PER_DAY
# InfluxDB stores int64 ns; keep both ends (and a bucket's width) well inside it.
MAX_TIME_NS = 9_000_000_000 * NS_PER_S  # 2255-03-15
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
EVERY_PATTERN = r"^[1-9][0-9]{0,5}(s|m|h|d|w)$"
CITIES_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*)*$"
_RFC3339 = re.compile(RFC3339_PATTERN)
_EVERY = re.compile(EVERY_PATTERN)
_UNIT_NS = {"s": NS_PER_S, "m": 60 * NS_PER_S, "h": NS_PER_HOUR, "d": NS_PER_DAY, "w": 7 * NS_PER_DAY}

# The time range every query endpoint takes: `from` inclusive, `to` exclusive.
FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=RFC3339_PATTERN,
        description="RFC 3339, inclusive; default: 24 h before `to`",
        examples=["2026-03-01T00:00:00Z"],
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to",
        pattern=RFC3339_PATTERN,
        description="RFC 3339, exclusive; default: now",
        examples=["2026-03-02T00:00:00Z"],
    ),
]

# A closed set from the vocabulary: the OpenAPI schema lists it, and a quantity is a
# measurement name, so it must never be free text.
QuantityName = StrEnum("QuantityName", {name: name for name in load_vocabulary().quantities})  # type: ignore[misc]


class Aggregate(StrEnum):
    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_ns: int
    end_ns: int

    @property
    def start(self) -> str:
        return ns_to_rfc3339(self.start_ns)

    @property
    def end(self) -> str:
        return ns_to_rfc3339(self.end_ns)


@dataclass(frozen=True, slots=True)
class Every:
    text: str
    ns: int

    @property
    def seconds(self) -> int:
        return self.ns // NS_PER_S


def parse_time(text: str, name: str) -> int:
    if not _RFC3339.match(text):
        raise ApiProblem(400, f"{name}: {text[:40]!r} is not an RFC 3339 time such as 2026-03-01T00:00:00Z")
    try:
        value = parse_iso_ns(text, None)
    except TimeFormatError as exc:
        raise ApiProblem(400, f"{name}: {exc}") from None
    if not 0 <= value <= MAX_TIME_NS:
        raise ApiProblem(400, f"{name}: must lie between 1970-01-01T00:00:00Z and {ns_to_rfc3339(MAX_TIME_NS)}")
    return value


def time_range(start: str | None, end: str | None, *, max_days: int) -> TimeRange:
    """``from``/``to`` (``to`` exclusive); defaults: the last 24 hours."""
    end_ns = parse_time(end, "to") if end is not None else now_ns()
    start_ns = parse_time(start, "from") if start is not None else max(0, end_ns - DEFAULT_RANGE_NS)
    if start_ns >= end_ns:
        raise ApiProblem(400, "from must be earlier than to")
    span = end_ns - start_ns
    if span > max_days * NS_PER_DAY:
        raise ApiProblem(
            400,
            f"range of {span / NS_PER_DAY:.1f} days exceeds the limit of {max_days} days; ask for a shorter from/to",
        )
    return TimeRange(start_ns, end_ns)


def parse_every(text: str) -> Every:
    if not _EVERY.match(text):
        raise ApiProblem(400, f"every: {text[:20]!r} is not an interval such as 30s, 15m, 1h, 1d or 1w")
    return Every(text, int(text[:-1]) * _UNIT_NS[text[-1]])


def bucket_count(span: TimeRange, every: Every) -> int:
    """Buckets InfluxDB's ``GROUP BY time(every)`` makes: aligned to the epoch, from the one holding ``from``."""
    first = span.start_ns - span.start_ns % every.ns
    return math.ceil((span.end_ns - first) / every.ns)


def check_buckets(span: TimeRange, every: Every, max_buckets: int) -> int:
    count = bucket_count(span, every)
    if count > max_buckets:
        raise ApiProblem(
            400,
            f"{count} buckets of {every.text} exceed the limit of {max_buckets}; use a longer every or a shorter range",
        )
    return count


def check_slug(value: str | None, name: str, known: set[str]) -> str | None:
    if value is None:
        return None
    if not is_slug(value):
        raise ApiProblem(400, f"{name}: {value[:40]!r} is not a slug (lowercase letters, digits and dashes)")
    if value not in known:
        raise ApiProblem(400, f"{name}: unknown {name} {value!r}; known: {', '.join(sorted(known)) or 'none'}")
    return value


def check_device(value: str | None) -> str | None:
    """Device ids are free text: length-checked here and always bound as a query parameter."""
    if value is None:
        return None
    if not is_storable_device_id(value):
        raise ApiProblem(
            400, f"device: must be 1..{MAX_DEVICE_ID} characters without control characters or backslashes"
        )
    return value


def check_cities(value: str, known: set[str], max_cities: int) -> list[str]:
    cities = value.split(",")
    if not value or any(not part for part in cities):
        raise ApiProblem(400, "cities: give city slugs separated by commas, e.g. aarhus,copenhagen")
    if len(cities) > max_cities:
        raise ApiProblem(400, f"cities: {len(cities)} cities exceed the limit of {max_cities}")
    seen: list[str] = []
    for city in cities:
        check_slug(city, "city", known)
        if city not in seen:
            seen.append(city)
    return seen


def check_limit(limit: int, maximum: int, what: str) -> int:
    if limit > maximum:
        raise ApiProblem(400, f"limit {limit} exceeds the maximum of {maximum} {what}; page with offset instead")
    return limit
