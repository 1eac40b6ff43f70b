"""GET /readings against readings the real hub stored: raw pages, exact aggregates, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import END, START

pytestmark = pytest.mark.integration

WINDOW = {"quantity": "pm25", "from": START, "to": END}


def test_raw_readings_in_time_order_with_units_and_rfc3339_times(client):
    response = client.get("/api/v1/readings", params={**WINDOW, "city": "aarhus"})
    assert response.status_code == 200
    body = response.json()
    assert (body["quantity"], body["unit"], body["from"], body["to"], body["next"]) == (
        "pm25",
        "ug/m3",
        START,
        END,
        None,
    )
    assert [(r["time"], r["device"], r["value"], r["unit"]) for r in body["readings"]] == [
        ("2026-03-01T00:10:00Z", "lamp-1", 10.0, "ug/m3"),
        ("2026-03-01T00:20:00Z", "lamp-2", 20.0, "ug/m3"),
        ("2026-03-01T01:00:00Z", "lamp-1", 30.0, "ug/m3"),
        ("2026-03-01T03:30:00Z", "lamp-1", 4.0, "ug/m3"),
        ("2026-03-01T03:45:00Z", "lamp-2", 8.0, "ug/m3"),
        ("2026-03-01T04:59:59Z", "lamp-2", 16.0, "ug/m3"),
    ]  # the 06:00 reading is outside: `to` is exclusive
    first = body["readings"][0]
    assert (first["city"], first["lab"], first["lat"], first["lon"]) == ("aarhus", "aarhus-city-lab", 56.1572, 10.2107)


def test_filters_by_lab_and_device(client):
    by_device = client.get("/api/v1/readings", params={**WINDOW, "device": "lamp-2"}).json()["readings"]
    assert [r["value"] for r in by_device] == [20.0, 8.0, 16.0]
    by_lab = client.get("/api/v1/readings", params={**WINDOW, "lab": "copenhagen-street-lab"}).json()["readings"]
    assert [(r["time"], r["device"], r["value"], r["lat"], r["lon"]) for r in by_lab] == [
        ("2026-03-01T00:30:00Z", "hcab-1", 40.0, 55.6731, 12.565),
        ("2026-03-01T05:00:00Z", "hcab-1", 5.0, 55.6731, 12.565),
    ]


def test_pages_follow_next_until_the_end(client):
    first = client.get("/api/v1/readings", params={**WINDOW, "limit": 5}).json()
    assert [r["value"] for r in first["readings"]] == [10.0, 20.0, 40.0, 30.0, 4.0]
    assert first["next"] is not None
    second = client.get(first["next"]).json()
    assert (second["offset"], second["limit"], second["next"]) == (5, 5, None)
    assert [r["value"] for r in second["readings"]] == [8.0, 16.0, 5.0]


@pytest.mark.parametrize(
    ("agg", "expected", "unit"),
    [
        ("mean", [15.0, 30.0, 6.0, 16.0], "ug/m3"),
        ("max", [20.0, 30.0, 8.0, 16.0], "ug/m3"),
        ("min", [10.0, 30.0, 4.0, 16.0], "ug/m3"),
        ("count", [2.0, 1.0, 2.0, 1.0], "readings"),
    ],
)
def test_hourly_aggregates_are_exact(client, agg, expected, unit):
    body = client.get("/api/v1/readings", params={**WINDOW, "city": "aarhus", "every": "1h", "agg": agg}).json()
    assert (body["agg"], body["every"], body["unit"]) == (agg, "1h", unit)
    assert [(b["time"], b["value"], b["unit"]) for b in body["buckets"]] == list(
        zip(
            ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z", "2026-03-01T03:00:00Z", "2026-03-01T04:00:00Z"],
            expected,
            [unit] * 4,
            strict=True,
        )
    )


def test_aggregate_over_both_cities_combines_every_device(client):
    body = client.get("/api/v1/readings", params={**WINDOW, "every": "1h", "agg": "mean"}).json()
    assert [(b["time"][11:16], round(b["value"], 9)) for b in body["buckets"]] == [
        ("00:00", round(70 / 3, 9)),
        ("01:00", 30.0),
        ("03:00", 6.0),
        ("04:00", 16.0),
        ("05:00", 5.0),
    ]


def test_gas_readings_come_back_in_canonical_units(client):
    body = client.get("/api/v1/readings", params={"quantity": "no2", "from": START, "to": END}).json()
    assert body["unit"] == "ug/m3"
    assert [r["value"] for r in body["readings"]] == [19.1, 38.2]  # 10 and 20 ppb x 1.91


def test_csv_by_query_parameter(client):
    response = client.get("/api/v1/readings", params={**WINDOW, "city": "aarhus", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["time", "city", "lab", "device", "quantity", "value", "unit", "lat", "lon"]
    assert rows[1] == [
        "2026-03-01T00:10:00Z",
        "aarhus",
        "aarhus-city-lab",
        "lamp-1",
        "pm25",
        "10.0",
        "ug/m3",
        "56.1572",
        "10.2107",
    ]
    assert [row[5] for row in rows[1:]] == ["10.0", "20.0", "30.0", "4.0", "8.0", "16.0"]


def test_csv_by_accept_header_and_for_aggregates(client):
    response = client.get(
        "/api/v1/readings",
        params={**WINDOW, "city": "copenhagen", "every": "1h", "agg": "max"},
        headers={"Accept": "text/csv"},
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["time", "quantity", "agg", "every", "value", "unit"],
        ["2026-03-01T00:00:00Z", "pm25", "max", "1h", "40.0", "ug/m3"],
        ["2026-03-01T05:00:00Z", "pm25", "max", "1h", "5.0", "ug/m3"],
    ]


def test_csv_streams_across_chunks(client, monkeypatch):
    from hub.read import rows

    monkeypatch.setattr(rows, "STREAM_CHUNK", 2)  # force several InfluxDB queries for one export
    response = client.get("/api/v1/readings", params={**WINDOW, "format": "csv", "limit": 7})
    values = [row[5] for row in list(csv.reader(io.StringIO(response.text)))[1:]]
    assert values == ["10.0", "20.0", "40.0", "30.0", "4.0", "8.0", "16.0"]


def test_empty_range_is_an_empty_list(client):
    body = client.get(
        "/api/v1/readings", params={"quantity": "pm25", "from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"}
    ).json()
    assert body["readings"] == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "limit of 366 days"),
        ({"limit": 10_001}, "maximum of 10000"),
        ({"every": "1s", "from": "2026-02-01T00:00:00Z"}, "limit of 10000"),
        ({"from": END, "to": START}, "earlier than to"),
        ({"from": "2026-03-01"}, "from"),
        ({"every": "1y"}, "every"),
        ({"quantity": "nope"}, "quantity"),
        ({"city": "atlantis"}, "unknown city"),
        ({"format": "csv", "limit": 1_000_001}, "maximum of 1000000"),
        ({"agg": "max"}, "agg: needs every"),
        ({"every": "999999w"}, "every: 999999w is longer than InfluxDB can represent; the longest is 106751d"),
        ({"every": "106752d", "format": "csv"}, "longest is 106751d"),
    ],
)
def test_oversized_or_bad_requests_get_a_clear_problem(client, params, fragment):
    response = client.get("/api/v1/readings", params={**WINDOW, **params})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["type"], problem["title"], problem["status"]) == ("about:blank", "Bad Request", 400)
    assert fragment in problem["detail"]


def test_the_widest_every_influxdb_can_represent_is_one_bucket(client):
    body = client.get(
        "/api/v1/readings", params={**WINDOW, "city": "aarhus", "every": "106751d", "agg": "count"}
    ).json()
    assert [(b["time"], b["value"]) for b in body["buckets"]] == [("1970-01-01T00:00:00Z", 6.0)]


def test_the_json_api_lives_under_api_v1_only(client):
    assert client.get("/readings", params=WINDOW).status_code == 404
    assert client.get("/api/v1/readings", params=WINDOW).status_code == 200


def test_a_statement_influxdb_refuses_is_a_500_without_its_text(client, monkeypatch):
    from hub.read import rows

    monkeypatch.setattr(rows, "raw_statement", lambda *_args: ("SELECT FROM WHERE", {}))
    response = client.get("/api/v1/readings", params=WINDOW)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "InfluxDB refused a query the hub built; see the hub's log"
