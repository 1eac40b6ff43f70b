"""The key resolver: every layer, their precedence, the matching rules, unit pinning and reverse()."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from adapters import codecs
from core.model import DecodedMessage, KeyMapping, KeyMeaning, RawObservation
from hub.labs import LabConfig, Source, load_labs
from hub.normalise import Normaliser
from hub.resolver import (
    KeyResolver,
    Layer,
    ProfileRegistry,
    ResolverDataError,
    load_aliases,
    load_profiles,
    resolver_for,
    shipped_aliases,
    shipped_profiles,
)
from hub.vocabulary import load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_vocabulary()
RECEIVED = 1_772_366_400_000_000_000  # 2026-03-01T12:00:00Z
DL_PM = """\
name: Decentlab DL-PM
keys:
  pm2_5_mass_concentration: {quantity: pm25, unit: ug/m3}
  humidity: {quantity: relativeHumidity, unit: "%"}
  temperature: {quantity: waterTemperature}
  battery_voltage: ignore
  temp_x10: {quantity: temperature, unit: Cel, scale: 0.1}
"""


def profiles(tmp_path: Path, files: dict[str, str]) -> ProfileRegistry:
    for name, text in files.items():
        path = tmp_path / "profiles" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load_profiles(tmp_path / "profiles")


def meaning(resolver: KeyResolver, key: str, **kwargs: object) -> tuple[str | None, str | None, Layer] | None:
    found = resolver.resolve(key, **kwargs)  # type: ignore[arg-type]
    return None if found is None else (found.quantity, found.unit, found.layer)


def mapping(key: str, quantity: str, unit: str | None = None) -> KeyMapping:
    return KeyMapping(key, KeyMeaning(quantity, unit), f"mappings.{key}")


# --- the layers, one by one --------------------------------------------------------------------------------


def test_layer_1_the_sources_mappings_exact_keys_only() -> None:
    resolver = KeyResolver("ttn-v3", [mapping("level_cm", "waterLevel", "cm")])
    assert meaning(resolver, "level_cm") == ("waterLevel", "cm", Layer.SOURCE)
    # A lab names its own keys: no suffix or channel rule applies to them.
    assert resolver.resolve("probe.level_cm") is None
    assert resolver.resolve("level_cm_1") is None


def test_layer_2_the_device_models_profile(tmp_path: Path) -> None:
    resolver = KeyResolver("ttn-v3", profiles=profiles(tmp_path, {"decentlab/dl-pm": DL_PM}))
    profile = resolver.profile("decentlab/dl-pm")
    assert profile is not None and profile.name == "Decentlab DL-PM"
    assert meaning(resolver, "pm2_5_mass_concentration", profile=profile) == ("pm25", "ug/m3", Layer.PROFILE)
    # The profile gives a key another meaning than the global aliases do, for this model only.
    assert meaning(resolver, "temperature", profile=profile) == ("waterTemperature", None, Layer.PROFILE)
    assert meaning(resolver, "temperature") == ("temperature", None, Layer.GLOBAL)
    assert resolver.profile("decentlab/dl-lp8p") is None and resolver.profile(None) is None


def test_layer_3_the_formats_aliases() -> None:
    assert meaning(resolver_for("tasmota"), "BME280.Pressure") == ("atmosphericPressure", None, Layer.FORMAT)
    assert meaning(resolver_for("sensor-community"), "P1") == ("pm10", "ug/m3", Layer.FORMAT)
    assert meaning(resolver_for("ttn-v3"), "air.lightIntensity") == ("illuminance", "lx", Layer.FORMAT)
    assert meaning(resolver_for("senml"), "%RH") == ("relativeHumidity", None, Layer.FORMAT)
    assert meaning(resolver_for("ngsi-ld"), "noiseLevel") == ("LAeq", None, Layer.FORMAT)
    # A shared set (LoRaWAN decoders' keys) included by the formats that carry decoder output.
    for format_name in ("ttn-v3", "chirpstack-v4"):
        assert meaning(resolver_for(format_name), "pressure") == ("atmosphericPressure", None, Layer.FORMAT)


def test_format_aliases_mean_nothing_in_other_formats() -> None:
    # Keller's ADT1 decoder sends a pressure as P1: in a TTN uplink P1 is not Sensor.Community's pm10.
    assert resolver_for("ttn-v3").resolve("P1") is None
    assert resolver_for("ttn-v3").resolve("Cel") is None
    assert resolver_for("senml").resolve("pressure") is None
    assert resolver_for("json").resolve("noiseLevel") is None


def test_layer_4_global_aliases_and_the_vocabularys_own_names() -> None:
    resolver = resolver_for("json")
    assert meaning(resolver, "relative_humidity") == ("relativeHumidity", None, Layer.GLOBAL)
    # As a device's key, these names' meaning or unit is not fixed: no global alias, shown as unmapped.
    ambiguous = {"occupancy", "intensity", "fillingLevel", "distance", "hcho", "peopleCount", "gaugePressure"}
    for name in VOCABULARY.quantities:
        assert meaning(resolver, name) == (None if name in ambiguous else (name, None, Layer.GLOBAL)), name
    # Smart Data Models formats have every name, at layer 3.
    for format_name in ("ngsi-ld", "fiware-json", "fiware-ul"):
        for name in VOCABULARY.quantities:
            assert meaning(resolver_for(format_name), name) == (name, None, Layer.FORMAT), (format_name, name)


def test_a_context_selects_aliases_for_that_entity_type() -> None:
    resolver = resolver_for("ngsi-ld")
    assert meaning(resolver, "temperature", context="WaterQualityObserved") == (
        "waterTemperature",
        None,
        Layer.FORMAT,
    )
    assert meaning(resolver, "temperature", context="WeatherObserved") == ("temperature", None, Layer.FORMAT)
    assert meaning(resolver, "temperature") == ("temperature", None, Layer.FORMAT)


# --- precedence ------------------------------------------------------------------------------------------


def test_each_layer_beats_the_ones_after_it(tmp_path: Path) -> None:
    registry = profiles(tmp_path, {"acme/probe": "keys:\n  humidity: {quantity: fillingLevel}\n  P1: occupancy\n"})
    resolver = KeyResolver("sensor-community", [mapping("humidity", "occupancy")], profiles=registry)
    profile = resolver.profile("acme/probe")
    # source > profile > format > global, for the same key
    assert meaning(resolver, "humidity", profile=profile) == ("occupancy", None, Layer.SOURCE)
    assert meaning(resolver, "P1", profile=profile) == ("occupancy", None, Layer.PROFILE)
    assert meaning(resolver, "P1") == ("pm10", "ug/m3", Layer.FORMAT)
    assert meaning(KeyResolver("sensor-community"), "humidity") == ("relativeHumidity", "%", Layer.FORMAT)
    assert meaning(KeyResolver("json"), "humidity") == ("relativeHumidity", None, Layer.GLOBAL)


def test_a_longer_form_of_the_key_beats_a_more_specific_layer(tmp_path: Path) -> None:
    # TTN's normalized `water.temperature` is the water's, even when a profile maps plain `temperature`.
    registry = profiles(tmp_path, {"acme/air": "keys:\n  temperature: temperature\n"})
    resolver = KeyResolver("ttn-v3", profiles=registry)
    assert meaning(resolver, "water.temperature", profile=resolver.profile("acme/air")) == (
        "waterTemperature",
        "Cel",
        Layer.FORMAT,
    )
    # In formats without the TTN aliases the global whole key keeps the suffix rule from reading it as air.
    assert meaning(resolver_for("chirpstack-v4"), "water.temperature") == ("waterTemperature", None, Layer.GLOBAL)


# --- matching rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format_name", "key", "quantity"),
    [
        ("ttn-v3", "temperature", "temperature"),
        ("ttn-v3", "humidity", "relativeHumidity"),
        ("ttn-v3", "pm2_5", "pm25"),
        ("ttn-v3", "pm2_5_mass_concentration", "pm25"),
        ("sensor-community", "P1", "pm10"),
        ("sensor-community", "P2", "pm25"),
        ("ttn-v3", "air.temperature", "temperature"),
        ("chirpstack-v4", "history.humidity", "relativeHumidity"),  # dotted suffix
        ("tasmota", "BME280.Temperature", "temperature"),
        ("tasmota", "SDS0X1.PM2.5", "pm25"),  # suffixes longest first: PM2.5 before 5
        ("ttn-v3", "temperature_0", "temperature"),  # CayenneLPP channel
        ("ttn-v3", "barometric_pressure_0", "atmosphericPressure"),
        ("chirpstack-v4", "temperatureSensor.1", "temperature"),
        ("ttn-v3", "co2", "co2"),
    ],
)
def test_vendor_keys_map_exactly(format_name: str, key: str, quantity: str) -> None:
    found = resolver_for(format_name).resolve(key)
    assert found is not None and found.quantity == quantity


@pytest.mark.parametrize(
    "key",
    [
        "pm2_5_number_concentration",
        "pm10_number_concentration",
        "battery_voltage",
        "temperatureX",
        "xtemperature",
        "co2_sensor_status",
        "capacitor_voltage_1",
        "",
        ".",
        "temperature.",
    ],
)
def test_lookalike_keys_never_match_by_substring(key: str) -> None:
    for format_name in codecs():
        assert resolver_for(format_name).resolve(key) is None


def test_a_resolution_says_which_entry_and_file_decided() -> None:
    found = resolver_for("tasmota").resolve("SHT3X.Humidity")
    assert found is not None
    assert (found.entry, found.origin, found.layer) == ("Humidity", "aliases/global.yaml", Layer.GLOBAL)
    source = resolver_for("json", _source("odense-city-lab", "odense-city-lab/noise/+"))
    found = source.resolve("laeq")
    assert found is not None and (found.layer, found.origin) == (Layer.SOURCE, "options.values.0")


def test_keys_are_memoised_but_the_memo_is_bounded() -> None:
    resolver = KeyResolver("json")
    for index in range(10_000):
        assert resolver.resolve(f"unknown_{index}") is None
    assert resolver.resolve("humidity") is not None
    assert len(resolver._memo) <= 4096


# --- units -----------------------------------------------------------------------------------------------


def test_a_pinned_unit_beats_the_source_and_format_defaults(tmp_path: Path) -> None:
    resolver = KeyResolver(
        "sensor-community",
        [mapping("baro", "atmosphericPressure")],
        {"atmosphericPressure": "kPa", "relativeHumidity": "/"},
    )
    pinned = resolver.resolve("pressure")  # the format's entry pins Pa
    assert pinned is not None and resolver.default_unit(pinned) == "Pa"
    unpinned = resolver.resolve("baro")  # the lab's mapping gives no unit: the lab's default
    assert unpinned is not None and resolver.default_unit(unpinned) == "kPa"
    ngsi = KeyResolver("ngsi-ld", default_units={"occupancy": "%"})
    for key, unit in (("relativeHumidity", "/"), ("occupancy", "%"), ("temperature", "Cel")):
        found = ngsi.resolve(key)
        assert found is not None and ngsi.default_unit(found) == unit  # format default, source default, canonical


def test_an_alias_entry_may_pin_its_unit(tmp_path: Path) -> None:
    root = _copy_aliases(tmp_path)
    (root / "formats" / "json.yaml").write_text("aliases:\n  temp_f: {quantity: temperature, unit: F}\n")
    resolver = KeyResolver("json", aliases=load_aliases(root))
    result = Normaliser().normalise(
        DecodedMessage(
            (RawObservation("temp_f", 50), RawObservation("temp_f", 20, unit="Cel", time="2026-03-01T11:00:00Z")),
            device="d",
        ),
        received_ns=RECEIVED,
        format_name="json",
        resolver=resolver,
    )
    # The pinned unit applies when the payload states none; a stated unit wins.
    assert [reading.value for reading in result.readings] == [10.0, 20.0]


# --- profiles --------------------------------------------------------------------------------------------


def test_profile_scale_and_ignore_in_the_normaliser(tmp_path: Path) -> None:
    resolver = KeyResolver("ttn-v3", profiles=profiles(tmp_path, {"decentlab/dl-pm": DL_PM}))
    decoded = DecodedMessage(
        (RawObservation("temp_x10", 215), RawObservation("battery_voltage", 3.1), RawObservation("rssi", -80)),
        device="dl-1",
        device_model="decentlab/dl-pm",
    )
    result = Normaliser().normalise(decoded, received_ns=RECEIVED, format_name="ttn-v3", resolver=resolver)
    assert [(r.quantity, r.value) for r in result.readings] == [("temperature", 21.5)]
    # An ignored key is known, so it is not shown as unmapped; an unknown one is.
    assert result.unmapped_keys == ["rssi"]


def test_ttn_version_ids_select_the_profile(tmp_path: Path) -> None:
    from adapters import DecodeContext, get_codec

    payload = (
        b'{"end_device_ids": {"device_id": "dl-1"}, "uplink_message": {"decoded_payload": {"temperature": 8.5},'
        b' "version_ids": {"brand_id": "decentlab", "model_id": "dl-pm", "firmware_version": "1.0"}}}'
    )
    decoded = get_codec("ttn-v3").decode(payload, DecodeContext())
    assert decoded.device_model == "decentlab/dl-pm"
    resolver = KeyResolver("ttn-v3", profiles=profiles(tmp_path, {"decentlab/dl-pm": DL_PM}))
    result = Normaliser().normalise(decoded, received_ns=RECEIVED, format_name="ttn-v3", resolver=resolver)
    assert [r.quantity for r in result.readings] == ["waterTemperature"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("keys:\n  t: heat\n", "profiles/acme/probe.yaml: keys.t.quantity: unknown quantity 'heat'"),
        (
            "keys:\n  t: {quantity: temperature, unit: Pa}\n",
            "profiles/acme/probe.yaml: keys.t.unit: 'Pa' can't be converted for temperature",
        ),
        (
            "keys:\n  t: {quantity: temperature, scale: 0}\n",
            "profiles/acme/probe.yaml: keys.t.scale: 0.0 is not a finite, non-zero factor",
        ),
        ("keys:\n  t: {quantity: temperature, colour: red}\n", "profiles/acme/probe.yaml: keys.t."),
        ("name: x\n", "profiles/acme/probe.yaml: keys: Field required"),
        ("keys: [unclosed\n", "profiles/acme/probe.yaml: not valid YAML"),
    ],
)
def test_bad_profiles_are_refused_naming_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ResolverDataError) as error:
        profiles(tmp_path, {"acme/probe": text})
    assert message in str(error.value)


def test_shipped_profiles_load() -> None:
    # Empty until device profiles are added; the folder and its shape exist.
    assert isinstance(shipped_profiles(), ProfileRegistry)
    assert resources.files("hub.data").joinpath("profiles").joinpath("README.md").is_file()


# --- the shipped alias data ------------------------------------------------------------------------------


def test_every_format_alias_file_names_a_known_format() -> None:
    assert set(shipped_aliases().formats) <= set(codecs())


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("global.yaml", "aliases:\n  warmth: heat\n", "aliases/global.yaml: aliases.warmth.quantity: unknown quantity"),
        (
            "global.yaml",
            "aliases:\n  pm25: pm10\n",
            "aliases/global.yaml: aliases.pm25: already declared in quantities.yaml",
        ),
        (
            "formats/json.yaml",
            "include: [nowhere]\n",
            "aliases/formats/json.yaml: include.0: no alias set aliases/shared/nowhere.yaml",
        ),
        (
            "formats/json.yaml",
            "include: [lorawan-decoders]\naliases:\n  light: lux\n",
            "aliases/formats/json.yaml: aliases.light.quantity: unknown quantity 'lux'",
        ),
        (
            "formats/json.yaml",
            "include: [lorawan-decoders]\naliases:\n  Systimestamp: time\n",
            "aliases/formats/json.yaml: aliases.Systimestamp: already declared in aliases/shared/lorawan-decoders.yaml",
        ),
        (
            "formats/json.yaml",
            "include: [lorawan-decoders]\naliases:\n  light: illuminance\n",
            "aliases/formats/json.yaml: fallback.light: also an alias in aliases/formats/json.yaml: one or the other",
        ),
        (
            "formats/json.yaml",
            "aliases:\n  t: {quantity: temperature, ignore: both}\n",
            "aliases/formats/json.yaml: aliases.t: an entry needs exactly one of quantity, ignore",
        ),
        (
            "formats/json.yaml",
            "default_units:\n  temperature: ppm\n",
            "aliases/formats/json.yaml: default_units.temperature: 'ppm' can't be converted for temperature",
        ),
        ("formats/json.yaml", "colour: red\n", "aliases/formats/json.yaml: colour: Extra inputs are not permitted"),
    ],
)
def test_bad_alias_files_are_refused_naming_the_file_and_key(
    tmp_path: Path, file: str, text: str, message: str
) -> None:
    root = _copy_aliases(tmp_path)
    (root / file).write_text(text)
    with pytest.raises(ResolverDataError) as error:
        load_aliases(root)
    assert message in str(error.value)


def test_global_aliases_never_contradict_a_format_alias() -> None:
    """A format alias may narrow a key to its format, never give a global key another meaning."""
    data = shipped_aliases()
    for format_name, aliases in data.formats.items():
        for key, found in aliases.table.keys.items():
            general = data.global_table.keys.get(key)
            assert general is None or general.quantity == found.quantity, (format_name, key)


# --- reverse ---------------------------------------------------------------------------------------------


def _labs() -> dict[str, LabConfig]:
    return load_labs(ROOT / "labs")


def _source(lab: str, topic: str) -> Source:
    return next(source for source in _labs()[lab].sources if source.topic == topic)


SOURCES = [(lab.lab, source) for lab in _labs().values() for source in lab.sources]


@pytest.mark.parametrize(("lab", "source"), SOURCES, ids=[f"{lab}:{source.topic}" for lab, source in SOURCES])
def test_reverse_round_trips_every_quantity_for_every_source(lab: str, source: Source) -> None:
    resolver = resolver_for(source.format, source)
    for quantity in VOCABULARY.quantities:
        route = resolver.reverse(quantity)
        if route is None:
            # Only a quantity no key of this source can carry: its own name is no alias here.
            assert resolver.resolve(quantity) is None, (lab, quantity)
            continue
        found = resolver.resolve(route.key)
        assert found is not None and found.quantity == quantity, (lab, quantity, route)
        assert route.unit == resolver.default_unit(found)
        assert VOCABULARY.conversion(quantity, route.unit) is not None


def test_reverse_prefers_the_labs_key_then_the_devices_spelling_then_the_hubs_name() -> None:
    aarhus = _source("aarhus-city-lab", "v3/aarhus-city-lab@ttn/devices/+/up")
    resolver = resolver_for("ttn-v3", aarhus)
    level = resolver.reverse("waterLevel", spelling="water_level")
    assert level is not None and (level.key, level.unit, level.layer) == ("level_cm", "cm", Layer.SOURCE)
    humidity = resolver.reverse("relativeHumidity", spelling="humidity")
    assert humidity is not None and (humidity.key, humidity.unit) == ("humidity", "%")
    # A spelling the hub would read as something else is not taken.
    wrong = resolver.reverse("relativeHumidity", spelling="P1")
    assert wrong is not None and wrong.key == "relativeHumidity"
    pressure = resolver_for("sensor-community").reverse("atmosphericPressure", spelling="pressure")
    assert pressure is not None and (pressure.key, pressure.unit) == ("pressure", "Pa")


def test_reverse_finds_the_json_path_and_the_datastream() -> None:
    noise = resolver_for("json", _source("odense-city-lab", "odense-city-lab/noise/+"))
    route = noise.reverse("temperature")
    assert route is not None and (route.key, route.unit) == ("$.env['temp.c']", "Cel")
    streams = _source("stavanger-sensorthings", "stavanger-sensorthings/v1.0/+/Observations")
    route = resolver_for("sensorthings", streams).reverse("no2")
    assert route is not None and (route.key, route.unit) == ("Datastreams(3)", "ppb")


def test_reverse_with_a_profile_and_a_context(tmp_path: Path) -> None:
    resolver = KeyResolver("ttn-v3", profiles=profiles(tmp_path, {"decentlab/dl-pm": DL_PM}))
    route = resolver.reverse("temperature", device_model="decentlab/dl-pm")
    assert route is not None and (route.key, route.unit, route.scale) == ("temp_x10", "Cel", 0.1)
    # The profile's `temperature` means water temperature: the hub's own name can't carry air temperature.
    assert resolver.reverse("waterTemperature", device_model="decentlab/dl-pm") is not None
    water = resolver_for("ngsi-ld").reverse("waterTemperature", context="WaterQualityObserved")
    assert water is not None and water.key == "waterTemperature"
    shadowed = KeyResolver("json", [mapping("temperature", "waterTemperature")])
    route = shadowed.reverse("temperature")
    assert route is not None and route.key != "temperature"


def _copy_aliases(tmp_path: Path) -> Path:
    root = tmp_path / "aliases"
    shutil.copytree(Path(str(resources.files("hub.data").joinpath("aliases"))), root)
    return root
