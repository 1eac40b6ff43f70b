"""Validated request values: quantity, time range, bucket width, aggregate, filters, cities and limits.

Every user value that reaches a query passes through here first. What passes is from a closed
set (quantities, aggregates), a known slug, an integer, or free text that is only ever bound as a
query parameter (device ids). Anything else raises ``InvalidRequest`` naming the value at fault.
Bounds are InfluxDB's as well as ours: no time, range or bucket width that InfluxDB can't
represent (int64 nanoseconds) gets through, so InfluxDB never has to refuse a statement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from core.names import MAX_DEVICE_ID, is_slug, is_storable_device_id
from core.timeutil import NS_PER_S, TimeFormatError, now_ns, ns_to_rfc3339, parse_iso_ns
from hub.read.errors import InvalidRequest, LimitExceeded, UnknownValue
from hub.vocabulary import Quantity, load_vocabulary

if TYPE_CHECKING:
    from hub.settings import Settings

NS_PER_HOUR = 3600 * NS_PER_S
NS_PER_DAY = 24 * NS_PER_HOUR
DEFAULT_RANGE_NS = NS_PER_DAY
# InfluxDB stores int64 ns; both ends of a range stay well inside it.
MAX_TIME_NS = 9_000_000_000 * NS_PER_S  # 2255-03-15
# An InfluxQL duration literal is int64 ns too ("overflowed duration" beyond it). Buckets go into
# statements in whole seconds, so the widest is the largest whole second below 2**63 ns: 106751d.
MAX_EVERY_NS = (2**63 - 1) // NS_PER_S * NS_PER_S
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
EVERY_PATTERN = r"^[1-9][0-9]{0,5}(s|m|h|d|w)$"
CITIES_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*(,[a-z0-9]+(-[a-z0-9]+)*)*$"
_RFC3339 = re.compile(RFC3339_PATTERN)
_EVERY = re.compile(EVERY_PATTERN)
_UNIT_NS = {"s": NS_PER_S, "m": 60 * NS_PER_S, "h": NS_PER_HOUR, "d": NS_PER_DAY, "w": 7 * NS_PER_DAY}

# A closed set from the vocabulary: a quantity is a measurement name, so it must never be free text.
QuantityName = StrEnum("QuantityName", {name: name for name in load_vocabulary().quantities})  # type: ignore[misc]


class Aggregate(StrEnum):
    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Limits:
    """The caps on one request (CITYLAB_API_MAX_* in the settings)."""

    max_range_days: int = 366
    max_page: int = 10_000
    max_csv_rows: int = 1_000_000
    max_buckets: int = 10_000
    max_cities: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_range_days=settings.api_max_range_days,
            max_page=settings.api_max_page,
            max_csv_rows=settings.api_max_csv_rows,
            max_buckets=settings.api_max_buckets,
            max_cities=settings.api_max_cities,
        )


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``[start_ns, end_ns)`` in ns since the epoch, validated by ``time_range`` or ``span``."""

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
    """A bucket width: ``text`` as asked (``15m``), ``ns`` a whole number of seconds in ns."""

    text: str
    ns: int

    @property
    def seconds(self) -> int:
        return self.ns // NS_PER_S


@dataclass(frozen=True, slots=True)
class Filters:
    """Tag filters; every value is bound as a query parameter, never written into the statement."""

    city: str | None = None
    lab: str | None = None
    device: str | None = None


def check_quantity(name: str) -> Quantity:
    """The vocabulary's entry for ``name``; an unknown name is an ``UnknownValue``."""
    quantities = load_vocabulary().quantities
    found = quantities.get(name)
    if found is None:
        raise UnknownValue(
            "quantity", f"quantity: unknown quantity {name[:40]!r}; known: {', '.join(quantities)}", list(quantities)
        )
    return found


def parse_time(text: str, field: str) -> int:
    """An RFC 3339 time with a zone, between 1970 and 2255, as ns since the epoch."""
    if not _RFC3339.match(text):
        raise InvalidRequest(field, f"{field}: {text[:40]!r} is not an RFC 3339 time such as 2026-03-01T00:00:00Z")
    try:
        value = parse_iso_ns(text, None)
    except TimeFormatError as exc:
        raise InvalidRequest(field, f"{field}: {exc}") from None
    check_time_ns(value, field)
    return value


def check_time_ns(value: int, field: str) -> int:
    if not 0 <= value <= MAX_TIME_NS:
        raise InvalidRequest(field, f"{field}: must lie between 1970-01-01T00:00:00Z and {ns_to_rfc3339(MAX_TIME_NS)}")
    return value


