"""Air-quality levels (EAQI 2024 bands, from ``bands.yaml``) and the WHO and EU reference values of a quantity."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from hub.vocabulary import Quantity, Reference

# WHO and EU short-term values, shortest averaging period first (docs/web.md says why these).
_SHORT_TERM = ("1h", "8h", "24h")


@dataclass(frozen=True, slots=True)
class Level:
    index: int  # 0 = good … 5 = extremely poor
    name: str  # catalogue key suffix: band.<name>
    fill: str
    text: str


@dataclass(frozen=True, slots=True)
class Bands:
    source: str
    levels: tuple[Level, ...]
    bounds: dict[str, tuple[float, ...]]

    def level(self, quantity: str, value: float) -> Level | None:
        """The level of an hourly value; None for a quantity the index does not cover."""
        bounds = self.bounds.get(quantity)
        if bounds is None:
            return None
        # A value on a bound belongs to the level above it (bounds are inclusive lower bounds).
        return self.levels[bisect.bisect_right(bounds, value)]


@cache
def load_bands() -> Bands:
    text = resources.files("hub.web").joinpath("bands.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    names = [str(name) for name in data["levels"]]
    colours = data["colours"]
    levels = tuple(
        Level(index, name, str(colours[name]["fill"]), str(colours[name]["text"])) for index, name in enumerate(names)
    )
    bounds = {str(q): tuple(float(b) for b in values) for q, values in data["bounds"].items()}
    for quantity, values in bounds.items():
        if len(values) != len(levels) - 1 or list(values) != sorted(values):
            raise ValueError(f"hub/web/bands.yaml: bounds.{quantity}: need {len(levels) - 1} rising bounds")
    return Bands(str(data["source"]), levels, bounds)


def _short_term(quantity: Quantity, prefix: str) -> Reference | None:
    candidates = [r for r in quantity.references if r.name.startswith(prefix) and r.period in _SHORT_TERM]
    return min(candidates, key=lambda r: _SHORT_TERM.index(r.period), default=None)


def who_guideline(quantity: Quantity) -> Reference | None:
    """The WHO 2021 guideline with the shortest averaging period below a year (as /compare uses)."""
    return _short_term(quantity, "WHO")


def eu_limit(quantity: Quantity) -> Reference | None:
    """The EU limit or target with the shortest averaging period below a year."""
    return _short_term(quantity, "EU")
