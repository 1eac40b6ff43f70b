"""The NGSI-LD API against a real InfluxDB: filters, representations, temporal queries, errors, access."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from tests.ngsi.conftest import ngsi_settings

pytestmark = pytest.mark.integration

E = "/ngsi-ld/v1/entities"
T = "/ngsi-ld/v1/temporal/entities"
LAMP = "urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp-1"
WEATHER_LAMP = "urn:ngsi-ld:WeatherObserved:aarhus:aarhus-city-lab:lamp-1"
DAY = {"timerel": "between", "timeAt": "2026-03-01T00:00:00Z", "endTimeAt": "2026-03-02T00:00:00Z"}
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_type_filter_and_ids_follow_the_urn_scheme(client):
    found = ids(client.get(E, params={"type": "AirQualityObserved", "limit": "100"}))
    assert LAMP in found
    assert all(i.startswith("urn:ngsi-ld:AirQualityObserved:") for i in found)
    assert ids(client.get(E, params={"type": "Nothing"})) == []


def test_type_by_its_smart_data_models_iri(client):
    iri = "https://smartdatamodels.org/dataModel.Environment/NoiseLevelObserved"
    assert ids(client.get(E, params={"type": iri})) == [
        "urn:ngsi-ld:NoiseLevelObserved:copenhagen:copenhagen-street-lab:noise-1"
    ]


def test_id_and_id_pattern(client):
    assert ids(client.get(E, params={"id": f"{LAMP},{WEATHER_LAMP}"})) == [LAMP, WEATHER_LAMP]
    assert ids(client.get(E, params={"idPattern": r"^urn:ngsi-ld:\w+:oslo:.*"})) == [
        "urn:ngsi-ld:AirQualityObserved:oslo:oslo-urban-lab:air-1",
        "urn:ngsi-ld:WeatherObserved:oslo:oslo-urban-lab:met-1",
    ]


def test_attrs_filters_and_projects(client):
    entities = client.get(E, params={"attrs": "LAeq,fillingLevel"}).json()
    assert [e["type"] for e in entities] == ["NoiseLevelObserved", "WasteContainer"]
    assert set(entities[1]) == {"id", "type", "fillingLevel"}
    assert entities[1]["fillingLevel"]["value"] == 0.725


def test_latest_values_carry_observed_at_and_unit_code(client):
    entity = client.get(f"{E}/{LAMP}").json()
    assert entity["pm25"] == {"type": "Property", "value": 16.0, "observedAt": "2026-03-01T05:00:00Z", "unitCode": "GQ"}
    assert entity["location"] == {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [10.2107, 56.1572]}}
    assert entity["address"]["value"] == {"addressLocality": "Aarhus", "addressCountry": "DK"}
    assert entity["dataProvider"]["value"] == "Aarhus City Lab"
    weather = client.get(f"{E}/{WEATHER_LAMP}", params={"options": "keyValues"}).json()
    assert weather["relativeHumidity"] == 0.9  # SDM: a 0..1 fraction
    assert weather["temperature"] == 3.5


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pm25>15", [LAMP]),
        ("pm25>15;no2>0", []),
        (
            "pm25>=14|no2==60",
            [
                "urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp%202%2F%C3%B8%23%3F%25",
                LAMP,
                "urn:ngsi-ld:AirQualityObserved:copenhagen:copenhagen-street-lab:hcab-1",
            ],
        ),
        ("no2==40..55", ["urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp%202%2F%C3%B8%23%3F%25"]),
        ('dataProvider=="Oslo Urban Lab"', ["urn:ngsi-ld:AirQualityObserved:oslo:oslo-urban-lab:air-1"]),
        (
            'address[addressLocality]=="Copenhagen";co',
            ["urn:ngsi-ld:AirQualityObserved:copenhagen:copenhagen-street-lab:hcab-1"],
        ),
        ("pm25.observedAt>=2026-03-01T05:00:00Z", [LAMP]),
    ],
)
def test_q_simple_comparisons(client, q, expected):
    assert ids(client.get(E, params={"type": "AirQualityObserved", "q": q})) == expected


def test_geo_near_and_within(client):
    near = {"georel": "near;maxDistance==100", "geometry": "Point", "coordinates": "[12.5683, 55.6761]"}
    assert ids(client.get(E, params=near)) == ["urn:ngsi-ld:AirQualityObserved:copenhagen:copenhagen-street-lab:hcab-1"]
    oslo = "[[[10.70,59.90],[10.80,59.90],[10.80,59.95],[10.70,59.95],[10.70,59.90]]]"
    within = {"georel": "within", "geometry": "Polygon", "coordinates": oslo}
    assert ids(client.get(E, params=within)) == [
        "urn:ngsi-ld:AirQualityObserved:oslo:oslo-urban-lab:air-1",
        "urn:ngsi-ld:WeatherObserved:oslo:oslo-urban-lab:met-1",
    ]
    far = {"georel": "near;minDistance==1000000", "geometry": "Point", "coordinates": "[12.5683, 55.6761]"}
    assert ids(client.get(E, params=far)) == []


def test_count_limit_offset_and_next_link(client):
    first = client.get(E, params={"local": "true", "limit": "4", "count": "true"})
    assert first.headers["NGSILD-Results-Count"] == "10"
    assert 'rel="next"' in first.headers["Link"]
    rest = client.get(E, params={"local": "true", "limit": "100", "offset": "4"})
    everything = client.get(E, params={"local": "true", "limit": "100"})
    assert ids(first) + ids(rest) == ids(everything)
    only_count = client.get(E, params={"type": "WeatherObserved", "limit": "0", "count": "true"})
    assert only_count.json() == [] and only_count.headers["NGSILD-Results-Count"] == "2"


def test_not_exposed_quantities_are_not_served(client):
    harbour = client.get(E, params={"idPattern": "bergen"}).json()
    assert [e["type"] for e in harbour] == ["WaterQualityObserved"]
    assert "waterLevel" not in harbour[0] and harbour[0]["temperature"]["value"] == 6.75


def test_ld_json_carries_the_context_and_json_a_link_header(client):
    plain = client.get(f"{E}/{LAMP}", headers={"Accept": "application/json"})
    assert plain.headers["content-type"] == "application/json"
    assert "@context" not in plain.json()
    assert plain.headers["Link"] == (
        '<http://testserver/ngsi-ld/contexts/citylab.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; '
        'type="application/ld+json"'
    )
    ld = client.get(f"{E}/{LAMP}", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"] == "application/ld+json"
    assert ld.json()["@context"] == ["http://testserver/ngsi-ld/contexts/citylab.jsonld"]
    assert "Link" not in ld.headers
    geo = client.get(E, params={"type": "NoiseLevelObserved"}, headers={"Accept": "application/geo+json"})
    assert geo.json()["type"] == "FeatureCollection"
    assert geo.json()["features"][0]["geometry"] == {"type": "Point", "coordinates": [12.57, 55.68]}
    assert client.get(E, params={"type": "X"}, headers={"Accept": "text/html"}).status_code == 406


def test_contexts_are_served_by_the_hub(client):
    hub_context = client.get("/ngsi-ld/contexts/citylab.jsonld")
    assert hub_context.status_code == 200
    terms, core = hub_context.json()["@context"]
    assert core == "http://testserver/ngsi-ld/contexts/ngsi-ld-core-context-v1.9.jsonld"
    assert terms["WeatherObserved"]["@context"] == "http://testserver/ngsi-ld/contexts/sdm-Weather.jsonld"
    for name in ("ngsi-ld-core-context-v1.9.jsonld", "sdm-Weather.jsonld", "sdm-Environment.jsonld"):
        assert "@context" in client.get(f"/ngsi-ld/contexts/{name}").json()
    assert client.get("/ngsi-ld/contexts/other.jsonld").status_code == 404


def test_temporal_between_normalized(client):
    entity = client.get(f"{T}/{LAMP}", params={**DAY, "attrs": "pm25"}).json()
    assert [i["value"] for i in entity["pm25"]] == [10.0, 20.0, 30.0, 4.0, 8.0, 16.0]
    assert entity["pm25"][0] == {
        "type": "Property",
        "value": 10.0,
        "observedAt": "2026-03-01T00:00:00Z",
        "unitCode": "GQ",
    }


def test_temporal_before_after_and_last_n(client):
    before = client.get(f"{T}/{LAMP}", params={"timerel": "before", "timeAt": "2026-03-01T02:00:00Z", "attrs": "pm25"})
    assert [i["value"] for i in before.json()["pm25"]] == [10.0, 20.0]
    after = client.get(f"{T}/{LAMP}", params={"timerel": "after", "timeAt": "2026-03-01T03:00:00Z", "attrs": "pm25"})
    assert [i["value"] for i in after.json()["pm25"]] == [8.0, 16.0]  # after is strictly after timeAt
    last = client.get(f"{T}/{LAMP}", params={**DAY, "lastN": "2", "options": "temporalValues"}).json()
    assert last["pm25"] == {
        "type": "Property",
        "values": [[8.0, "2026-03-01T04:00:00Z"], [16.0, "2026-03-01T05:00:00Z"]],
    }


def test_temporal_query_many_entities_with_converted_units(client):
    found = client.get(
        T, params={**DAY, "type": "WeatherObserved", "attrs": "relativeHumidity", "format": "temporalValues"}
    )
    body = {e["id"]: e for e in found.json()}
    assert body[WEATHER_LAMP]["relativeHumidity"]["values"] == [
        [0.81, "2026-03-01T00:00:00Z"],
        [0.825, "2026-03-01T01:00:00Z"],
        [0.9, "2026-03-01T02:00:00Z"],
    ]


def test_aggregated_values_mean_max_min_per_period(client):
    params = {
        **DAY,
        "attrs": "pm25",
        "options": "aggregatedValues",
        "aggrMethods": "avg,max,min,totalCount",
        "aggrPeriodDuration": "PT3H",
    }
    pm25 = client.get(f"{T}/{LAMP}", params=params).json()["pm25"]
    assert pm25["avg"] == [
        [20.0, "2026-03-01T00:00:00Z", "2026-03-01T03:00:00Z"],
        [28 / 3, "2026-03-01T03:00:00Z", "2026-03-01T06:00:00Z"],
    ]
    assert [v for v, _s, _e in pm25["max"]] == [30.0, 16.0]
    assert [v for v, _s, _e in pm25["min"]] == [10.0, 4.0]
    assert [v for v, _s, _e in pm25["totalCount"]] == [3, 3]
    whole = client.get(f"{T}/{LAMP}", params={**params, "aggrPeriodDuration": "PT0S", "aggrMethods": "avg"}).json()
    assert whole["pm25"]["avg"] == [[88 / 6, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"]]
    humidity = client.get(f"{T}/{WEATHER_LAMP}", params={**params, "attrs": "relativeHumidity", "aggrMethods": "max"})
    assert humidity.json()["relativeHumidity"]["max"][0][0] == 0.9


def test_temporal_instances_are_capped_with_206(ngsi_network):
    settings_app = create_app(ngsi_network.settings)
    from hub.ngsi.settings import NgsiSettings

    settings_app.state.ngsi_settings = NgsiSettings(max_instances=4)
    with TestClient(settings_app) as capped:
        response = capped.get(f"{T}/{LAMP}", params={**DAY, "attrs": "pm25"})
    assert response.status_code == 206
    assert len(response.json()["pm25"]) == 4
    assert response.headers["Content-Range"] == "date-time 2026-03-01T00:00:00Z-2026-03-01T03:00:00Z/*"


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        (E, {}, 400, "BadRequestData"),
        (E, {"type": "A,,B"}, 400, "BadRequestData"),
        (E, {"type": "AirQualityObserved", "limit": "5000"}, 403, "TooManyResults"),
        (E, {"type": "AirQualityObserved", "limit": "-1"}, 400, "BadRequestData"),
        (E, {"type": "AirQualityObserved", "options": "sysAttrs"}, 422, "OperationNotSupported"),
        (E, {"type": "AirQualityObserved", "pick": "pm25"}, 422, "OperationNotSupported"),
        (E, {"idPattern": "(a+)+$"}, 403, "TooComplexQuery"),
        (E, {"q": "pm25>(1)"}, 403, "TooComplexQuery"),
        (E, {"q": "pm25 >> 3"}, 400, "BadRequestData"),
        (E, {"georel": "near", "geometry": "Point", "coordinates": "[1,2]"}, 400, "BadRequestData"),
        (E, {"georel": "within", "geometry": "Polygon", "coordinates": "[[[0,0],[1,1]]]"}, 400, "BadRequestData"),
        (f"{E}/urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:nope", {}, 404, "ResourceNotFound"),
        (f"{E}/urn:ngsi-ld:Vehicle:elsewhere", {}, 404, "ResourceNotFound"),
        (f"{E}/not-a-uri", {}, 400, "BadRequestData"),
        (f"{T}/{LAMP}", {"timerel": "between", "timeAt": "2026-03-01T00:00:00Z"}, 400, "BadRequestData"),
        (
            f"{T}/{LAMP}",
            {"timerel": "between", "timeAt": "2020-01-01T00:00:00Z", "endTimeAt": "2026-03-01T00:00:00Z"},
            403,
            "TooManyResults",
        ),
        (f"{T}/{LAMP}", {**DAY, "options": "aggregatedValues"}, 400, "BadRequestData"),
        (
            f"{T}/{LAMP}",
            {**DAY, "options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "P1M"},
            400,
            "BadRequestData",
        ),
        (
            f"{T}/{LAMP}",
            {**DAY, "options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "PT1S"},
            403,
            "TooManyResults",
        ),
        (f"{T}/{LAMP}", {**DAY, "lastN": "0"}, 400, "BadRequestData"),
        (f"{T}/{LAMP}", {**DAY, "timeproperty": "modifiedAt"}, 422, "OperationNotSupported"),
    ],
)
def test_errors_are_ngsi_ld_problem_details(client, path, params, status, error):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == ERRORS + error
    assert body["status"] == status and body["title"] and body.get("detail")
    assert response.headers["content-type"] == "application/json"


def test_an_unknown_context_is_not_fetched(client):
    link = '<https://example.org/other.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    response = client.get(E, params={"type": "AirQualityObserved"}, headers={"Link": link})
    assert response.status_code == 503
    assert response.json()["type"] == ERRORS + "LdContextNotAvailable"
    sdm = link.replace(
        "https://example.org/other.jsonld",
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld",
    )
    assert client.get(E, params={"type": "AirQualityObserved"}, headers={"Link": sdm}).status_code == 200


def test_writes_are_refused(client):
    response = client.post(E, json={"id": "urn:ngsi-ld:X:1", "type": "X"})
    assert response.status_code == 405
    assert response.json()["type"] == ERRORS + "OperationNotSupported"
    assert response.headers["Allow"] == "GET"


def test_the_read_token_guards_ngsi_ld_like_the_json_api(influx, ngsi_network, tmp_path):
    settings = ngsi_settings(influx, ngsi_network.database, tmp_path, api_read_token="reader", api_admin_token="admin")
    with TestClient(create_app(settings)) as guarded:
        refused = guarded.get(f"{E}/{LAMP}")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert guarded.get(f"{E}/{LAMP}", headers={"Authorization": "Bearer wrong"}).status_code == 401
        for token in ("reader", "admin"):
            assert guarded.get(f"{E}/{LAMP}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert guarded.get("/ngsi-ld/contexts/citylab.jsonld").status_code == 200  # contexts hold no data


def test_entity_path_ids_are_decoded_once(client):
    encoded = quote("urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:lamp%202%2F%C3%B8%23%3F%25", safe=":")
    assert client.get(f"{E}/{encoded}").status_code == 200
