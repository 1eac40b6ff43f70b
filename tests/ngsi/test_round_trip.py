"""The hub's NGSI-LD output, decoded by the hub's own ngsi-ld codec, gives back the same readings.

A city that re-ingests the hub with ``format: ngsi-ld`` and ``options: {device_attribute: name}`` gets
each device under its own id; city and lab then come from its own lab config, as always.
"""

from __future__ import annotations

import json
import math
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.model import Reading
from core.names import MAX_DEVICE_ID
from core.timeutil import parse_iso_ns
from hub.labs import LabConfig, Source
from hub.ngsi.entities import DeviceKey, Observation, Place, group_entities, render_entity
from hub.ngsi.mapping import load_mapping
from hub.pipeline import Pipeline
from hub.vocabulary import load_vocabulary
from tests.conftest import example_budget
from tests.ngsi.conftest import READINGS

INGESTING_LAB = LabConfig.model_validate(
    {
        "lab": "peer-city-lab",
        "city": "peer",
        "name": "A peer city re-ingesting the hub",
        "city_name": "Peer",
        "country": "DK",
        "timezone": "Europe/Copenhagen",
        "location": {"lat": 0.0, "lon": 0.0},
        "sources": [{"topic": "peer/ngsi-ld/#", "format": "ngsi-ld", "options": {"device_attribute": "name"}}],
    }
)
SOURCE: Source = INGESTING_LAB.sources[0]
RECEIVED_NS = parse_iso_ns("2040-01-01T00:00:00Z", None)


def reingest(entities: list[dict]) -> list[Reading]:
    processed = Pipeline().process(
        json.dumps(entities).encode(),
        format_name="ngsi-ld",
        received_ns=RECEIVED_NS,
        topic="peer/ngsi-ld/hub",
        lab=INGESTING_LAB,
        source=SOURCE,
    )
    assert processed.failure is None, processed.failure
    assert not processed.result.rejections, processed.result.rejections
    return processed.result.readings


def comparable(readings: list[Reading]) -> set[tuple]:
    return {(r.device, r.quantity, r.value, r.unit, r.time_ns, r.lat, r.lon) for r in readings}


# --- a property test of the builder and the codec ---------------------------------------------------------

# Attributes named like another hub quantity: WaterQualityObserved.temperature is water temperature; the
# ngsi-ld codec reads it so because it resolves an attribute together with its entity type.
AMBIGUOUS = sorted(
    q for q, m in load_mapping().by_quantity.items() if m.attribute != q and m.attribute in load_vocabulary().quantities
)
MAPPED = sorted(load_mapping().by_quantity)
devices = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\\"), min_size=1, max_size=40
).filter(lambda d: len(d) <= MAX_DEVICE_ID and d.strip() == d and d != "")


@st.composite
def observations(draw):
    quantity = draw(st.sampled_from(MAPPED))
    spec = load_vocabulary().quantities[quantity]
    # Sensor values: up to 4 decimals within the plausible range (what ingest would accept).
    value = draw(st.integers(int(spec.minimum * 10_000), int(spec.maximum * 10_000))) / 10_000
    seconds = draw(st.integers(946_684_800, 2_000_000_000))
    nanos = draw(st.integers(0, 999_999_999))
    return quantity, Observation(seconds * 1_000_000_000 + nanos, value)


@given(
    device=devices,
    rows=st.lists(observations(), min_size=1, max_size=8, unique_by=lambda r: r[0]),
    lat=st.floats(-89.9, 89.9),
    lon=st.floats(-179.9, 179.9),
    representation=st.sampled_from(["normalized", "concise"]),
)
@settings(max_examples=example_budget(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_latest_entity_round_trips_through_the_ngsi_ld_codec(device, rows, lat, lon, representation):
    key = DeviceKey("aarhus", "aarhus-city-lab", device)
    place = Place(lat, lon, "Aarhus", "DK", "Aarhus City Lab")
    states = group_entities(load_mapping(), [(key, q, obs) for q, obs in rows], {key: place})
    entities = [render_entity(state, representation) for state in states]
    got = reingest(entities)
    expected = {(device, q, obs.value, load_vocabulary().quantities[q].unit, obs.time_ns, lat, lon) for q, obs in rows}
    assert comparable(got) == expected


def test_key_values_round_trip_where_every_attribute_shares_one_time():
    """keyValues drops unitCode and observedAt: the codec's format defaults and dateObserved fill in."""
    key = DeviceKey("copenhagen", "copenhagen-street-lab", "box-7")
    when = parse_iso_ns("2026-03-01T10:00:00Z", None)
    rows = [("pm25", 12.5), ("relativeHumidity", 55.5), ("fillingLevel", 40.0), ("intensity", 300.0), ("LAeq", 60.5)]
    place = Place(55.68, 12.57, "Copenhagen", "DK", "Copenhagen Street Lab")
    states = group_entities(load_mapping(), [(key, q, Observation(when, v)) for q, v in rows], {key: place})
    got = reingest([render_entity(state, "keyValues") for state in states])
    assert {(r.quantity, r.value, r.time_ns) for r in got} == {(q, v, when) for q, v in rows}


@pytest.mark.parametrize("quantity", AMBIGUOUS)
def test_attributes_named_like_another_quantity_round_trip(quantity):
    key = DeviceKey("bergen", "bergen-city-lab", "harbour-1")
    when = parse_iso_ns("2026-03-01T10:00:00Z", None)
    place = Place(60.39, 5.32, "Bergen", "NO", "Bergen City Lab")
    states = group_entities(load_mapping(), [(key, quantity, Observation(when, 6.5))], {key: place})
    got = reingest([render_entity(state, "normalized") for state in states])
    assert [(r.quantity, r.value) for r in got] == [(quantity, 6.5)]


# --- the API's own output -------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("options", ["normalized", "concise"])
def test_what_the_api_serves_reingests_as_the_stored_latest_readings(client, options):
    served = client.get("/ngsi-ld/v1/entities", params={"local": "true", "limit": "1000", "options": options}).json()
    mapping = load_mapping()
    got = reingest(served)
    latest: dict[tuple[str, str, str, str], Reading] = {}
    for r in READINGS:
        key = (r.city, r.lab, r.device, r.quantity)
        exposed = r.quantity in mapping.by_quantity
        if exposed and (key not in latest or r.time_ns > latest[key].time_ns):
            latest[key] = r
    # Devices without a position of their own are at their lab's location.
    assert {(d, q, v, u, t) for d, q, v, u, t, _lat, _lon in comparable(got)} == {
        (r.device, r.quantity, r.value, r.unit, r.time_ns) for r in latest.values()
    }
    positioned = {(r.device, r.lat, r.lon) for r in latest.values() if r.lat is not None}
    assert positioned <= {(d, lat, lon) for d, _q, _v, _u, _t, lat, lon in comparable(got)}
    assert all(not math.isnan(r.value) for r in got)


@pytest.mark.integration
def test_a_device_id_that_needs_encoding_survives(client):
    from tests.ngsi.conftest import ODD_DEVICE

    entity_id = "urn:ngsi-ld:AirQualityObserved:aarhus:aarhus-city-lab:" + quote(ODD_DEVICE, safe="-._~!$&'()*+,;=:@")
    response = client.get(f"/ngsi-ld/v1/entities/{quote(entity_id, safe=':')}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == entity_id
    assert {r.device for r in reingest([response.json()])} == {ODD_DEVICE}
