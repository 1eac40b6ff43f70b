"""The read layer: validated queries over the stored readings, free of any web framework.

The JSON API (``hub/api``), the public page and the NGSI-LD API all read through this package
and map its errors to their own responses. Nothing here imports FastAPI, Starlette or any HTTP
type (a test walks the imports).

Requests (``hub.read.request``): turn user values into validated ones, or raise ``InvalidRequest``.
    check_quantity(name) -> Quantity                 time_range(from_text, to_text, max_days=) -> TimeRange
    span(start_ns, end_ns, max_days=) -> TimeRange   parse_time(text, field) -> int (ns)
    parse_every("15m") -> Every                      every_of_seconds(900) -> Every
    check_slug(value, field, known)                  check_cities("aarhus,oslo", known, max_cities) -> list[str]
    check_device(value)                              check_limit(limit, maximum, what)
    check_buckets(window, every, max_buckets) -> int (buckets the range spans)
    Filters(city, lab, device), Aggregate, Limits (the CITYLAB_API_MAX_* caps), QuantityName (the closed set)

Reads (``hub.read.rows``, ``hub.read.compare``, ``hub.read.devices``), given an ``InfluxQLClient``:
    fetch_raw(client, quantity, window, filters, limit, offset) -> list[RawRow]     readings in time order
    stream_raw(...same...) -> Iterator[RawRow]                                      the same, in bounded chunks
    fetch_buckets(client, quantity, window, filters, every, agg, limit, offset) -> list[BucketRow]
    fetch_city_latest(client, quantity, cities=None) -> {city: LatestValue}
    fetch_city_totals(client, quantity, cities, window) -> {city: CityTotals}
    fetch_city_bucket_means(client, quantity, cities, window, every) -> {city: [BucketRow]}
    compare_cities(client, Quantity, cities, window, every, max_buckets=) -> CityComparison
    list_devices(client, vocabulary, filters) -> [DeviceSummary]                    latest value per quantity, position
    fetch_measurements(client) -> [str]

Unmapped keys (``hub.read.unmapped``, not re-exported here: it needs the lab configs and the device profiles):
    unmapped_report(data_dirs, labs, lab=, include_text=) -> UnmappedReport   what ingest saw but could not map,
    or only guessed, merged over every process's store, with profile suggestions and a snippet for the lab YAML

Lab configs (``hub.read.labs``): ``LabCatalog(directory).current()`` -> {lab: LabConfig}, cached and
reloaded when a file changes; ``.status()`` says whether the files on disk are the ones in use.

The WHO guideline "hours above" counts against is ``Quantity.who_short_term()`` (hub/vocabulary.py).

Errors (``hub.read.errors``), all ``ReadError``; ``str(error)`` is a message for the person who asked:
    InvalidRequest(field, message)        a malformed value (JSON API: 400)
      UnknownValue (.known)               a city, lab or quantity that doesn't exist (400)
      LimitExceeded (.limit)              over a cap: range, buckets, page, cities, every (400)
    NotFound                              one named thing that doesn't exist (404)
    Unavailable                           InfluxDB unreachable, or no lab config ever loaded (503)
    QueryRejected                         InfluxDB refused a statement the layer built: a hub bug (500)
"""

from hub.read.compare import CityComparison, CityStats, compare_cities, hours_above
from hub.read.devices import DeviceQuantity, DeviceSummary, list_devices
from hub.read.errors import (
    InvalidRequest,
    LimitExceeded,
    NotFound,
    QueryRejected,
    ReadError,
    Unavailable,
    UnknownValue,
)
from hub.read.labs import CatalogStatus, LabCatalog
from hub.read.request import (
    CITIES_PATTERN,
    EVERY_PATTERN,
    RFC3339_PATTERN,
    Aggregate,
    Every,
    Filters,
    Limits,
    QuantityName,
    TimeRange,
    bucket_count,
    check_buckets,
    check_cities,
    check_device,
    check_limit,
    check_quantity,
    check_slug,
    every_of_seconds,
    parse_every,
    parse_time,
    span,
    time_range,
)
from hub.read.rows import (
    BucketRow,
    CityTotals,
    DeviceLocation,
    LatestValue,
    RawRow,
    fetch_buckets,
    fetch_city_bucket_means,
    fetch_city_latest,
    fetch_city_totals,
    fetch_measurements,
    fetch_raw,
    stream_raw,
)

__all__ = [
    "CITIES_PATTERN",
    "EVERY_PATTERN",
    "RFC3339_PATTERN",
    "Aggregate",
    "BucketRow",
    "CatalogStatus",
    "CityComparison",
    "CityStats",
    "CityTotals",
    "DeviceLocation",
    "DeviceQuantity",
    "DeviceSummary",
    "Every",
    "Filters",
    "InvalidRequest",
    "LabCatalog",
    "LatestValue",
    "LimitExceeded",
    "Limits",
    "NotFound",
    "QuantityName",
    "QueryRejected",
    "RawRow",
    "ReadError",
    "TimeRange",
    "Unavailable",
    "UnknownValue",
    "bucket_count",
    "check_buckets",
    "check_cities",
    "check_device",
    "check_limit",
    "check_quantity",
    "check_slug",
    "compare_cities",
    "every_of_seconds",
    "fetch_buckets",
    "fetch_city_bucket_means",
    "fetch_city_latest",
    "fetch_city_totals",
    "fetch_measurements",
    "fetch_raw",
    "hours_above",
    "list_devices",
    "parse_every",
    "parse_time",
    "span",
    "stream_raw",
    "time_range",
]
