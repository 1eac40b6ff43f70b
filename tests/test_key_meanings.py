"""What a key means where the format or the message decides: Smart Data Models by entity type, SensorThings
observed properties by definition URI or loose name, TTN's normalized form beside a profile, the fallback
guesses and the context rules around them, list elements, time keys, words and units a key leaves open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.model import DecodedMessage, RawObservation
from core.timeutil import ns_to_rfc3339, parse_iso_ns
from hub.labs import LabConfig, LabConfigError, load_lab
from hub.normalise import Normaliser
from hub.pipeline import Pipeline
from hub.resolver import KeyResolver, Layer, load_profiles, resolver_for
from tests.profiles.support import LAB, run, triples

RECEIVED = parse_iso_ns("2026-03-01T12:00:00Z", None)


def process(format_name: str, payload: object, *, topic: str = "t", lab: LabConfig | None = None) -> object:
    processed = Pipeline().process(
        json.dumps(payload).encode(), format_name=format_name, received_ns=RECEIVED, topic=topic, lab=lab
    )
    assert processed.failure is None, processed.failure
    return processed.result


# --- Smart Data Models: the entity type and the attribute together ------------------------------------------


def entity(entity_type: str, **attributes: float) -> dict[str, object]:
    body: dict[str, object] = {
        "id": f"urn:ngsi-ld:{entity_type}:x1",
        "type": entity_type,
        "dateObserved": {"type": "Property", "value": "2026-03-01T10:00:00Z"},
    }
    body.update({name: {"type": "Property", "value": value} for name, value in attributes.items()})
    return body


@pytest.mark.parametrize(
    ("entity_type", "attributes", "readings", "ignored"),
    [
        # A water-quality entity's temperature is the water's, and its NO2 is nitrite dissolved in it.
        ("WaterQualityObserved", {"temperature": 11.5, "NO2": 0.3, "pH": 7.9}, [("waterTemperature", 11.5)], []),
        ("AirQualityObserved", {"temperature": 4.0, "NO2": 20.0, "no2": 21.0}, [("temperature", 4.0)], []),
        ("WeatherObserved", {"temperature": -3.0, "atmosphericPressure": 1003.0, "precipitation": 1.5}, None, []),
        ("TrafficFlowObserved", {"occupancy": 0.76}, [], ["occupancy"]),
        ("WasteContainer", {"temperature": 31.0, "fillingLevel": 0.4}, [("fillingLevel", 40.0)], ["temperature"]),
        ("AgriParcelRecord", {"temperature": 9.0, "soilTemperature": 7.5, "soilMoistureVwc": 31.0}, None, []),
    ],
)
def test_smart_data_models_meaning_depends_on_the_entity_type(
    entity_type: str, attributes: dict[str, float], readings: list[tuple[str, float]] | None, ignored: list[str]
) -> None:
    result = process("ngsi-ld", entity(entity_type, **attributes))
    got = [(r.quantity, r.value) for r in result.readings]  # type: ignore[attr-defined]
    if entity_type == "AirQualityObserved":
        # FIWARE v1 capitals are the air's pollutants here; one value per quantity and time is stored.
        assert got == [("temperature", 4.0), ("no2", 20.0)]
        assert [r.code for r in result.rejections] == ["same_time"]  # type: ignore[attr-defined]
        return
    if readings is not None:
        assert got == readings
    unmapped = result.unmapped_keys  # type: ignore[attr-defined]
    assert not set(ignored) & set(unmapped)
    if entity_type == "WaterQualityObserved":
        assert unmapped == ["pH"]  # no quantity for it: shown, never guessed
    if entity_type == "WeatherObserved":
        assert got == [("temperature", -3.0), ("atmosphericPressure", 1003.0), ("precipitation", 1.5)]
    if entity_type == "AgriParcelRecord":
        assert got == [("soilTemperature", 7.5), ("soilMoistureVwc", 31.0)]


def test_crowd_flow_counts_over_the_period_become_people_per_hour() -> None:
    body = entity("CrowdFlowObserved", peopleCount=30)
    body["dateObservedFrom"] = {"type": "Property", "value": "2026-03-01T10:00:00Z"}
    body["dateObservedTo"] = {"type": "Property", "value": "2026-03-01T10:15:00Z"}
    result = process("ngsi-ld", body)
    assert [(r.quantity, r.value, r.unit) for r in result.readings] == [("peopleCount", 120.0, "1/h")]  # type: ignore[attr-defined]
    indoor = process("ngsi-ld", entity("IndoorEnvironmentObserved", peopleCount=4, co2=800))
    assert [(r.quantity, r.value) for r in indoor.readings] == [("co2", 800.0)]  # type: ignore[attr-defined]


# --- SensorThings: observed properties by definition URI, or by name without case and punctuation -----------


def observation(name: str, definition: str | None, result: float, symbol: str | None = None) -> dict[str, object]:
    observed: dict[str, object] = {"name": name}
    if definition is not None:
        observed["definition"] = definition
    stream: dict[str, object] = {"name": "s", "Thing": {"name": "station-1"}, "ObservedProperty": observed}
    if symbol is not None:
        stream["unitOfMeasurement"] = {"symbol": symbol}
    return {"phenomenonTime": "2026-03-01T10:00:00Z", "result": result, "Datastream": stream}


@pytest.mark.parametrize(
    ("name", "definition", "symbol", "quantity", "value"),
    [
        ("NO2", "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/8", "µg/m³", "no2", 31.0),
        ("whatever the lab called it", "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001", None, "pm25", 31.0),
        ("Relative humidity", None, "%", "relativeHumidity", 31.0),
        ("RELATIVE_HUMIDITY", None, None, "relativeHumidity", 31.0),
        ("Air Temperature", "http://example.org/unknown", "°C", "temperature", 31.0),
        ("rel. Luftfeuchte", None, None, "relativeHumidity", 31.0),
        ("Wind speed", None, "m⋅s⁻¹", "windSpeed", 31.0),
    ],
)
def test_sensorthings_observed_properties_by_definition_or_loose_name(
    name: str, definition: str | None, symbol: str | None, quantity: str, value: float
) -> None:
    result = process("sensorthings", observation(name, definition, 31.0, symbol))
    assert [(r.quantity, r.value) for r in result.readings] == [(quantity, value)]  # type: ignore[attr-defined]


def test_an_unknown_observed_property_is_unmapped_not_guessed() -> None:
    result = process("sensorthings", observation("Luminous Flux", "http://example.org/flux", 42))
    assert result.readings == [] and result.unmapped_keys == ["Luminous Flux"]  # type: ignore[attr-defined]


# --- TTN: the vendor's normalized payload, or the profile -----------------------------------------------------


def test_a_profile_reads_the_decoder_output_not_the_vendors_normalized_form() -> None:
    uplink = {
        "end_device_ids": {"device_id": "room-1"},
        "uplink_message": {
            "decoded_payload": {"light_detected": 1, "port": "10"},
            "normalized_payload": [{"air": {"lightIntensity": 1}}],
            "rx_metadata": [{"time": "2026-03-01T10:00:00Z"}],
        },
    }
    topic = "v3/profile-lab@ttn/devices/room-1/up"
    unnamed = process("ttn-v3", uplink, topic=topic, lab=LAB)
    assert [(r.quantity, r.value) for r in unnamed.readings] == [("illuminance", 1.0)]  # type: ignore[attr-defined]
    uplink["uplink_message"]["version_ids"] = {"brand_id": "tektelic", "model_id": "t00061xx-comfort"}  # type: ignore[index]
    named = process("ttn-v3", uplink, topic=topic, lab=LAB)
    assert named.readings == [] and named.profile == "tektelic/t00061xx-comfort"  # type: ignore[attr-defined]


# --- fallback guesses, and the context rules that withhold them ---------------------------------------------


def test_a_guess_is_only_for_devices_without_a_profile_and_is_reported() -> None:
    result = run({"sensorTemperature": 21.0, "batteryVoltage": 3.1}).result
    assert triples(result.readings) == [("temperature", 21.0, "Cel")]
    assert [(item.key, item.guess) for item in result.guessed] == [("sensorTemperature", "temperature")]
    assert result.unmapped_keys == ["batteryVoltage"]
    profiled = run({"sensorTemperature": 21.0, "batteryVoltage": 3.1, "odd": 1}, model="mclimate/vicki").result
    assert triples(profiled.readings) == [("temperature", 21.0, "Cel")]
    assert profiled.guessed == [] and profiled.unmapped_keys == ["odd"]
    # A profile that doesn't list a key that has a guess: unmapped, never guessed.
    assert run({"temperature": 5.0}, model="milesight-iot/em500-pp").result.unmapped_keys == ["temperature"]


@pytest.mark.parametrize(
    "payload",
    [
        {"temperature": 25.7, "distance": 2116},  # a ranging sensor's own temperature
        {"temperature": 30.8, "ec": 120, "moisture": 20},  # a soil probe
        {"temperature": -1, "occupied": True},  # a parking sensor in the road
        {"temperature": {"unit": "°C", "value": 21.9}, "protocol_version": 2},  # Decentlab's probe
        {"temperatureBoard": 21, "temperature": 22},  # Browan: the board sensor next to the real one
    ],
)
def test_context_rules_withhold_a_guess_that_would_be_wrong(payload: dict[str, object]) -> None:
    result = run(payload).result
    temperatures = [r.value for r in result.readings if r.quantity == "temperature"]
    assert temperatures in ([], [22.0])


def test_an_out_of_range_guess_says_it_was_a_guess_and_what_it_may_have_got_wrong() -> None:
    (rejection,) = run({"pressure": 2.5}).result.rejections
    assert rejection.code == "out_of_range"
    assert rejection.detail.startswith("pressure: atmosphericPressure 2.5 hPa is outside 850..1090")
    assert "only as a guess for devices without a profile" in rejection.detail
    assert "a gauge or water pressure" in rejection.detail


def test_keys_that_say_what_but_not_in_which_unit_need_the_payloads_unit() -> None:
    result = run({"water_level": 152, "x": {"water_level": {"value": 1.52, "unit": "m"}}}).result
    assert triples(result.readings) == [("waterLevel", 1.52, "m")]
    assert [r.code for r in result.rejections] == ["unknown_unit"]
    assert "map the key with its unit" in result.rejections[0].detail


# --- list elements, selectors, times in the payload, words --------------------------------------------------


def test_sensecap_measurement_ids_are_safe_without_a_profile() -> None:
    messages = [
        [{"measurementId": "4097", "measurementValue": 21.5}, {"measurementId": "4101", "measurementValue": 100830}]
    ]
    result = run({"valid": True, "messages": messages}).result
    assert triples(result.readings) == [("temperature", 21.5, "Cel"), ("atmosphericPressure", 1008.3, "hPa")]
    assert result.guessed == []


def test_a_time_key_is_the_time_of_the_messages_readings() -> None:
    # Dragino's Systimestamp (epoch seconds), with and without the profile.
    for model in (None, "dragino/lht52"):
        (reading, *_) = run({"TempC_SHT": 22.53, "Systimestamp": 1640845021}, model=model).result.readings
        assert ns_to_rfc3339(reading.time_ns) == "2021-12-30T06:17:01Z"
    # Adeunis: a zoneless text in the lab's timezone (Europe/Copenhagen: UTC+1 in December).
    payload = {"bytes": {"timestamp": "2023-12-28T19:22:17.000", "temperature": {"unit": "°C", "values": [19.7, 19.9]}}}
    (reading,) = run(payload, model="adeunis/comfort").result.readings
    assert (reading.value, ns_to_rfc3339(reading.time_ns)) == (19.7, "2023-12-28T18:22:17Z")


def test_compass_points_and_knots() -> None:
    result = run({"speed": 32, "direction": "NNE"}, model="example/windsensor").result
    assert triples(result.readings) == [("windSpeed", 16.462222222, "m/s"), ("windDirection", 22.5, "deg")]
    assert [r.code for r in run({"wind_direction": "north-ish"}).result.rejections] == ["not_a_number"]


# --- the lab config: profiles per source and per device, ignored keys ---------------------------------------

LAB_YAML = """\
lab: profile-lab
city: aarhus
name: Profile lab
city_name: Aarhus
country: DK
timezone: Europe/Copenhagen
location: {lat: 56.1572, lon: 10.2107}
sources:
  - topic: v3/profile-lab@ttn/devices/+/up
    format: ttn-v3
    device_topic_level: 3
    profile: milesight-iot/em500-smtc
    devices:
      "air-*": {profile: milesight-iot/em300-th}
    mappings:
      rssi: ignore
