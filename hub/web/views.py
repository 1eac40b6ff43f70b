"""What each page shows, worked out from the data module, the bands, the lab configs and the reader's language.

The views hold no sentence of their own: every word comes from the catalogues (``Translator``),
every number from ``hub.web.data``, and every link to the JSON API from ``links``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from babel.numbers import get_decimal_symbol, get_group_symbol

from hub.labs import LabConfig
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import Quantity, load_vocabulary
from hub.web import data
from hub.web.bands import Level, eu_limit, load_bands, who_guideline
from hub.web.data import NS_PER_DAY, NS_PER_HOUR, TimeRange
from hub.web.i18n import MissingMessageError, Translator
from hub.web.maps import Marker, Tiles, fit_view, render_svg

_NS_PER_S = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_S

# "Every city now": the air pollutants with EAQI bands, then temperature and noise.
NOW_AIR = ("pm25", "pm10", "no2")
NOW_OTHER = ("temperature", "LAeq")
# The quantities a citizen compares first; any other quantity with data follows in vocabulary order.
COMPARE_FIRST = ("pm25", "pm10", "no2", "o3", "so2", "temperature", "relativeHumidity", "LAeq", "windSpeed")
DEFAULT_QUANTITY = "pm25"
# A city whose newest reading is older than this is marked as not current.
STALE_AFTER_NS = 2 * NS_PER_HOUR
# Readings shown with fewer decimals than one (counts, percentages, degrees) or more (water level).
DECIMALS = {"intensity": 0, "occupancy": 0, "fillingLevel": 0, "windDirection": 0, "waterLevel": 2}
# The least latitude a city map spans.
CITY_MAP_SPAN_DEG = 0.12
# Days of readings behind a city page's CSV links.
DOWNLOAD_DAYS = 7


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    span_ns: int
    every_s: int  # the trend charts' bucket


PERIODS: dict[str, Period] = {
    "24h": Period("24h", NS_PER_DAY, 3600),
    "7d": Period("7d", 7 * NS_PER_DAY, 3600),
    "30d": Period("30d", 30 * NS_PER_DAY, 6 * 3600),
}
DEFAULT_PERIOD = "7d"


class BadChoiceError(ValueError):
    """A quantity or period the page does not offer; the message names the choices."""


# --- the network, from the lab configs ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class City:
    slug: str
    config_name: str
    country: str
    zone: ZoneInfo
    lat: float
    lon: float
    labs: tuple[LabConfig, ...]


def cities_of(labs: dict[str, LabConfig]) -> dict[str, City]:
    grouped: dict[str, list[LabConfig]] = {}
    for lab in labs.values():
        grouped.setdefault(lab.city, []).append(lab)
    cities = {}
    for slug, members in grouped.items():
        members.sort(key=lambda lab: lab.lab)
        first = members[0]
        lat = sum(m.location.lat for m in members) / len(members)
        lon = sum(m.location.lon for m in members) / len(members)
        cities[slug] = City(slug, first.city_name, first.country, first.zone, lat, lon, tuple(members))
    return cities


# --- words and numbers ----------------------------------------------------------------------


def optional(tr: Translator, key: str, default: str) -> str:
    """A catalogue entry that may be absent (a city added by configuration): the config's own name then."""
    try:
        return tr(key)
    except MissingMessageError:
        return default


def city_name(tr: Translator, city: City) -> str:
    return optional(tr, f"city.{city.slug}", city.config_name)


def quantity_name(tr: Translator, quantity: str) -> str:
    return optional(tr, f"quantity.{quantity}", quantity)


def unit_text(tr: Translator, unit: str) -> str:
    return optional(tr, f"unit.{unit}", unit)


def value_text(tr: Translator, quantity: str, value: float) -> str:
    return tr.number(value, DECIMALS.get(quantity, 1))


@dataclass(frozen=True, slots=True)
class Reference:
    """A WHO guideline or EU limit, worded: "WHO 2021 guideline (24 h): 15 µg/m³"."""

    value: float
    text: str
    short: str


def references(tr: Translator, spec: Quantity) -> tuple[Reference | None, Reference | None]:
    unit = unit_text(tr, spec.unit)
    found: list[Reference | None] = []
    for key, ref in (("who", who_guideline(spec)), ("eu", eu_limit(spec))):
        if ref is None:
            found.append(None)
            continue
        amount = f"{value_text(tr, spec.name, ref.value)} {unit}"
        period = optional(tr, f"averaging.{ref.period}", ref.period)
        found.append(
            Reference(
                ref.value,
                tr(f"reference.{key}", period=period, value=amount),
                tr(f"reference.{key}_short", value=amount),
            )
        )
    return found[0], found[1]


