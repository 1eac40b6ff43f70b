"""Air-quality levels: the EEA's 2024 bounds, and a palette that reads without colour vision."""

from __future__ import annotations

import itertools

import pytest

from hub.vocabulary import load_vocabulary
from hub.web.bands import eu_limit, load_bands, who_guideline


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def lightness(colour: str) -> float:
    """CIELAB L*: what every kind of colour vision, and greyscale, still sees."""
    y = luminance(colour)
    f = y ** (1 / 3) if y > 216 / 24389 else (24389 / 27 * y + 16) / 116
    return 116 * f - 16


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("quantity", "value", "level"),
    [
        ("pm25", 0.0, "good"),
        ("pm25", 4.99, "good"),
        ("pm25", 5.0, "fair"),  # a bound belongs to the level above
        ("pm25", 15.0, "moderate"),
        ("pm25", 140.0, "extremely_poor"),
        ("pm10", 44.9, "fair"),
        ("pm10", 45.0, "moderate"),
        ("pm10", 270.0, "extremely_poor"),
        ("no2", 9.9, "good"),
        ("no2", 25.0, "moderate"),
        ("no2", 100.0, "very_poor"),
        ("o3", 100.0, "moderate"),
        ("so2", 275.0, "extremely_poor"),
    ],
)
def test_levels_follow_the_2024_eaqi_bands(quantity, value, level):
    found = load_bands().level(quantity, value)
    assert found is not None and found.name == level


def test_quantities_without_bands_have_no_level():
    assert load_bands().level("temperature", 20.0) is None


def test_lightness_falls_from_good_to_extremely_poor_in_clear_steps():
    levels = load_bands().levels
    values = [lightness(level.fill) for level in levels]
    steps = [a - b for a, b in itertools.pairwise(values)]
    assert all(step >= 8 for step in steps), dict(zip([lv.name for lv in levels], values, strict=True))


def test_each_levels_word_is_readable_on_its_swatch():
    for level in load_bands().levels:
        assert contrast(level.fill, level.text) >= 4.5, level


def test_references_are_the_who_2021_short_term_guideline_and_the_shortest_eu_limit():
    quantities = load_vocabulary().quantities
    who, eu = who_guideline(quantities["pm25"]), eu_limit(quantities["pm25"])
    assert who is not None and (who.value, who.period) == (15, "24h")
    assert eu is not None and (eu.value, eu.period) == (25, "24h")
    no2 = eu_limit(quantities["no2"])
    assert no2 is not None and (no2.value, no2.period) == (200, "1h")
    assert who_guideline(quantities["temperature"]) is None
