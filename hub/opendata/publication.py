"""What is published: datasets (one per city and quantity), their daily CSV files, and the files' contents.

The same code serves /open-data/ (generated on request from InfluxDB) and writes ``citylab export``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from core.timeutil import NS_PER_S, ns_to_rfc3339
from hub.labs import LabConfig
from hub.ngsi import data
from hub.ngsi.mapping import load_mapping
from hub.read import TimeRange
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import load_vocabulary

NS_PER_DAY = 86400 * NS_PER_S
COLUMNS = ("time", "city", "lab", "device", "quantity", "value", "unit", "unit_code", "lat", "lon")
COLUMN_DOCS = {
    "time": "when the reading was measured, RFC 3339 in UTC with up to nanosecond precision",
    "city": "the city (a slug, e.g. aarhus)",
    "lab": "the city lab that measured it (a slug; its name and attribution are in the catalogue)",
    "device": "the device id the lab uses",
    "quantity": "what was measured, a FIWARE Smart Data Models name (e.g. pm25, temperature)",
    "value": "the reading, in the unit of the next column",
    "unit": "the hub's canonical unit for the quantity (e.g. ug/m3, Cel, %)",
    "unit_code": "the same unit as a UN/CEFACT Rec 20 common code (e.g. GQ, CEL, P1)",
    "lat": "latitude (WGS 84) where the device was, empty when unknown",
    "lon": "longitude (WGS 84) where the device was, empty when unknown",
}


@dataclass(slots=True)
class Dataset:
    city: str
    quantity: str
    labs: set[str] = field(default_factory=set)
    days: dict[date, int] = field(default_factory=dict)  # day -> readings, within the published window
    first_ns: int | None = None
    last_ns: int | None = None
    positions: list[tuple[float, float]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.city}/{self.quantity}"


def day_of(day_ns: int) -> date:
    return datetime.fromtimestamp(day_ns // NS_PER_S, tz=UTC).date()


def day_span(day: date) -> TimeRange:
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * NS_PER_S
    return TimeRange(start, start + NS_PER_DAY)


def window(first: date, last: date) -> TimeRange:
    return TimeRange(day_span(first).start_ns, day_span(last).end_ns)


def published_quantities() -> list[str]:
    """Every quantity: open data is the hub's own model, so it also carries what NGSI-LD can't express."""
    return sorted(load_vocabulary().quantities)


def datasets(client: InfluxQLClient, labs: dict[str, LabConfig], first: date, last: date) -> list[Dataset]:
    """Datasets of the cities in the lab configs that have readings, with their files in ``first..last``."""
    quantities = published_quantities()
    cities = {lab.city for lab in labs.values()}
    found: dict[tuple[str, str], Dataset] = {}
    for (quantity, city), span in data.coverage(client, quantities).items():
        if city in cities:
            found[(quantity, city)] = Dataset(city, quantity, first_ns=span.first_ns, last_ns=span.last_ns)
    for count in data.daily_counts(client, quantities, window(first, last)):
        dataset = found.get((count.quantity, count.city))
        if dataset is not None and count.lab in labs:
            dataset.labs.add(count.lab)
            day = day_of(count.day_ns)
            dataset.days[day] = dataset.days.get(day, 0) + count.readings
    for key, points in data.city_positions(client, quantities).items():
        if key in found:
            found[key].positions.extend(points)
    for dataset in found.values():
        city_labs = [lab for lab in labs.values() if lab.city == dataset.city]
        if not dataset.labs:
            dataset.labs = {lab.lab for lab in city_labs}
        dataset.positions.extend((lab.location.lat, lab.location.lon) for lab in city_labs if lab.lab in dataset.labs)
    return sorted(found.values(), key=lambda d: (d.city, d.quantity))


def unit_code(quantity: str) -> str:
    unit = load_vocabulary().quantities[quantity].unit
    return load_mapping().unit_codes[unit]


def csv_lines(client: InfluxQLClient, city: str, quantity: str, day: date, max_rows: int) -> Iterator[str]:
    """One day of one city and quantity as CSV text, streamed in bounded chunks."""
    unit = load_vocabulary().quantities[quantity].unit
    code = unit_code(quantity)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield _take(buffer)
    rows = data.city_rows_stream(client, quantity, city, day_span(day), max_rows + 1)
    for count, row in enumerate(rows):
        if count == max_rows:
            yield f"# cut at {max_rows} rows (CITYLAB_OPEN_DATA_MAX_ROWS_PER_FILE); use the API for the rest\n"
            return
        writer.writerow(
            (
                ns_to_rfc3339(row.time_ns),
                row.city,
                row.lab,
                row.device,
                quantity,
                repr(row.value),
                unit,
                code,
                "" if row.lat is None else repr(row.lat),
                "" if row.lon is None else repr(row.lon),
            )
        )
        if (count + 1) % 1000 == 0:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def readme(labs: dict[str, LabConfig], license_name: str, license_url: str) -> str:
    """The columns, the licence and the attribution each lab asks for, as plain text."""
    lines = [
        "Nordic City Lab Hub: open data",
        "",
        "Daily CSV files, one per city, quantity and UTC day: <city>/<quantity>/<YYYY-MM-DD>.csv",
        "The DCAT-AP 3 catalogue (JSON-LD) is catalog.jsonld.",
        "",
        f"Licence: {license_name} <{license_url}>",
        "When you use a file, credit the labs that measured it (the `lab` column):",
        "",
    ]
    lines += [f"  {lab.lab}: {attribution(lab)}" for lab in sorted(labs.values(), key=lambda lab: lab.lab)]
    lines += ["", "Columns (UTF-8, comma-separated, one header line):", ""]
    lines += [f"  {name}: {text}" for name, text in COLUMN_DOCS.items()]
    lines += ["", "A file whose day hit the row limit ends with a line starting with '#' that says so.", ""]
    return "\n".join(lines)


def attribution(lab: LabConfig) -> str:
    return f"{lab.name}, {lab.city_name} ({lab.country}), via the Nordic City Lab Hub"


def day_range(today: date, days: int) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today