# --- "every city now" -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    quantity: str
    label: str
    unit: str
    value: float | None = None
    text: str = ""
    level: Level | None = None
    level_word: str = ""
    hour: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CityNow:
    slug: str
    name: str
    url: str
    cells: tuple[Cell, ...]
    last_iso: str  # RFC 3339, empty when the city has no reading
    last_text: str
    stale: bool


def now_cells(
    tr: Translator,
    city: City,
    latest: dict[str, dict[str, data.HourlyMean]],
    quantities: tuple[str, ...],
    measured: set[tuple[str, str]],
) -> tuple[Cell, ...]:
    """``measured``: (city, quantity) pairs some device has ever reported, to tell "no recent data" from
    "not measured here"."""
    vocabulary = load_vocabulary()
    bands = load_bands()
    cells = []
    for quantity in quantities:
        spec = vocabulary.quantities[quantity]
        mean = latest.get(quantity, {}).get(city.slug)
        label, unit = quantity_name(tr, quantity), unit_text(tr, spec.unit)
        if mean is None:
            missing = tr("now.no_data") if (city.slug, quantity) in measured else tr("now.not_measured")
            cells.append(Cell(quantity, label, unit, text=missing))
            continue
        level = bands.level(quantity, mean.value)
        who, eu = references(tr, spec)
        flags = []
        if eu is not None and mean.value > eu.value:
            flags.append(tr("now.above_eu"))
        elif who is not None and mean.value > who.value:
            flags.append(tr("now.above_who"))
        end = tr.time(mean.start_ns + NS_PER_HOUR, city.zone)
        cells.append(
            Cell(
                quantity,
                label,
                unit,
                value=mean.value,
                text=value_text(tr, quantity, mean.value),
                level=level,
                level_word=tr(f"band.{level.name}") if level else "",
                hour=tr("now.hour_until", time=end),
                flags=tuple(flags),
            )
        )
    return tuple(cells)


def latest_by_quantity(
    client: InfluxQLClient, quantities: tuple[str, ...], cities: list[str], now_ns: int
) -> dict[str, dict[str, data.HourlyMean]]:
    return {q: data.latest_hourly(client, q, cities, now_ns) for q in quantities}


def freshness(tr: Translator, last_ns: int | None, now_ns: int) -> tuple[str, bool]:
    if last_ns is None:
        return tr("now.never"), True
    return tr("now.last_reading", ago=tr.ago(last_ns, now_ns)), now_ns - last_ns > STALE_AFTER_NS


# --- "compare" ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RankRow:
    slug: str
    name: str
    url: str
    mean: float
    text: str
    max_text: str
    readings: int
    bar: float  # 0..1 of the chart's width


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    selected: bool


@dataclass
class Comparison:
    quantity: str
    label: str
    unit: str
    period: Period
    period_label: str
    span: TimeRange
    ranking: list[RankRow]
    without_data: list[str]
    who: Reference | None
    eu: Reference | None
    who_at: float | None  # where the guideline line stands, 0..1
    eu_at: float | None
    quantity_options: list[Option]
    period_options: list[Option]
    api_url: str
    trends_url: str


def compare_quantities(available: list[str]) -> list[str]:
    first = [q for q in COMPARE_FIRST if q in available]
    return first + [q for q in load_vocabulary().quantities if q in available and q not in first]


def end_of_minute(now_ns: int) -> int:
    """The span's exclusive end: the next whole minute, so the page's API link repeats the same span."""
    return now_ns - now_ns % _NS_PER_MINUTE + _NS_PER_MINUTE


def choose(quantity: str | None, period: str | None, available: list[str]) -> tuple[str, Period]:
    options = compare_quantities(available)
    if quantity is None:
        quantity = DEFAULT_QUANTITY if DEFAULT_QUANTITY in options or not options else options[0]
    elif quantity not in options:
        known = ", ".join(options) or "none yet"
        raise BadChoiceError(f"quantity {quantity[:40]!r} has no readings to compare; choose one of: {known}")
    if period is None:
        period = DEFAULT_PERIOD
    elif period not in PERIODS:
        raise BadChoiceError(f"period {period[:20]!r} is not offered; choose one of: {', '.join(PERIODS)}")
    return quantity, PERIODS[period]


