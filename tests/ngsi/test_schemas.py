"""Every entity the hub serves validates against the JSON Schema of its Smart Data Models type.

The schemas (test data, CC BY 4.0, see testdata/SOURCES.md) describe the keyValues form; normalized
and concise entities are checked after reducing each attribute to its value, as the Smart Data
Models validator does. ``$ref``s resolve to local copies only: a retrieve hook that refuses any
other URL makes a network fetch a test failure.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from hub.ngsi.mapping import load_mapping
from tests.ngsi.conftest import TESTDATA

pytestmark = pytest.mark.integration

SDM = TESTDATA / "sdm"
# The same documents under every URL the schemas use for them.
LOCAL = {
    "https://smart-data-models.github.io/data-models/common-schema.json": "common-schema.json",
    "https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json": "Environment-schema.json",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/Environment-schema.json": (
        "Environment-schema.json"
    ),
    "https://smart-data-models.github.io/dataModel.Weather/weather-schema.json": "weather-schema.json",
}


def _refuse(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # nothing is fetched: an unknown $ref fails the test


def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry(retrieve=_refuse)
    for url, name in LOCAL.items():
        registry = registry.with_resource(url, Resource.from_contents(json.loads((SDM / name).read_text())))
    return registry


def validator(entity_type: str) -> Draft202012Validator:
    schema = json.loads((SDM / entity_type / "schema.json").read_text())
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """Normalized or concise -> keyValues: each attribute's value."""
    reduced: dict[str, Any] = {}
    for name, member in entity.items():
        if name in ("id", "type", "@context"):
            reduced[name] = member
        elif isinstance(member, dict) and "value" in member:
            reduced[name] = member["value"]
        else:
            reduced[name] = member
    return reduced


def assert_valid(entity: dict[str, Any]) -> None:
    errors = sorted(validator(entity["type"]).iter_errors(entity), key=lambda e: list(e.path))
    assert not errors, f"{entity['id']}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_every_mapped_type_has_a_schema_in_test_data():
    for name in load_mapping().types:
        assert (SDM / name / "schema.json").is_file(), name


def test_the_validator_really_validates():
    bad = {"id": "urn:ngsi-ld:WeatherObserved:x", "type": "WeatherObserved", "relativeHumidity": 55.0}
    messages = [e.message for e in validator("WeatherObserved").iter_errors(bad)]
    assert any("dateObserved" in m for m in messages)  # required
    assert any("55.0" in m for m in messages)  # SDM humidity is a 0..1 fraction


@pytest.mark.parametrize("options", ["keyValues", "normalized", "concise"])
def test_every_served_entity_validates_against_its_smart_data_models_schema(client, options):
    response = client.get("/ngsi-ld/v1/entities", params={"local": "true", "limit": "1000", "options": options})
    assert response.status_code == 200
    entities = response.json()
    assert {e["type"] for e in entities} == set(load_mapping().types)
    for entity in entities:
        assert_valid(entity if options == "keyValues" else key_values(entity))
        single = client.get(f"/ngsi-ld/v1/entities/{quote(entity['id'], safe=':')}", params={"options": options})
        assert single.status_code == 200
        assert single.json() == entity
