"""Hostile inputs never reach InfluxDB as query text: validated, or bound as parameters."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import END, START
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink

pytestmark = pytest.mark.integration

WINDOW = {"quantity": "pm25", "from": START, "to": END}
HOSTILE_TEXT = [
    "x' OR 1=1 --",
    "lamp-1' OR device='lamp-2",
    'lamp-1" OR "device"=\'lamp-2',
    "lamp-1'; DROP DATABASE citylab; --",
    "$city",
    "\u202e1-pmal",
    "lamp-1\\",
    "/.*/",
]


@pytest.mark.parametrize("device", HOSTILE_TEXT)
def test_hostile_device_ids_match_nothing_and_break_nothing(client, influx, network, device):
    response = client.get("/api/v1/readings", params={**WINDOW, "device": device})
    if "\\" in device:
        assert response.status_code == 400  # can't be stored, so refused before any query
        return
    assert response.status_code == 200
    assert response.json()["readings"] == []
    databases = httpx.post(f"{influx.url}/query", data={"q": "SHOW DATABASES"}).json()
    assert [network.database] in databases["results"][0]["series"][0]["values"]
    assert len(client.get("/api/v1/readings", params=WINDOW).json()["readings"]) == 8


@pytest.mark.parametrize(
    "params",
    [
        {"city": "aarhus' OR '1'='1"},
        {"city": 'aarhus" OR 1=1'},
        {"lab": "aarhus-city-lab' --"},
        {"quantity": 'pm25" WHERE 1=1; DROP MEASUREMENT "pm25'},
        {"quantity": "pm25,temperature"},
        {"from": "2026-03-01T00:00:00Z' OR time > 0"},
        {"to": "now()"},
        {"every": "1h), time(1m"},
        {"every": "1h", "agg": 'mean("value")) FROM pm25 --'},
        {"limit": "1; DROP"},
        {"offset": "-1"},
    ],
)
def test_hostile_parameters_are_refused_with_a_problem(client, params):
    response = client.get("/api/v1/readings", params={**WINDOW, **params})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


@pytest.mark.parametrize("cities", ["aarhus;copenhagen", "aarhus' OR city =~ /.*/", "AARHUS", "aarhus,,copenhagen"])
def test_hostile_city_lists_are_refused(client, cities):
    response = client.get("/api/v1/compare", params={"quantity": "pm25", "cities": cities, "from": START, "to": END})
    assert response.status_code == 400


def test_a_device_named_with_quotes_and_separators_reads_back_exactly(
    hub_factory, broker, influx, database, influxql, tmp_path
):
    from fastapi.testclient import TestClient

    from hub.api import create_app
    from tests.api.conftest import api_settings

    hub_factory()
    odd = 'o\'brien "q",city=oslo lab=x'
    publish_all(
        broker.port,
        [
            (AARHUS_TOPIC.format(device=odd), ttn_uplink("x", {"pm2_5": 3.0}, "2026-03-01T10:00:00Z")),
            (AARHUS_TOPIC.format(device="plain"), ttn_uplink("x", {"pm2_5": 4.0}, "2026-03-01T10:00:00Z")),
        ],
    )
    wait_for_rows(influxql, 'SELECT "value" FROM pm25', 2)
    with TestClient(create_app(api_settings(broker, influx, database, tmp_path / "data"))) as api:
        body = api.get(
            "/api/v1/readings",
            params={"quantity": "pm25", "device": odd, "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"},
        ).json()
        assert [(r["device"], r["city"], r["value"]) for r in body["readings"]] == [(odd, "aarhus", 3.0)]
        devices = api.get("/api/v1/devices").json()["devices"]
        assert sorted(d["device"] for d in devices) == sorted([odd, "plain"])
