"""GET /compare: per-city mean, max, coverage and hours above the WHO guideline, checked by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import END, START

pytestmark = pytest.mark.integration


def by_city(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["city"]: entry for entry in body["cities"]}


def test_pm25_hourly_comparison_is_exact(client):
    response = client.get(
        "/api/v1/compare",
        params={"quantity": "pm25", "cities": "aarhus,copenhagen", "from": START, "to": END, "every": "1h"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["quantity"], body["unit"], body["from"], body["to"], body["every"], body["buckets"]) == (
        "pm25",
        "ug/m3",
        START,
        END,
        "1h",
        6,
    )
    assert body["who_guideline"] == {"name": "WHO 2021 24 h guideline", "value": 15.0, "unit": "ug/m3", "period": "24h"}
    cities = by_city(body)
    assert [entry["city"] for entry in body["cities"]] == ["aarhus", "copenhagen"]
    # Aarhus: 10, 20 | 30 | - | 4, 8 | 16 | -   → hourly means 15, 30, 6, 16; only 30 and 16 are above 15.
    assert cities["aarhus"] == {
        "city": "aarhus",
        "readings": 6,
        "mean": pytest.approx(88 / 6),
        "max": 30.0,
        "unit": "ug/m3",
        "buckets_with_data": 4,
        "coverage": pytest.approx(4 / 6),
        "hours_with_data": 4,
        "hours_above_who": 2,
    }
    # Copenhagen: 40 at 00:30, 5 at 05:00.
    assert cities["copenhagen"] == {
        "city": "copenhagen",
        "readings": 2,
        "mean": 22.5,
        "max": 40.0,
        "unit": "ug/m3",
        "buckets_with_data": 2,
        "coverage": pytest.approx(2 / 6),
        "hours_with_data": 2,
        "hours_above_who": 1,
    }


def test_coverage_follows_every_but_who_hours_stay_hourly(client):
    body = client.get(
        "/api/v1/compare",
        params={"quantity": "pm25", "cities": "copenhagen,aarhus", "from": START, "to": END, "every": "2h"},
    ).json()
    assert body["buckets"] == 3
    cities = by_city(body)
    assert [entry["city"] for entry in body["cities"]] == ["copenhagen", "aarhus"]  # in the order asked
    assert (cities["aarhus"]["buckets_with_data"], cities["aarhus"]["coverage"]) == (3, 1.0)
    assert (cities["copenhagen"]["buckets_with_data"], cities["copenhagen"]["coverage"]) == (2, pytest.approx(2 / 3))
    assert (cities["aarhus"]["hours_above_who"], cities["copenhagen"]["hours_above_who"]) == (2, 1)


def test_no2_guideline_applies_to_converted_values(client):
    body = client.get(
        "/api/v1/compare", params={"quantity": "no2", "cities": "copenhagen", "from": START, "to": END}
    ).json()
    assert body["who_guideline"]["value"] == 25.0
    (city,) = body["cities"]
    # 19.1 and 38.2 µg/m³ (10 and 20 ppb): only the second hour is above 25.
    assert (city["readings"], city["max"], city["hours_above_who"]) == (2, 38.2, 1)
    assert city["mean"] == pytest.approx((19.1 + 38.2) / 2)


def test_a_city_without_data_and_a_quantity_without_guideline(client):
    body = client.get("/api/v1/compare", params={"quantity": "o3", "cities": "aarhus", "from": START, "to": END}).json()
    assert body["who_guideline"]["period"] == "8h"
    assert body["cities"] == [
        {
            "city": "aarhus",
            "readings": 0,
            "mean": None,
            "max": None,
            "unit": "ug/m3",
            "buckets_with_data": 0,
            "coverage": 0.0,
            "hours_with_data": 0,
            "hours_above_who": 0,
        }
    ]
    body = client.get(
        "/api/v1/compare", params={"quantity": "temperature", "cities": "aarhus", "from": START, "to": END}
    ).json()
    assert body["who_guideline"] is None
    (city,) = body["cities"]
    assert (city["readings"], city["mean"], city["hours_above_who"]) == (1, 5.0, None)


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"cities": "aarhus,atlantis"}, 400, "unknown city 'atlantis'"),
        ({"cities": ",".join(["aarhus"] * 21)}, 400, "limit of 20"),
        ({"cities": "aarhus' OR '1'='1"}, 400, "cities"),
        ({"every": "1s", "from": "2026-01-01T00:00:00Z"}, 400, "limit of 10000"),
        ({"to": "2027-03-03T00:00:00Z"}, 400, "limit of 366 days"),
        ({"every": "176057d"}, 400, "every: 176057d is longer than InfluxDB can represent"),
    ],
)
def test_bad_comparisons_are_refused(client, params, status, fragment):
    response = client.get(
        "/api/v1/compare", params={"quantity": "pm25", "cities": "aarhus", "from": START, "to": END, **params}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]
