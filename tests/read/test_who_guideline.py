"""One WHO guideline chooser: the API's "hours above WHO" and the dashboards' lines use the same value."""

from __future__ import annotations

import pytest

from dashboards.references import AIR_QUALITY, guideline
from hub.vocabulary import Quantity, Reference, VocabularyError, load_vocabulary

QUANTITIES = load_vocabulary().quantities


def quantity(*references: Reference) -> Quantity:
    return Quantity("x", "ug/m3", 0, 1000, "", None, references)


@pytest.mark.parametrize(
    ("name", "period", "value"),
    [("pm25", "24h", 15.0), ("pm10", "24h", 45.0), ("no2", "24h", 25.0), ("so2", "24h", 40.0), ("o3", "8h", 100.0)],
)
def test_the_short_term_who_guideline_of_each_pollutant(name, period, value):
    chosen = QUANTITIES[name].who_short_term()
    assert chosen is not None
    assert (chosen.period, chosen.value) == (period, value)


def test_quantities_without_a_who_guideline_have_none():
    assert QUANTITIES["temperature"].who_short_term() is None


def test_the_shortest_period_below_a_year_wins_and_eu_values_never_do():
    chosen = quantity(
        Reference("WHO 2021 annual guideline", 5, "1y"),
        Reference("EU 1 h limit", 200, "1h"),
        Reference("WHO 2021 24 h guideline", 15, "24h"),
        Reference("WHO 2021 8 h guideline", 100, "8h"),
    ).who_short_term()
    assert chosen == Reference("WHO 2021 8 h guideline", 100, "8h")


def test_an_annual_guideline_alone_is_not_a_short_term_one():
    assert quantity(Reference("WHO 2021 annual guideline", 5, "1y")).who_short_term() is None


def test_an_unknown_period_is_a_vocabulary_error():
    with pytest.raises(VocabularyError, match=r"2w"):
        quantity(Reference("WHO odd guideline", 5, "2w")).who_short_term()


@pytest.mark.parametrize("name", AIR_QUALITY)
def test_dashboards_draw_the_guideline_the_api_counts_against(name):
    assert guideline(name).who == QUANTITIES[name].who_short_term()
