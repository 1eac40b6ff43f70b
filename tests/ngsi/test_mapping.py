"""The quantity -> Smart Data Models mapping is complete, consistent and reads back through the hub's units."""

from __future__ import annotations

from hub.ngsi.mapping import load_mapping
from hub.vocabulary import load_vocabulary


def test_every_quantity_is_mapped_or_listed_as_not_exposed():
    mapping = load_mapping()
    quantities = set(load_vocabulary().quantities)
    mapped, hidden = set(mapping.by_quantity), set(mapping.not_exposed)
    assert mapped | hidden == quantities
    assert not mapped & hidden
    assert all(reason.strip() for reason in mapping.not_exposed.values())


def test_every_unit_has_a_un_cefact_code_that_the_hub_reads_back():
    vocabulary = load_vocabulary()
    codes = load_mapping().unit_codes
    units = {q.unit for q in vocabulary.quantities.values()} | set(vocabulary.unit_symbols.values())
    assert units <= set(codes), f"units without a code: {units - set(codes)}"
    for unit, code in codes.items():
        assert vocabulary.unit_symbol(code) == unit, f"{code} is not an alias of {unit} in units.yaml"


def test_every_mapped_quantity_has_a_unit_code_and_an_exact_conversion():
    for quantity, mapped in load_mapping().by_quantity.items():
        assert mapped.unit_code, quantity
        assert mapped.to_canonical.offset == 0.0, f"{quantity}: sums and spreads convert by scale only"
        for value in (0.0, 0.553, 55.3, 1013.25):
            assert mapped.canonical(mapped.from_canonical(value)) == value


def test_sdm_fractions_are_fractions():
    mapping = load_mapping()
    assert mapping.by_quantity["relativeHumidity"].from_canonical(55.0) == 0.55
    assert mapping.by_quantity["relativeHumidity"].unit_code == "C62"
    assert mapping.by_quantity["fillingLevel"].from_canonical(72.5) == 0.725
    assert mapping.by_quantity["pm25"].unit_code == "GQ"
    assert mapping.by_quantity["co"].unit_code == "GP"
    assert mapping.by_quantity["intensity"].unit_code == "H10"


def test_the_brief_s_table_holds():
    by = {q: (m.entity_type.name, m.attribute) for q, m in load_mapping().by_quantity.items()}
    for q in ("pm25", "pm10", "no2", "o3", "so2", "co"):
        assert by[q][0] == "AirQualityObserved"
    for q in ("temperature", "relativeHumidity", "atmosphericPressure", "windSpeed", "precipitation"):
        assert by[q][0] == "WeatherObserved"
    assert by["LAeq"] == ("NoiseLevelObserved", "LAeq")
    assert by["intensity"] == ("TrafficFlowObserved", "intensity")
    assert by["fillingLevel"] == ("WasteContainer", "fillingLevel")
    assert by["waterTemperature"] == ("WaterQualityObserved", "temperature")
