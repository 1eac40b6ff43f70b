"""Validation of every NGSI-LD query parameter, before anything reaches InfluxDB.

Parsed values are closed sets (entity types, attribute names, aggregation methods), numbers,
bounded durations, device keys (bound as InfluxQL parameters later) or Python-side filters
(``idPattern``, ``q``, geo-queries), which never become query text.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.timeutil import NS_PER_S, TimeFormatError, parse_iso_ns
from hub.ngsi.entities import Representation, parse_entity_id
from hub.ngsi.errors import ErrorType, NgsiLdError, bad_request

MAX_LIST_ITEMS = 100
MAX_PATTERN_LENGTH = 256
MAX_Q_LENGTH = 1024
MAX_Q_TERMS = 32
MAX_POLYGON_POINTS = 1000
MAX_TIME_NS = 9_000_000_000 * NS_PER_S  # 2255-03-15, as the JSON API
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse_list(text: str | None, name: str) -> list[str] | None:
    if text is None:
        return None
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise bad_request(f"{name}: give a comma-separated list without empty items")
    if len(items) > MAX_LIST_ITEMS:
        raise bad_request(f"{name}: {len(items)} items exceed the limit of {MAX_LIST_ITEMS}")
    return items


def parse_names(text: str | None, name: str) -> list[str] | None:
    items = parse_list(text, name)
    if items is None:
        return None
    for item in items:
        if not _NAME.match(item):
            raise bad_request(f"{name}: {item[:40]!r} is not an attribute or type name")
    return items


def parse_types(text: str | None, known_iris: dict[str, str]) -> list[str] | None:
    """Entity types by short name or by their Smart Data Models IRI (``known_iris``: IRI -> name)."""
    items = parse_list(text, "type")
    if items is None:
        return None
    names = []
    for item in items:
        if item in known_iris:
            names.append(known_iris[item])
        elif _NAME.match(item):
            names.append(item)  # an unknown type matches nothing, as in any broker
        else:
            raise bad_request(f"type: {item[:60]!r} is neither a type name nor a known type IRI")
    return names


def parse_ids(text: str | None) -> list[str] | None:
    items = parse_list(text, "id")
    if items is None:
        return None
    for item in items:
        if len(item) > 512 or ":" not in item:
            raise bad_request(f"id: {item[:60]!r} is not a URI")
    return items


def check_entity_id(text: str) -> tuple[str, Any]:
    """A path's entity id: the hub's own ids only; anything else is not found here."""
    if len(text) > 512 or ":" not in text:
        raise bad_request(f"entity id {text[:60]!r} is not a URI")
    parsed = parse_entity_id(text)
    if parsed is None:
        raise NgsiLdError(ErrorType.RESOURCE_NOT_FOUND, f"no entity {text[:200]!r}")
    return parsed


# --- idPattern ---------------------------------------------------------------------------------------

_sre: Any = importlib.import_module("re._parser")
_UNBOUNDED = _sre.MAXREPEAT
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT}


MAX_UNBOUNDED_REPEATS = 2


def _unsafe(items: Any, inside_repeat: bool, counter: list[int]) -> bool:
    """True for what makes backtracking blow up: nested repeats, alternatives under a repeat,
    backreferences, or more than MAX_UNBOUNDED_REPEATS unbounded repeats (``.*.*.*`` is O(n³))."""
    for op, argument in items:
        if op in _REPEATS:
            _low, high, body = argument
            if inside_repeat:
                return True
            if high == _UNBOUNDED or high > 64:
                counter[0] += 1
                if counter[0] > MAX_UNBOUNDED_REPEATS:
                    return True
            if _unsafe(body, True, counter):
                return True
        elif op is _sre.SUBPATTERN:
            if _unsafe(argument[-1], inside_repeat, counter):
                return True
        elif op is _sre.BRANCH:
            if inside_repeat or any(_unsafe(branch, inside_repeat, counter) for branch in argument[1]):
                return True
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            if _unsafe(argument[1], inside_repeat, counter):
                return True
        elif op is _sre.GROUPREF or op is _sre.GROUPREF_EXISTS:
            return True
    return False


def parse_id_pattern(text: str | None) -> re.Pattern[str] | None:
    """A regular expression over entity ids; nested unbounded repeats (catastrophic backtracking) are refused."""
    if text is None:
        return None
    if not text or len(text) > MAX_PATTERN_LENGTH:
        raise bad_request(f"idPattern: give 1..{MAX_PATTERN_LENGTH} characters")
    try:
        parsed = _sre.parse(text)
        pattern = re.compile(text)
    except (re.error, RecursionError, OverflowError) as exc:
        raise bad_request(f"idPattern: not a regular expression: {exc}") from None
    if _unsafe(list(parsed), False, [0]):
        raise NgsiLdError(
            ErrorType.TOO_COMPLEX_QUERY,
            f"idPattern: nested or alternating repetition, backreferences and more than {MAX_UNBOUNDED_REPEATS} "
            "unbounded repeats are not supported (they can take exponential time)",
        )
    return pattern


# --- q: simple comparisons ---------------------------------------------------------------------------

Entity = dict[str, Any]
Predicate = Callable[[Entity], bool]
_Q_TERM = re.compile(
    r"^(?P<path>[A-Za-z][A-Za-z0-9_]{0,63}(?:\[[A-Za-z][A-Za-z0-9_]{0,63}\]|\.(?:observedAt|unitCode))?)"
    r"(?:(?P<op>==|!=|>=|<=|>|<|~=|!~=)(?P<value>.+))?$"
)
_RANGE = re.compile(r"^(?P<low>[^.]+(?:\.\d+)?)\.\.(?P<high>.+)$")


def _literal(text: str) -> float | str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    try:
        number = float(text)
    except ValueError:
        if _RFC3339.match(text):
            return text
        raise bad_request(f"q: {text[:40]!r} is neither a number nor a quoted string") from None
    if not math.isfinite(number):
        raise bad_request("q: values must be finite numbers")
    return number


def _member_value(entity: Entity, path: str) -> object:
    """The value a q path names, in any representation the hub renders (it filters normalized entities)."""
    sub: str | None = None
    meta: str | None = None
    if "[" in path:
        path, sub = path[:-1].split("[", 1)
    elif "." in path:
        path, meta = path.split(".", 1)
    member = entity.get(path)
    if member is None:
        return None
    if isinstance(member, dict) and meta is not None:
        return member.get(meta)
    value = member.get("value") if isinstance(member, dict) and "value" in member else member
    if sub is not None:
        return value.get(sub) if isinstance(value, dict) else None
    return value


def _compare(actual: object, op: str, expected: float | str | tuple[float | str, float | str]) -> bool:
    if actual is None or isinstance(actual, dict | list | bool):
        return False
    if isinstance(expected, tuple):
        low, high = expected
        return _compare(actual, ">=", low) and _compare(actual, "<=", high)
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        if op in ("~=", "!~="):
            return (re.search(expected, actual) is not None) == (op == "~=")
    elif not isinstance(actual, int | float):
        return False
    a: Any = actual
    e: Any = expected
    if op == "==":
        return bool(a == e)
    if op == "!=":
        return bool(a != e)
    if op == ">":
        return bool(a > e)
    if op == ">=":
        return bool(a >= e)
    if op == "<":
        return bool(a < e)
    if op == "<=":
        return bool(a <= e)
    return False


def _term(text: str) -> tuple[Predicate, str]:
    match = _Q_TERM.match(text)
    if match is None:
        raise bad_request(f"q: can't read {text[:60]!r}; use attribute<op>value with ==, !=, >, >=, <, <=")
    path, op, raw = match["path"], match["op"], match["value"]
    attribute = re.split(r"[\[.]", path)[0]
    if op is None:
        return (lambda entity: _member_value(entity, path) is not None), attribute
    expected: float | str | tuple[float | str, float | str]
    ranged = _RANGE.match(raw) if op in ("==", "!=") else None
    if op in ("~=", "!~="):
        pattern = _literal(raw)
        if not isinstance(pattern, str):
            raise bad_request("q: ~= needs a quoted pattern")
        parse_id_pattern(pattern)  # the same safety rules as idPattern
        expected = pattern
    elif ranged is not None:
        expected = (_literal(ranged["low"]), _literal(ranged["high"]))
    elif raw.count(",") and op in ("==", "!="):
        values = [_literal(part) for part in raw.split(",")]
        return (
            lambda entity: any(_compare(_member_value(entity, path), "==", v) for v in values) == (op == "=="),
            attribute,
        )
    else:
        expected = _literal(raw)
    if isinstance(expected, tuple) and op == "!=":
        return (lambda entity: not _compare(_member_value(entity, path), "==", expected)), attribute
    return (lambda entity: _compare(_member_value(entity, path), op, expected)), attribute


@dataclass(frozen=True, slots=True)
class Query:
    predicate: Predicate
    attributes: frozenset[str]  # every attribute the query names


def parse_q(text: str | None) -> Query | None:
    """``a>1;b==2`` (and), ``a>1|b<2`` (or; ``;`` binds tighter). No parentheses."""
    if text is None:
        return None
    if not text or len(text) > MAX_Q_LENGTH:
        raise bad_request(f"q: give 1..{MAX_Q_LENGTH} characters")
    if "(" in text or ")" in text:
        raise NgsiLdError(ErrorType.TOO_COMPLEX_QUERY, "q: parentheses are not supported; use ; (and) and | (or)")
    alternatives: list[list[Predicate]] = []
    names: set[str] = set()
    count = 0
    for alternative in text.split("|"):
        terms = []
        for part in alternative.split(";"):
            count += 1
            if count > MAX_Q_TERMS:
                raise NgsiLdError(ErrorType.TOO_COMPLEX_QUERY, f"q: more than {MAX_Q_TERMS} comparisons")
            predicate, attribute = _term(part.strip())
            terms.append(predicate)
            names.add(attribute)
        alternatives.append(terms)

    def matches(entity: Entity) -> bool:
        return any(all(term(entity) for term in terms) for terms in alternatives)

    return Query(matches, frozenset(names))


# --- geo-queries -------------------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class GeoQuery:
    georel: str
    geometry: str
    coordinates: Any
    max_distance: float | None = None
    min_distance: float | None = None

    def matches(self, lat: float, lon: float) -> bool:
        if self.georel == "near":
            distance = haversine_m(lat, lon, self.coordinates[1], self.coordinates[0])
            if self.max_distance is not None and distance > self.max_distance:
                return False
            return not (self.min_distance is not None and distance < self.min_distance)
        if self.geometry == "Point":
            same = math.isclose(lat, self.coordinates[1], abs_tol=1e-9) and math.isclose(
                lon, self.coordinates[0], abs_tol=1e-9
            )
            inside = same
        else:
            inside = in_polygon(lon, lat, self.coordinates)
        if self.georel in ("within", "intersects", "equals"):
            return inside if self.georel != "equals" or self.geometry == "Point" else False
        return not inside  # disjoint


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _in_ring(x: float, y: float, ring: list[list[float]]) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def in_polygon(x: float, y: float, rings: list[list[list[float]]]) -> bool:
    """Inside the outer ring and outside every hole (GeoJSON Polygon, [lon, lat] pairs)."""
    return _in_ring(x, y, rings[0]) and not any(_in_ring(x, y, hole) for hole in rings[1:])


def _position(value: Any) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) not in (2, 3)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise bad_request("coordinates: a position is [lon, lat]")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad_request(f"coordinates: [{lon}, {lat}] is not a [lon, lat] position")
    return [lon, lat]


def parse_geo(
    georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str | None
) -> GeoQuery | None:
    if georel is None and geometry is None and coordinates is None:
        return None
    if georel is None or geometry is None or coordinates is None:
        raise bad_request("a geo-query needs georel, geometry and coordinates together")
    if geoproperty not in (None, "location"):
        raise bad_request("geoproperty: the hub's entities have only 'location'")
    import json

    if len(coordinates) > 64_000:
        raise bad_request("coordinates: too long")
    try:
        parsed = json.loads(coordinates)
    except ValueError:
        raise bad_request("coordinates: not a JSON array") from None
    parts = georel.split(";")
    relation = parts[0]
    max_distance = min_distance = None
    for modifier in parts[1:]:
        match = re.match(r"^(maxDistance|minDistance)==(\d+(?:\.\d+)?)$", modifier)
        if match is None or relation != "near":
            raise bad_request(f"georel: {modifier[:40]!r} is not maxDistance==<m> or minDistance==<m> after near")
        if match[1] == "maxDistance":
            max_distance = float(match[2])
        else:
            min_distance = float(match[2])
    if relation == "near":
        if geometry != "Point":
            raise NgsiLdError(ErrorType.OPERATION_NOT_SUPPORTED, "georel near: geometry must be Point")
        if max_distance is None and min_distance is None:
            raise bad_request("georel near needs ;maxDistance==<metres> or ;minDistance==<metres>")
        return GeoQuery("near", "Point", _position(parsed), max_distance, min_distance)
    if relation not in ("within", "intersects", "disjoint", "equals", "contains", "overlaps"):
        raise bad_request(f"georel: {relation[:20]!r} is not near, within, intersects, disjoint, equals")
    if relation in ("contains", "overlaps"):
        raise NgsiLdError(
            ErrorType.OPERATION_NOT_SUPPORTED,
            f"georel {relation}: the hub's entities are points, which contain nothing",
        )
    if geometry == "Point":
        return GeoQuery(relation, "Point", _position(parsed))
    if geometry != "Polygon":
        raise NgsiLdError(ErrorType.OPERATION_NOT_SUPPORTED, f"geometry {geometry[:20]!r}: use Point or Polygon")
    if relation == "within" or relation in ("intersects", "disjoint", "equals"):
        if not isinstance(parsed, list) or not parsed or not all(isinstance(ring, list) for ring in parsed):
            raise bad_request("coordinates: a Polygon is [[[lon, lat], …]]")
        rings = [[_position(p) for p in ring] for ring in parsed]
        if sum(len(r) for r in rings) > MAX_POLYGON_POINTS:
            raise bad_request(f"coordinates: more than {MAX_POLYGON_POINTS} positions")
        if any(len(r) < 4 or r[0] != r[-1] for r in rings):
            raise bad_request("coordinates: each Polygon ring needs 4 or more positions, the last equal to the first")
        return GeoQuery(relation, "Polygon", rings)
    raise bad_request(f"georel {relation}")  # pragma: no cover - all relations handled above


# --- representation, paging, time --------------------------------------------------------------------

_REPRESENTATIONS: dict[str, Representation] = {
    "keyValues": "keyValues",
    "concise": "concise",
    "normalized": "normalized",
}


@dataclass(frozen=True, slots=True)
class Options:
    representation: Representation
    temporal_values: bool
    aggregated_values: bool


def parse_options(options: str | None, format_: str | None, *, temporal: bool) -> Options:
    words = parse_list(options, "options") or []
    if format_ is not None:
        words.append(format_)
    allowed = {"keyValues", "concise", "normalized", "sysAttrs"}
    if temporal:
        allowed |= {"temporalValues", "aggregatedValues"}
    for word in words:
        if word not in allowed:
            raise bad_request(f"options/format: {word[:30]!r} is not one of {', '.join(sorted(allowed))}")
    if "sysAttrs" in words:
        raise NgsiLdError(
            ErrorType.OPERATION_NOT_SUPPORTED, "sysAttrs: the hub keeps no createdAt/modifiedAt for its entities"
        )
    shapes = [w for w in words if w in _REPRESENTATIONS]
    if len(set(shapes)) > 1:
        raise bad_request(f"options/format: choose one of {', '.join(sorted(set(shapes)))}")
    temporal_values = "temporalValues" in words
    aggregated = "aggregatedValues" in words
    if temporal_values and aggregated:
        raise bad_request("options/format: temporalValues and aggregatedValues exclude each other")
    representation = _REPRESENTATIONS[shapes[0]] if shapes else "normalized"
    if temporal and representation == "keyValues" and not (temporal_values or aggregated):
        temporal_values = True  # the temporal keyValues form is the simplified one
    return Options(representation, temporal_values, aggregated)


def parse_int(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    if not re.fullmatch(r"\d{1,9}", text):
        raise bad_request(f"{name}: {text[:20]!r} is not a whole number")
    value = int(text)
    if value < low:
        raise bad_request(f"{name}: must be at least {low}")
    if value > high:
        raise NgsiLdError(ErrorType.TOO_MANY_RESULTS, f"{name}: {value} exceeds the limit of {high}")
    return value


def parse_bool(text: str | None, name: str) -> bool:
    if text is None or text == "false":
        return False
    if text == "true":
        return True
    raise bad_request(f"{name}: use true or false")


def parse_time(text: str, name: str) -> int:
    if not _RFC3339.match(text):
        raise bad_request(f"{name}: {text[:40]!r} is not a date-time such as 2026-03-01T00:00:00Z")
    try:
        value = parse_iso_ns(text, None)
    except TimeFormatError as exc:
        raise bad_request(f"{name}: {exc}") from None
    if not 0 <= value <= MAX_TIME_NS:
        raise bad_request(f"{name}: must lie between 1970 and 2255")
    return value


_DURATION = re.compile(
    r"^P(?!$)(?:(?P<w>\d{1,6})W)?(?:(?P<d>\d{1,6})D)?(?:T(?=\d)(?:(?P<h>\d{1,7})H)?(?:(?P<m>\d{1,9})M)?(?:(?P<s>\d{1,10})S)?)?$"
)


def parse_duration_s(text: str, name: str) -> int:
    """An ISO 8601 duration in whole weeks, days, hours, minutes and seconds (``PT1H``, ``P1D``, ``PT0S``)."""
    if re.match(r"^P(\d+Y|\d+M|.*\d+M.*T)", text) and "T" not in text.split("M")[0]:
        raise bad_request(f"{name}: years and months have no fixed length; use weeks, days, hours (e.g. P30D)")
    match = _DURATION.match(text)
    if match is None:
        raise bad_request(f"{name}: {text[:30]!r} is not an ISO 8601 duration such as PT1H, PT15M or P1D")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    return parts["w"] * 604800 + parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


TimeRel = Literal["before", "after", "between"]


@dataclass(frozen=True, slots=True)
class TimeSpan:
    start_ns: int
    end_ns: int  # exclusive


def parse_time_span(
    timerel: str | None, time_at: str | None, end_time_at: str | None, *, now_ns: int, max_days: int
) -> TimeSpan:
    """``[start, end)``. before: the max range ending at timeAt; after: from timeAt; none: the max range to now."""
    max_ns = max_days * 86400 * NS_PER_S
    if timerel is None:
        if time_at is not None or end_time_at is not None:
            raise bad_request("timeAt and endTimeAt need timerel")
        return TimeSpan(max(0, now_ns - max_ns), now_ns + 1)
    if timerel not in ("before", "after", "between"):
        raise bad_request(f"timerel: {timerel[:20]!r} is not before, after or between")
    if time_at is None:
        raise bad_request(f"timerel={timerel} needs timeAt")
    start = parse_time(time_at, "timeAt")
    if timerel == "before":
        if end_time_at is not None:
            raise bad_request("endTimeAt goes with timerel=between only")
        return TimeSpan(max(0, start - max_ns), start)
    if timerel == "after":
        if end_time_at is not None:
            raise bad_request("endTimeAt goes with timerel=between only")
        return TimeSpan(start + 1, start + 1 + max_ns)
    if end_time_at is None:
        raise bad_request("timerel=between needs endTimeAt")
    end = parse_time(end_time_at, "endTimeAt")
    if end <= start:
        raise bad_request("endTimeAt must be later than timeAt")
    if end - start > max_ns:
        raise NgsiLdError(
            ErrorType.TOO_MANY_RESULTS,
            f"timeAt..endTimeAt spans {(end - start) / (86400 * NS_PER_S):.1f} days; the limit is {max_days} days",
        )
    return TimeSpan(start, end)


# NGSI-LD aggregation methods the hub computes, and the InfluxQL function of each (a closed set).
AGGREGATES = {"avg": "mean", "min": "min", "max": "max", "sum": "sum", "totalCount": "count", "stddev": "stddev"}


def parse_aggr_methods(text: str | None) -> list[str]:
    methods = parse_list(text, "aggrMethods")
    if not methods:
        raise bad_request("aggregatedValues needs aggrMethods, e.g. aggrMethods=avg,min,max")
    for method in methods:
        if method not in AGGREGATES:
            if method in ("distinctCount", "sumsq"):
                raise NgsiLdError(ErrorType.OPERATION_NOT_SUPPORTED, f"aggrMethods: {method} is not computed")
            raise bad_request(f"aggrMethods: {method[:20]!r} is not one of {', '.join(AGGREGATES)}")
    return list(dict.fromkeys(methods))


Timeproperty = Literal["observedAt"]


def check_timeproperty(text: str | None) -> None:
    if text not in (None, "observedAt"):
        raise NgsiLdError(ErrorType.OPERATION_NOT_SUPPORTED, "timeproperty: the hub's readings have observedAt only")
