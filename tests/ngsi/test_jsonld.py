"""The hub's @context, expanded by a JSON-LD 1.1 processor (PyLD) that may load only what the hub serves."""

from __future__ import annotations

from typing import Any

import pytest
from pyld import jsonld

from hub.ngsi import contexts

BASE = "http://hub.example"
SDM = "https://smartdatamodels.org/"


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    name = url.rsplit("/", 1)[-1]
    document = contexts.document(name, BASE) if url.startswith(f"{BASE}/ngsi-ld/contexts/") else None
    if document is None:
        raise jsonld.JsonLdError(f"the test refuses to fetch {url}", "loading document failed")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": document}


@pytest.fixture
def expand():
    def run(entity: dict[str, Any]) -> dict[str, Any]:
        document = {"@context": contexts.entity_context(BASE), **entity}
        return jsonld.expand(document, {"documentLoader": _loader})[0]

    return run


def test_each_type_gets_its_own_domain_s_terms(expand):
    weather = expand(
        {
            "id": "urn:ngsi-ld:WeatherObserved:a:b:c",
            "type": "WeatherObserved",
            "temperature": {"type": "Property", "value": 1.5, "unitCode": "CEL"},
        }
    )
    water = expand(
        {
            "id": "urn:ngsi-ld:WaterQualityObserved:a:b:c",
            "type": "WaterQualityObserved",
            "temperature": {"type": "Property", "value": 6.5},
        }
    )
    assert weather["@type"] == [f"{SDM}dataModel.Weather/WeatherObserved"]
    assert f"{SDM}dataModel.Weather/temperature" in weather
    assert f"{SDM}dataModel.WaterQuality/temperature" in water
    value = weather[f"{SDM}dataModel.Weather/temperature"][0]
    assert value["https://uri.etsi.org/ngsi-ld/unitCode"] == [{"@value": "CEL"}]


def test_common_and_core_terms_expand(expand):
    entity = expand(
        {
            "id": "urn:ngsi-ld:AirQualityObserved:a:b:c",
            "type": "AirQualityObserved",
            "dataProvider": {"type": "Property", "value": "Lab"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
            "pm25": {"type": "Property", "value": 3.0, "observedAt": "2026-03-01T00:00:00Z"},
        }
    )
    assert f"{SDM}dataProvider" in entity
    assert "https://uri.etsi.org/ngsi-ld/location" in entity
    pm25 = entity[f"{SDM}dataModel.Environment/pm25"][0]
    assert pm25["@type"] == ["https://uri.etsi.org/ngsi-ld/Property"]
    assert pm25["https://uri.etsi.org/ngsi-ld/observedAt"][0]["@type"] == "https://uri.etsi.org/ngsi-ld/DateTime"
