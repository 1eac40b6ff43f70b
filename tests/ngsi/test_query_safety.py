"""Hostile NGSI-LD inputs never reach InfluxDB as query text: validated, or bound as parameters."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.ngsi.data import Aggregation, aggregates_statement, instances_statement
from hub.ngsi.entities import DeviceKey
from hub.read import TimeRange
from tests.conftest import example_budget

pytestmark = pytest.mark.integration

HOSTILE = ["x' OR 1=1 --", 'lamp-1" OR "device"=\'lamp-2', "lamp-1'; DROP DATABASE citylab; --", "$c0", "/.*/"]


@pytest.mark.parametrize("device", HOSTILE)
def test_hostile_device_ids_match_nothing_and_break_nothing(client, influx, ngsi_network, device):
    entity_id = f"urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:{quote(device, safe='')}"
    assert client.get(f"/ngsi-ld/v1/entities/{quote(entity_id, safe=':')}").status_code == 404
    assert client.get("/ngsi-ld/v1/entities", params={"id": entity_id}).json() == []
    temporal = client.get(
        "/ngsi-ld/v1/temporal/entities",
        params={"id": f"{entity_id},urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp-1", "lastN": "1"},
    )
    assert [e["id"] for e in temporal.json()] == ["urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp-1"]
    databases = httpx.post(f"{influx.url}/query", data={"q": "SHOW DATABASES"}).json()
    assert [ngsi_network.database] in databases["results"][0]["series"][0]["values"]


def test_device_values_are_bound_never_spliced():
    evil = DeviceKey("aarhus", "aarhus-city-lab", "x' OR 1=1 --")
    for statement, params in (
        instances_statement("pm25", [evil], TimeRange(0, 10), 5, True),
        aggregates_statement("pm25", [evil], TimeRange(0, 10), Aggregation(["avg"], 60)),
    ):
        assert evil.device not in statement
        assert params["d0"] == evil.device


def test_quantities_are_a_closed_set():
    with pytest.raises(ValueError):
        instances_statement(
            'pm25" WHERE 1=1; DROP MEASUREMENT "pm25', [DeviceKey("a", "b", "c")], TimeRange(0, 1), 1, False
        )


PARAMS = [
    "type",
    "id",
    "idPattern",
    "attrs",
    "q",
    "georel",
    "geometry",
    "coordinates",
    "limit",
    "offset",
    "options",
    "timerel",
    "timeAt",
    "endTimeAt",
    "lastN",
    "aggrMethods",
    "aggrPeriodDuration",
    "count",
    "format",
]


@given(
    params=st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=40), min_size=1, max_size=5),
    temporal=st.booleans(),
)
@settings(max_examples=example_budget(150), deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_input_makes_a_server_error(client, params, temporal):
    path = "/ngsi-ld/v1/temporal/entities" if temporal else "/ngsi-ld/v1/entities"
    try:
        response = client.get(path, params=params)
    except (UnicodeEncodeError, ValueError):
        return
    assert response.status_code < 500 or response.json()["type"].endswith("LdContextNotAvailable"), response.text
    assert response.headers["content-type"].startswith("application/")