def comparison(
    client: InfluxQLClient,
    tr: Translator,
    cities: dict[str, City],
    quantity: str,
    period: Period,
    available: list[str],
    now_ns: int,
    links: Callable[..., str],
) -> Comparison:
    spec = load_vocabulary().quantities[quantity]
    end = end_of_minute(now_ns)
    span = TimeRange(end - period.span_ns, end)
    slugs = sorted(cities)
    totals = data.city_totals(client, quantity, slugs, span)
    who, eu = references(tr, spec)
    ranked = sorted(((slug, totals[slug]) for slug in slugs if slug in totals), key=lambda item: -item[1].mean)
    top = max([t.mean for _, t in ranked] + [r.value for r in (who, eu) if r is not None and r.value > 0] + [0.0])
    lowest = min([t.mean for _, t in ranked] + [0.0])
    scale = (top - lowest) or 1.0

    def share(value: float) -> float:
        return max(0.0, min(1.0, (value - lowest) / scale))

    rows = [
        RankRow(
            slug,
            city_name(tr, cities[slug]),
            f"/city/{slug}",
            total.mean,
            value_text(tr, quantity, total.mean),
            value_text(tr, quantity, total.max),
            total.count,
            share(total.mean),
        )
        for slug, total in ranked
    ]
    missing = sorted(city_name(tr, cities[s]) for s in slugs if s not in totals)
    quantity_options = [Option(q, quantity_name(tr, q), q == quantity) for q in compare_quantities(available)]
    period_options = [Option(p, tr(f"period.{p}"), p == period.key) for p in PERIODS]
    every = f"{period.every_s // 3600}h"
    return Comparison(
        quantity=quantity,
        label=quantity_name(tr, quantity),
        unit=unit_text(tr, spec.unit),
        period=period,
        period_label=tr(f"period.{period.key}"),
        span=span,
        ranking=rows,
        without_data=missing,
        who=who,
        eu=eu,
        who_at=share(who.value) if who is not None and ranked else None,
        eu_at=share(eu.value) if eu is not None and ranked and eu.value <= top else None,
        quantity_options=quantity_options,
        period_options=period_options,
        api_url=links(
            "/compare", quantity=quantity, cities=",".join(slugs), **{"from": span.start, "to": span.end}, every=every
        ),
        trends_url=f"/page-data/trends?quantity={quantity}&period={period.key}&lang={tr.language}",
    )


