"""The read layer against a real InfluxDB: its real bounds, its failures as read errors, and the rows.

The limits in hub/read/request.py are InfluxDB's own: these tests show the widest bucket and the
latest time we allow are accepted, and that one second more is what InfluxDB refuses.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from core.timeutil import NS_PER_S
from hub.devstack import free_port
from hub.read import (
    Aggregate,
    Filters,
    QueryRejected,
    TimeRange,
    Unavailable,
    compare_cities,
    every_of_seconds,
    fetch_buckets,
    fetch_city_latest,
    fetch_raw,
    parse_every,
)
from hub.read.request import MAX_EVERY_NS, MAX_TIME_NS
from hub.read.rows import run
from hub.store.influxql import InfluxQLClient, InfluxQueryError, InfluxUnavailableError
from hub.vocabulary import load_vocabulary

pytestmark = pytest.mark.integration

H = 3600 * NS_PER_S
T0 = 1_772_323_200 * NS_PER_S  # 2026-03-01T00:00:00Z
POINTS = [
    ("aarhus", "lamp-1", T0 + H // 6, 10.0),
    ("aarhus", "lamp-2", T0 + H // 3, 20.0),
    ("aarhus", "lamp-1", T0 + 2 * H, 12.0),
    ("oslo", "o-1", T0 + H // 2, 30.0),
    ("oslo", "o-1", T0 + 3 * H, 2.0),
]
WINDOW = TimeRange(T0, T0 + 6 * H)


@pytest.fixture
def stored(influx, database, influxql):
    lines = "\n".join(
        f"pm25,city={city},lab={city}-lab,device={device} value={value} {time_ns}"
        for city, device, time_ns, value in POINTS
    )
    # One point at the very end of the time range the API allows.
    lines += f"\npm25,city=oslo,lab=oslo-lab,device=far value=1 {MAX_TIME_NS - 1}"
    httpx.post(f"{influx.url}/write", params={"db": database}, content=lines.encode(), timeout=10).raise_for_status()
    return influxql


def test_the_widest_bucket_we_allow_is_one_influxdb_accepts(stored):
    widest = every_of_seconds(MAX_EVERY_NS // NS_PER_S)
    rows = fetch_buckets(stored, "pm25", TimeRange(0, MAX_TIME_NS), Filters(), widest, Aggregate.COUNT, 10, 0)
    assert sum(row.value for row in rows) == len(POINTS) + 1


def test_one_second_wider_is_what_influxdb_refuses(stored):
    seconds = MAX_EVERY_NS // NS_PER_S + 1
    with pytest.raises(InfluxQueryError, match=r"overflowed duration"):
        stored.query(f'SELECT count("value") FROM "pm25" WHERE time >= 0 AND time < 10 GROUP BY time({seconds}s)')


def test_the_latest_time_we_allow_is_stored_and_read(stored):
    rows = fetch_raw(stored, "pm25", TimeRange(MAX_TIME_NS - NS_PER_S, MAX_TIME_NS), Filters(), 10, 0)
    assert [(row.device, row.time_ns) for row in rows] == [("far", MAX_TIME_NS - 1)]


def test_an_unreachable_influxdb_is_unavailable():
    client = InfluxQLClient(f"http://127.0.0.1:{free_port()}", "nowhere", timeout_s=2)
    with pytest.raises(InfluxUnavailableError):
        client.query("SHOW MEASUREMENTS")
    with pytest.raises(Unavailable, match=r"^InfluxDB query failed: InfluxDB unreachable"):
        fetch_raw(client, "pm25", WINDOW, Filters(), 10, 0)
    client.close()


def test_a_missing_database_is_unavailable_not_a_bad_statement(influx):
    client = InfluxQLClient(influx.url, "no_such_database")
    with pytest.raises(InfluxUnavailableError, match=r"database not found"):
        client.query('SELECT "value" FROM "pm25"')
    client.close()


def test_a_statement_influxdb_refuses_is_a_query_rejected_without_its_text(influxql, caplog):
    with pytest.raises(InfluxQueryError):
        influxql.query("SELECT FROM WHERE")
    with caplog.at_level(logging.ERROR, logger="hub.read.rows"), pytest.raises(QueryRejected) as caught:
        run(influxql, ("SELECT FROM WHERE", {}))
    assert "SELECT" not in str(caught.value)
    assert "see the hub's log" in str(caught.value)
    assert "SELECT FROM WHERE" in caplog.text


def test_latest_value_per_city(stored):
    latest = fetch_city_latest(stored, "pm25", ["aarhus", "oslo"])
    assert {city: (v.time_ns, v.value) for city, v in latest.items()} == {
        "aarhus": (T0 + 2 * H, 12.0),
        "oslo": (MAX_TIME_NS - 1, 1.0),
    }
    assert set(fetch_city_latest(stored, "pm25")) == {"aarhus", "oslo"}
    assert fetch_city_latest(stored, "no2") == {}


def test_compare_cities_counts_hours_above_the_who_guideline(stored):
    pm25 = load_vocabulary().quantities["pm25"]
    result = compare_cities(stored, pm25, ["oslo", "aarhus"], WINDOW, parse_every("2h"), max_buckets=100)
    assert (result.buckets, result.who_guideline and result.who_guideline.value) == (3, 15.0)
    oslo, aarhus = result.cities
    # aarhus: hour 0 mean 15 (not above 15), hour 2 mean 12; oslo: hour 0 is 30 (above), hour 3 is 2.
    assert (aarhus.city, aarhus.readings, aarhus.max, aarhus.hours_with_data, aarhus.hours_above_who) == (
        "aarhus",
        3,
        20.0,
        2,
        0,
    )
    assert (oslo.readings, oslo.hours_above_who, oslo.buckets_with_data, oslo.coverage) == (2, 1, 2, 2 / 3)
