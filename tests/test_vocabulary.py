from __future__ import annotations

import pytest

from core.model import KeyMeaning
from hub.vocabulary import load_vocabulary

V = load_vocabulary()


@pytest.mark.parametrize(
    ("quantity", "unit", "given", "expected"),
    [
        ("temperature", "°F", 212.0, 100.0),
        ("temperature", "FAH", 32.0, 0.0),
        ("temperature", "Fah", 50.0, 10.0),
        ("temperature", "K", 273.15, 0.0),
        ("temperature", "CEL", 21.5, 21.5),
        ("relativeHumidity", "/", 0.54, 54.0),
        ("relativeHumidity", "C62", 0.5, 50.0),
        ("relativeHumidity", "%RH", 40.0, 40.0),
        ("atmosphericPressure", "Pa", 96800.0, 968.0),
        ("atmosphericPressure", "PAL", 101325.0, 1013.25),
        ("atmosphericPressure", "kPa", 101.3, 1013.0),
        ("atmosphericPressure", "mbar", 1000.0, 1000.0),
        ("atmosphericPressure", "A97", 1000.0, 1000.0),
        ("pm25", "µg⋅m⁻³", 3.9, 3.9),
        ("pm25", "GQ", 3.9, 3.9),
        ("pm10", "µg/m³", 10.0, 10.0),
        ("no2", "ppb", 10.0, 19.1),
        ("no2", "61", 10.0, 19.1),
        ("o3", "ppb", 50.0, 100.0),
        ("so2", "ppb", 1.0, 2.66),
        ("no", "ppb", 4.0, 5.0),
        ("co", "ppm", 1.0, 1.16),
        ("co", "59", 2.0, 2.32),
        ("co", "GP", 0.5, 0.5),
        ("co2", "ppm", 415.0, 415.0),
        ("LAeq", "2N", 55.0, 55.0),
        ("LAeq", "dB(A)", 55.0, 55.0),
        ("illuminance", "LUX", 100.0, 100.0),
        ("windSpeed", "KMH", 36.0, 10.0),
        ("windSpeed", "MTS", 3.0, 3.0),
        ("windDirection", "DD", 270.0, 270.0),
        ("waterLevel", "cm", 150.0, 1.5),
        ("occupancy", "P1", 75.0, 75.0),
        # Unicode spellings, knots and the multiples devices send
        ("windSpeed", "m⋅s⁻¹", 3.0, 3.0),
        ("windSpeed", "KNT", 10.0, 5.144444444),
        ("windSpeed", "kn", 1.0, 0.514444444),
        ("windSpeed", "mph", 10.0, 4.4704),
        ("intensity", "H10", 120.0, 120.0),
        ("gaugePressure", "bar", 1.5, 150.0),
        ("gaugePressure", "MPA", 0.2, 200.0),
        ("gaugePressure", "psi", 10.0, 68.94757293),
        ("soilMoistureEc", "dS/m", 1.2, 1200.0),
        ("soilMoistureEc", "G42", 300.0, 300.0),
        ("soilMoistureEc", "µS/cm", 300.0, 300.0),
        ("soilMoistureVwc", "m³/m³", 0.25, 25.0),
        ("hcho", "mg/m3", 0.04, 40.0),
        ("hcho", "ppb", 10.0, 12.5),
        ("volatileOrganicCompoundsTotal", "ppm", 0.5, 500.0),
        ("solarRadiation", "W/m²", 800.0, 800.0),
        ("solarRadiation", "kW/m2", 0.8, 800.0),
        ("precipitationIntensity", "H67", 2.5, 2.5),
        ("precipitation", "l/m2", 1.5, 1.5),
        ("distance", "mm", 2116.0, 2.116),
        ("distance", "CMT", 30.0, 0.3),
        ("temperature", "oc", 21.0, 21.0),
    ],
)
def test_unit_conversions(quantity: str, unit: str, given: float, expected: float) -> None:
    conversion = V.conversion(quantity, unit)
    assert conversion is not None, f"{unit} should convert for {quantity}"
    assert conversion.apply(given) == pytest.approx(expected)