def trends(
    client: InfluxQLClient, tr: Translator, cities: dict[str, City], quantity: str, period: Period, now_ns: int
) -> dict[str, object]:
    """The small multiples' data: each city's bucket means, and the guideline to draw in."""
    spec = load_vocabulary().quantities[quantity]
    end = end_of_minute(now_ns)
    span = TimeRange(end - period.span_ns, end)
    slugs = sorted(cities)
    buckets = data.city_trends(client, quantity, slugs, span, period.every_s)
    who, eu = references(tr, spec)
    return {
        "quantity": quantity,
        "label": quantity_name(tr, quantity),
        "unit": unit_text(tr, spec.unit),
        "from": span.start,
        "to": span.end,
        "every_s": period.every_s,
        "format": chart_format(tr),
        "guideline": {"value": who.value, "label": who.short} if who else None,
        "limit": {"value": eu.value, "label": eu.short} if eu else None,
        "cities": [
            {
                "city": slug,
                "name": city_name(tr, cities[slug]),
                "times": [row.time_ns // _NS_PER_S for row in buckets.get(slug, [])],
                "values": [round(row.value, 3) for row in buckets.get(slug, [])],
            }
            for slug in slugs
        ],
    }


def chart_format(tr: Translator) -> dict[str, object]:
    """CLDR number symbols, month names and date patterns for the charts' axes, from Babel.

    Browsers' own Intl data is not enough: Chromium as Debian builds it has no Icelandic, so the
    charts would fall back to English where the page is Icelandic.
    """
    locale = tr.locale
    return {
        "decimal": get_decimal_symbol(locale),
        "group": get_group_symbol(locale),
        "months": [locale.months["format"]["abbreviated"][month] for month in range(1, 13)],
        "day": locale.datetime_skeletons["MMMd"].pattern,
        "time": locale.datetime_skeletons["Hm"].pattern,
    }


# --- maps -----------------------------------------------------------------------------------


def network_map(tr: Translator, cities: dict[str, City], tiles: Tiles | None) -> str:
    ordered = sorted(cities.values(), key=lambda c: c.slug)
    # Room for each name, written to the right of its dot.
    room = [(c.lon + 0.45 * len(city_name(tr, c)), c.lat) for c in ordered] + [(c.lon, c.lat - 1.0) for c in ordered]
    view = fit_view([(c.lon, c.lat) for c in ordered] + room, width=640, padding=0.05, max_height=560)
    markers = [Marker(c.lon, c.lat, city_name(tr, c), city_name(tr, c), kind="city") for c in ordered]
    return render_svg(
        view,
        markers,
        title=tr("map.network_title"),
        description=tr("map.network_desc", count=len(ordered)),
        tiles=tiles,
        tolerance=1.5,
    )


# --- a city ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRow:
    number: int
    anchor: str
    device: str
    lab: str
    last_text: str
    values: tuple[tuple[str, str], ...]  # (quantity name, "7,3 µg/m³ · 3 Nov 14:05")
    located: bool


@dataclass(frozen=True, slots=True)
class LabCard:
    slug: str
    name: str
    description: str
    formats: str
    devices: int
    api_url: str
    devices_url: str


@dataclass(frozen=True, slots=True)
class Download:
    label: str
    csv_url: str
    json_url: str


@dataclass
class CityPage:
    city: City
    name: str
    cells: tuple[Cell, ...]
    last_text: str
    stale: bool
    labs: list[LabCard]
    devices: list[DeviceRow]
    map_svg: str
    downloads: list[Download]
    devices_api_url: str
    extra: dict[str, str] = field(default_factory=dict)


def city_page(
    client: InfluxQLClient,
    tr: Translator,
    city: City,
    now_ns: int,
    tiles: Tiles | None,
    links: Callable[..., str],
) -> CityPage:
    vocabulary = load_vocabulary()
    available = data.quantities_with_data(client)
    found = data.devices(client, city.slug)
    latest = latest_by_quantity(client, NOW_AIR + NOW_OTHER, [city.slug], now_ns)
    last_ns = max((d.last_ns for d in found), default=None)
    last_text, stale = freshness(tr, last_ns, now_ns)

    rows, markers = [], []
    for number, device in enumerate(found, start=1):
        values = tuple(
            (
                quantity_name(tr, q.quantity),
                f"{value_text(tr, q.quantity, q.value)} {unit_text(tr, vocabulary.quantities[q.quantity].unit)}"
                f" · {tr.time(q.time_ns, city.zone)}",
            )
            for q in device.quantities
            if q.quantity in vocabulary.quantities
        )
        located = device.lat is not None and device.lon is not None
        rows.append(
            DeviceRow(
                number,
                f"device-{number}",
                device.device,
                device.lab,
                tr.ago(device.last_ns, now_ns),
                values,
                located,
            )
        )
        if device.lat is not None and device.lon is not None:
            markers.append(Marker(device.lon, device.lat, str(number), f"{number}: {device.device} ({device.lab})"))
    # At least a dozen kilometres across: Natural Earth's 1:10m coast is only context at street scale.
    places = [(m.lon, m.lat) for m in markers] or [(city.lon, city.lat)]
    view = fit_view(places, width=640, min_span_deg=CITY_MAP_SPAN_DEG, max_height=480)
    map_svg = render_svg(
        view,
        markers,
        title=tr("map.city_title", city=city_name(tr, city)),
        description=tr("map.city_desc", count=len(markers)),
        tiles=tiles,
    )
    per_lab = {lab.lab: sum(1 for d in found if d.lab == lab.lab) for lab in city.labs}
    labs = [
        LabCard(
            lab.lab,
            lab.name,
            lab.description,
            ", ".join(sorted({s.format for s in lab.sources})),
            per_lab[lab.lab],
            links(f"/labs/{lab.lab}"),
            links("/devices", lab=lab.lab),
        )
        for lab in city.labs
    ]
    end = end_of_minute(now_ns)
    span = TimeRange(end - DOWNLOAD_DAYS * NS_PER_DAY, end)
    measured = sorted({q.quantity for d in found for q in d.quantities}, key=compare_quantities(available).index)
    downloads = [
        Download(
            quantity_name(tr, q),
            links("/readings", quantity=q, city=city.slug, format="csv", **{"from": span.start, "to": span.end}),
            links("/readings", quantity=q, city=city.slug, every="1h", **{"from": span.start, "to": span.end}),
        )
        for q in measured
    ]
    return CityPage(
        city=city,
        name=city_name(tr, city),
        cells=now_cells(
            tr, city, latest, NOW_AIR + NOW_OTHER, {(d.city, q.quantity) for d in found for q in d.quantities}
        ),
        last_text=last_text,
        stale=stale,
        labs=labs,
        devices=rows,
        map_svg=map_svg,
        downloads=downloads,
        devices_api_url=links("/devices", city=city.slug),
    )


def bar_width(share: float) -> str:
    """A bar's width in the ranking's SVG, in its 0..100 user units, never quite zero."""
    return f"{max(0.5, share * 100):.2f}"


def finite(value: float) -> bool:
    return math.isfinite(value)