def span(start_ns: int, end_ns: int, *, max_days: int) -> TimeRange:
    """``[start_ns, end_ns)`` checked: inside 1970..2255, start before end, at most ``max_days`` long."""
    check_time_ns(start_ns, "from")
    check_time_ns(end_ns, "to")
    if start_ns >= end_ns:
        raise InvalidRequest("from", "from must be earlier than to")
    length = end_ns - start_ns
    if length > max_days * NS_PER_DAY:
        raise LimitExceeded(
            "to",
            f"range of {length / NS_PER_DAY:.1f} days exceeds the limit of {max_days} days; ask for a shorter from/to",
            max_days,
        )
    return TimeRange(start_ns, end_ns)


def time_range(start: str | None, end: str | None, *, max_days: int) -> TimeRange:
    """``from``/``to`` as RFC 3339 text (``to`` exclusive); defaults: the last 24 hours."""
    end_ns = parse_time(end, "to") if end is not None else now_ns()
    start_ns = parse_time(start, "from") if start is not None else max(0, end_ns - DEFAULT_RANGE_NS)
    return span(start_ns, end_ns, max_days=max_days)


def parse_every(text: str) -> Every:
    """A bucket width such as ``30s``, ``15m``, ``1h``, ``1d`` or ``1w``, no wider than InfluxDB can represent."""
    if not _EVERY.match(text):
        raise InvalidRequest("every", f"every: {text[:20]!r} is not an interval such as 30s, 15m, 1h, 1d or 1w")
    return _check_every(Every(text, int(text[:-1]) * _UNIT_NS[text[-1]]))


def every_of_seconds(seconds: int) -> Every:
    """A bucket width given in seconds (e.g. from an ISO 8601 duration), written in its largest whole unit."""
    if seconds < 1:
        raise InvalidRequest("every", f"every: {seconds} s is not a positive whole number of seconds")
    unit = next(unit for unit in ("w", "d", "h", "m", "s") if seconds * NS_PER_S % _UNIT_NS[unit] == 0)
    return _check_every(Every(f"{seconds * NS_PER_S // _UNIT_NS[unit]}{unit}", seconds * NS_PER_S))


def _check_every(every: Every) -> Every:
    if every.ns > MAX_EVERY_NS:
        longest = MAX_EVERY_NS // NS_PER_DAY
        raise LimitExceeded(
            "every",
            f"every: {every.text} is longer than InfluxDB can represent; the longest is {longest}d",
            MAX_EVERY_NS // NS_PER_S,
        )
    return every


def bucket_count(window: TimeRange, every: Every) -> int:
    """Buckets InfluxDB's ``GROUP BY time(every)`` makes: aligned to the epoch, from the one holding ``from``."""
    first = window.start_ns - window.start_ns % every.ns
    return math.ceil((window.end_ns - first) / every.ns)


def check_buckets(window: TimeRange, every: Every, max_buckets: int) -> int:
    count = bucket_count(window, every)
    if count > max_buckets:
        raise LimitExceeded(
            "every",
            f"{count} buckets of {every.text} exceed the limit of {max_buckets}; use a longer every or a shorter range",
            max_buckets,
        )
    return count


def check_slug(value: str | None, field: str, known: set[str]) -> str | None:
    """``None``, or a slug from ``known`` (the cities or labs of the lab configs)."""
    if value is None:
        return None
    if not is_slug(value):
        raise InvalidRequest(field, f"{field}: {value[:40]!r} is not a slug (lowercase letters, digits and dashes)")
    if value not in known:
        names = sorted(known)
        raise UnknownValue(field, f"{field}: unknown {field} {value!r}; known: {', '.join(names) or 'none'}", names)
    return value


def check_device(value: str | None) -> str | None:
    """Device ids are free text: length-checked here and always bound as a query parameter."""
    if value is None:
        return None
    if not is_storable_device_id(value):
        raise InvalidRequest(
            "device", f"device: must be 1..{MAX_DEVICE_ID} characters without control characters or backslashes"
        )
    return value


def check_cities(value: str, known: set[str], max_cities: int) -> list[str]:
    """A comma-separated list of known city slugs, duplicates dropped, in the order given."""
    cities = value.split(",")
    if not value or any(not part for part in cities):
        raise InvalidRequest("cities", "cities: give city slugs separated by commas, e.g. aarhus,copenhagen")
    if len(cities) > max_cities:
        raise LimitExceeded("cities", f"cities: {len(cities)} cities exceed the limit of {max_cities}", max_cities)
    seen: list[str] = []
    for city in cities:
        check_slug(city, "city", known)
        if city not in seen:
            seen.append(city)
    return seen


def check_limit(limit: int, maximum: int, what: str) -> int:
    if limit > maximum:
        raise LimitExceeded(
            "limit", f"limit {limit} exceeds the maximum of {maximum} {what}; page with offset instead", maximum
        )
    return limit