"""


def test_the_lab_names_profiles_per_source_and_per_device_pattern(tmp_path: Path) -> None:
    path = tmp_path / "profile-lab.yaml"
    path.write_text(LAB_YAML)
    lab = load_lab(path)
    source = lab.sources[0]

    def readings(device: str, version_ids: dict[str, str] | None = None) -> list[tuple[str, float, str]]:
        uplink: dict[str, object] = {"decoded_payload": {"temperature": 30.8, "humidity": 50.5, "rssi": -80}}
        if version_ids:
            uplink["version_ids"] = version_ids
        processed = Pipeline().process(
            json.dumps({"end_device_ids": {"device_id": device}, "uplink_message": uplink}).encode(),
            format_name="ttn-v3",
            received_ns=RECEIVED,
            topic=f"v3/profile-lab@ttn/devices/{device}/up",
            lab=lab,
            source=source,
        )
        assert processed.result.unmapped_keys == []  # rssi: the lab ignores it
        return triples(processed.result.readings)

    soil = [("soilTemperature", 30.8, "Cel"), ("soilMoistureVwc", 50.5, "%")]
    air = [("temperature", 30.8, "Cel"), ("relativeHumidity", 50.5, "%")]
    assert readings("probe-1") == soil  # the source's default
    assert readings("air-1") == air  # the device pattern
    assert readings("air-2", {"brand_id": "milesight-iot", "model_id": "em500-smtc"}) == air  # the lab wins
    assert readings("probe-2", {"brand_id": "milesight-iot", "model_id": "em300-th"}) == air  # the network's model


def test_an_unknown_profile_in_a_lab_config_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "profile-lab.yaml"
    path.write_text(LAB_YAML.replace('air-*": {profile: milesight-iot/em300-th}', 'air-*": {profile: acme/x}'))
    with pytest.raises(LabConfigError, match=r"profile-lab.yaml: sources.0.devices.air-\*.profile: no device profile"):
        load_lab(path)


# --- resolver data rules -------------------------------------------------------------------------------------


def test_suffixes_stop_at_a_medium_or_a_part_of_the_device() -> None:
    resolver = resolver_for("json")
    for key in ("soil.temperature", "probe.temp", "internal.temperature", "battery.humidity"):
        assert resolver.resolve(key) is None, key
    found = resolver.resolve("BME280.Temperature")
    assert found is not None and found.quantity == "temperature" and found.fallback


def test_profile_patterns_selectors_and_ignores(tmp_path: Path) -> None:
    folder = tmp_path / "profiles" / "acme"
    folder.mkdir(parents=True)
    (folder / "probe.yaml").write_text(
        "names: [ACME Probe 2000]\n"
        "keys:\n"
        "  RSSI*: {ignore: radio}\n"
        "  data[label=T].value: {quantity: waterTemperature, unit: Cel}\n"
        "  data[*].value: {ignore: other labels}\n"
    )
    registry = load_profiles(tmp_path / "profiles")
    resolver = KeyResolver("ttn-v3", profiles=registry)
    profile = registry.get("acme probe-2000")
    assert profile is not None and profile.model == "acme/probe"
    water = resolver.resolve("data[3].value", profile, element=(("label", "T"), ("value", "9")))
    other = resolver.resolve("data[4].value", profile, element=(("label", "X"), ("value", "9")))
    radio = resolver.resolve("RSSI2", profile)
    assert water is not None and (water.quantity, water.layer) == ("waterTemperature", Layer.PROFILE)
    assert other is not None and other.ignored and other.reason == "other labels"
    assert radio is not None and radio.ignored


def test_a_guess_needs_no_profile_even_in_the_normaliser() -> None:
    decoded = DecodedMessage((RawObservation("humidity", 50),), device="d", device_model="milesight-iot/em500-smtc")
    result = Normaliser().normalise(decoded, received_ns=RECEIVED, format_name="ttn-v3")
    assert triples(result.readings) == [("soilMoistureVwc", 50.0, "%")] and result.guessed == []
