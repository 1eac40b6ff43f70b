from __future__ import annotations

import json

import pytest

from adapters import DecodeError
from core.timeutil import parse_iso_ns
from tests.codecs.support import decode, fixture, process

LAB = "copenhagen-street-lab"
TOPIC = "copenhagen-street-lab/ngsi-ld/notify"


def test_zoneless_date_observed_is_in_the_lab_timezone_and_fractions_become_percent() -> None:
    got = process("ngsi-ld", fixture("ngsi_ld", "airqualityobserved_ngsild_keyvalues"), topic=TOPIC, lab=LAB)
    by_quantity = {r.quantity: r for r in got.result.readings}
    assert by_quantity["relativeHumidity"].value == 54.0
    assert by_quantity["no2"].time_ns == parse_iso_ns("2016-03-15T10:00:00Z", None)


def test_a_location_point_given_as_an_object_is_a_decode_error() -> None:
    entity = {
        "id": "urn:ngsi-ld:AirQualityObserved:x",
        "type": "AirQualityObserved",
        "no2": 1,
        "location": {"type": "LineString", "coordinates": [{"lon": 1, "lat": 2}]},
    }
    with pytest.raises(DecodeError, match=r"entity\[0\]\.location: coordinates are not \[lon, lat\] numbers"):
        decode("ngsi-ld", json.dumps(entity))


def test_non_finite_epoch_text_is_a_bad_time_not_a_crash() -> None:
    entity = {
        "id": "urn:ngsi-ld:AirQualityObserved:x",
        "type": "AirQualityObserved",
        "no2": {"type": "Property", "value": 1, "observedAt": "-1e999"},
    }
    got = process("ngsi-ld", json.dumps(entity), topic=TOPIC, lab=LAB)
    assert [(r.code, r.key) for r in got.result.rejections] == [("bad_time", "no2")]


def test_entity_without_id_is_named() -> None:
    with pytest.raises(DecodeError, match=r"entities\[1\]\.id: missing entity id"):
        decode("ngsi-ld", '[{"id": "urn:ngsi-ld:X:1", "type": "X"}, {"type": "X"}]')


def test_traffic_intensity_counts_become_hourly_rates_but_booleans_stay_rejected() -> None:
    def flow(value: object) -> str:
        return json.dumps(
            {
                "id": "urn:ngsi-ld:TrafficFlowObserved:hcab-n",
                "type": "TrafficFlowObserved",
                "intensity": {"type": "Property", "value": value},
                "dateObservedFrom": {"type": "Property", "value": "2026-01-01T10:00:00Z"},
                "dateObservedTo": {"type": "Property", "value": "2026-01-01T10:15:00Z"},
            }
        )

    [reading] = process("ngsi-ld", flow(150), topic=TOPIC, lab=LAB).result.readings
    assert (reading.quantity, reading.value, reading.unit) == ("intensity", 600.0, "1/h")
    [rejection] = process("ngsi-ld", flow(True), topic=TOPIC, lab=LAB).result.rejections
    assert rejection.code == "not_a_number"


@pytest.mark.parametrize("coordinates", [["1E310", 42.8], [12.5, 95.0], ["nan", 1]])
def test_locations_that_are_no_position_are_named(coordinates: list[object]) -> None:
    entity = {
        "id": "urn:ngsi-ld:AirQualityObserved:x",
        "type": "AirQualityObserved",
        "no2": 1,
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": coordinates}},
    }
    with pytest.raises(DecodeError, match=r"entity\[0\]\.location: \[.*\] is not a \[lon, lat\] position"):
        decode("ngsi-ld", json.dumps(entity))


def test_the_entity_type_decides_what_an_attribute_means() -> None:
    # Smart Data Models: a WaterQualityObserved's `temperature` is the water's, a WeatherObserved's the air's.
    entities = [
        {"id": "urn:ngsi-ld:WaterQualityObserved:harbour-1", "type": "WaterQualityObserved", "temperature": 4.5},
        {"id": "urn:ngsi-ld:WeatherObserved:roof-1", "type": "WeatherObserved", "temperature": -1.5},
    ]
    decoded = decode("ngsi-ld", json.dumps(entities))
    assert [(o.key, o.context) for o in decoded.observations] == [
        ("temperature", "WaterQualityObserved"),
        ("temperature", "WeatherObserved"),
    ]
    got = process("ngsi-ld", json.dumps(entities), topic=TOPIC, lab=LAB).result.readings
    assert [(r.device, r.quantity, r.value) for r in got] == [
        ("harbour-1", "waterTemperature", 4.5),
        ("roof-1", "temperature", -1.5),
    ]
