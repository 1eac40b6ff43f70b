"""InfluxQL text: only closed sets and integers in it; tag values bound as parameters."""

from __future__ import annotations

from hub.read import Aggregate, Filters, TimeRange, parse_every
from hub.read.statements import (
    aggregate_statement,
    city_bucket_means_statement,
    city_latest_statement,
    city_totals_statement,
    device_series_statement,
    quote_ident,
    raw_statement,
)

WINDOW = TimeRange(10, 20)
EVIL = "x' OR 1=1 --"


def test_device_never_appears_in_the_query_text():
    statement, params = raw_statement("pm25", TimeRange(0, 10), Filters(device=EVIL), 10, 0)
    assert EVIL not in statement
    assert '"device" = $device' in statement
    assert params == {"device": EVIL}


def test_raw_statement():
    assert raw_statement("pm25", WINDOW, Filters(city="aarhus", lab="aarhus-city-lab"), 5, 2) == (
        'SELECT "value", "lat", "lon", "city", "lab", "device" FROM "pm25"'
        ' WHERE "city" = $city AND "lab" = $lab AND time >= 10 AND time < 20 ORDER BY time ASC LIMIT 5 OFFSET 2',
        {"city": "aarhus", "lab": "aarhus-city-lab"},
    )


def test_aggregate_statement_groups_by_whole_seconds():
    statement, params = aggregate_statement("no2", WINDOW, Filters(), parse_every("15m"), Aggregate.MAX, 4, 0)
    assert statement == (
        'SELECT max("value") AS "value" FROM "no2" WHERE time >= 10 AND time < 20'
        " GROUP BY time(900s) fill(none) LIMIT 4 OFFSET 0"
    )
    assert params == {}


def test_city_statements_bind_every_city():
    statement, params = city_totals_statement("pm25", ["aarhus", EVIL], WINDOW)
    assert EVIL not in statement
    assert '("city" = $city0 OR "city" = $city1)' in statement
    assert params == {"city0": "aarhus", "city1": EVIL}
    statement, _ = city_bucket_means_statement("pm25", ["aarhus"], WINDOW, parse_every("1h"))
    assert statement.endswith('GROUP BY time(3600s), "city" fill(none)')
    assert city_latest_statement("pm25", None) == ('SELECT last("value") AS "value" FROM "pm25" GROUP BY "city"', {})


def test_identifiers_are_quoted_and_escaped():
    assert quote_ident('a"b\\c') == '"a\\"b\\\\c"'
    statement, params = device_series_statement(["pm25", "no2"], Filters(lab="l"))
    assert (
        statement
        == 'SELECT last("value") AS "value" FROM "pm25", "no2" WHERE "lab" = $lab GROUP BY "city", "lab", "device"'
    )
    assert params == {"lab": "l"}