def test_converted_values_carry_no_float_noise() -> None:
    conversion = V.conversion("no2", "ppb")
    assert conversion is not None
    assert conversion.apply(10.0) == 19.1


@pytest.mark.parametrize(
    ("quantity", "unit"), [("temperature", "Pa"), ("pm25", "ppb"), ("LAeq", "Cel"), ("co2", "furlongs")]
)
def test_incompatible_or_unknown_units_have_no_conversion(quantity: str, unit: str) -> None:
    assert V.conversion(quantity, unit) is None


def test_every_quantity_has_identity_for_its_canonical_unit() -> None:
    for quantity in V.quantities.values():
        conversion = V.conversion(quantity.name, quantity.unit)
        assert conversion is not None
        assert conversion.apply(12.5) == 12.5


@pytest.mark.parametrize(
    ("meaning", "problem"),
    [
        (KeyMeaning("temperature"), None),
        (KeyMeaning("temperature", "°F"), None),
        (KeyMeaning("waterLevel", "cm", 0.1), None),
        (KeyMeaning("heat"), ("quantity", "unknown quantity 'heat'")),
        (KeyMeaning("temperature", "Pa"), ("unit", "'Pa' can't be converted for temperature")),
        (KeyMeaning("temperature", None, 0.0), ("scale", "0.0 is not a finite, non-zero factor")),
        (KeyMeaning("temperature", None, float("inf")), ("scale", "inf is not a finite, non-zero factor")),
    ],
)
def test_one_check_for_every_declared_key_meaning(meaning: KeyMeaning, problem: tuple[str, str] | None) -> None:
    assert V.check_meaning(meaning) == problem


def test_vocabulary_covers_the_common_standard() -> None:
    assert set(V.quantities) == {
        "temperature",
        "relativeHumidity",
        "atmosphericPressure",
        "pm1",
        "pm25",
        "pm4",
        "pm10",
        "no2",
        "o3",
        "so2",
        "no",
        "co",
        "co2",
        "LAeq",
        "illuminance",
        "windSpeed",
        "windDirection",
        "precipitation",
        "intensity",
        "occupancy",
        "fillingLevel",
        "waterTemperature",
        "waterLevel",
        # what the sensors labs buy measure besides the air (device profiles)
        "soilTemperature",
        "soilMoistureVwc",
        "soilMoistureEc",
        "volatileOrganicCompoundsTotal",
        "hcho",
        "gaugePressure",
        "distance",
        "peopleCount",
        "solarRadiation",
        "precipitationIntensity",
        "gustSpeed",
    }
    assert V.quantities["pm25"].unit == "ug/m3"
    assert {ref.value for ref in V.quantities["pm25"].references if ref.name.startswith("WHO")} == {15, 5}


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        ("volatileOrganicCompoundsTotal", "ug/m3"),  # no factor for a VOC mixture: refused, never guessed
        ("peopleCount", "%"),
        ("windDirection", "m/s"),
        ("LAeq", "dB(C)"),
    ],
)
def test_units_that_do_not_convert_are_refused(quantity: str, unit: str) -> None:
    assert V.conversion(quantity, unit) is None


def test_every_canonical_unit_has_its_un_cefact_code() -> None:
    codes = {
        "Cel": "CEL", "%": "P1", "hPa": "A97", "ug/m3": "GQ", "mg/m3": "GP", "ppm": "59", "ppb": "61",
        "dBA": "2N", "lx": "LUX", "m/s": "MTS", "deg": "DD", "mm": "MMT", "m": "MTR", "1/h": "H10",
        "kPa": "KPA", "uS/cm": "G42", "W/m2": "D54", "mm/h": "H67",
    }  # fmt: skip
    assert {quantity.unit for quantity in V.quantities.values()} <= set(codes)
    for symbol, code in codes.items():
        assert V.unit_symbol(code) == symbol, (symbol, code)


def test_compass_points_are_wind_directions() -> None:
    direction = V.quantities["windDirection"]
    assert [direction.word_value(word) for word in ("N", "nne", " SW ", "NNW")] == [0.0, 22.5, 225.0, 337.5]
    assert direction.word_value("north-ish") is None
    assert V.quantities["temperature"].word_value("N") is None
