"""The canonical vocabulary and unit table, loaded once from data files.

Conversion factors are derived with pint at load time; the hot path only
multiplies and adds. What payload keys mean is the key resolver's (``hub.resolver``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from core.model import KeyMeaning


class VocabularyError(ValueError):
    """The vocabulary data files contradict themselves."""


_PERIOD = re.compile(r"^(\d+)([hdy])$")
_HOURS_PER_YEAR = 24 * 365
_PERIOD_HOURS = {"h": 1, "d": 24, "y": _HOURS_PER_YEAR}


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    value: float
    period: str  # averaging period: 1h, 8h, 24h, 1y

    @property
    def hours(self) -> int:
        """The averaging period in hours (a year counts 365 days)."""
        match = _PERIOD.match(self.period)
        if match is None:
            raise VocabularyError(f"{self.name}: unsupported averaging period {self.period!r}")
        return int(match.group(1)) * _PERIOD_HOURS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Quantity:
    name: str
    unit: str
    minimum: float
    maximum: float
    description: str
    molar_factor: float | None
    references: tuple[Reference, ...]
    # Words a payload may send instead of a number, with the value each means in the canonical unit
    # (compass points for windDirection); matched without case or surrounding spaces.
    words: Mapping[str, float] = field(default_factory=dict)

    def word_value(self, text: str) -> float | None:
        """The number a word stands for (``"NNE"`` -> 22.5), or None."""
        return self.words.get(text.strip().upper()) if self.words else None

    def who_short_term(self) -> Reference | None:
        """The WHO guideline with the shortest averaging period below a year (24 h for PM and NO₂, 8 h for O₃).

        The one guideline the hub compares hourly means with ("hours above WHO") and draws on the
        dashboards; None when the quantity has no short-term WHO guideline.
        """
        short_term = [ref for ref in self.references if ref.name.startswith("WHO") and ref.hours < _HOURS_PER_YEAR]
        return min(short_term, key=lambda ref: ref.hours, default=None)


@dataclass(frozen=True, slots=True)
class Conversion:
    """value_in_canonical = value * scale + offset."""

    scale: float
    offset: float

    def apply(self, value: float) -> float:
        if self.scale == 1.0 and self.offset == 0.0:
            return value
        # Drop float noise (10 ppb x 1.91 reads 19.1, 32 °F reads 0): no sensor resolves
        # below 1e-9 of its unit or beyond 12 significant digits. "+ 0.0" turns -0.0 into 0.0.
        return float(f"{round(value * self.scale + self.offset, 9):.12g}") + 0.0


# The canonical unit's conversion, one object: the normaliser skips it by identity.
IDENTITY_CONVERSION = Conversion(1.0, 0.0)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    quantities: dict[str, Quantity]
    unit_symbols: dict[str, str]  # any alias or symbol -> symbol
    conversions: dict[tuple[str, str], Conversion]  # (quantity, symbol) -> to canonical
    unit_codes: dict[str, str]  # symbol -> UN/CEFACT Rec 20 common code (NGSI-LD unitCode)

    def unit_symbol(self, unit: str) -> str | None:
        return self.unit_symbols.get(unit) or self.unit_symbols.get(unit.strip())

    def conversion(self, quantity: str, unit: str) -> Conversion | None:
        symbol = self.unit_symbol(unit)
        if symbol is None:
            return None
        return self.conversions.get((quantity, symbol))

    def check_meaning(self, meaning: KeyMeaning) -> tuple[str, str] | None:
        """The one check of a declared key meaning, wherever it is declared (lab mappings, codec
        options, profiles, alias tables): ``(field, problem)``, or None when it is usable."""
        if meaning.quantity not in self.quantities:
            return "quantity", f"unknown quantity {meaning.quantity!r}"
        if meaning.unit is not None and self.conversion(meaning.quantity, meaning.unit) is None:
            return "unit", f"{meaning.unit!r} can't be converted for {meaning.quantity}"
        if meaning.scale is not None and (not math.isfinite(meaning.scale) or meaning.scale == 0):
            return "scale", f"{meaning.scale!r} is not a finite, non-zero factor"
        return None


def _read_yaml(name: str) -> dict[str, Any]:
    text = resources.files("hub.data").joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise VocabularyError(f"{name}: expected a mapping at the top level")
    return data


def _derive_conversions(
    quantities: dict[str, Quantity], pint_units: dict[str, str]
) -> dict[tuple[str, str], Conversion]:
    import pint  # only at load: pint is slow to import and never used on the hot path

    registry: Any = pint.UnitRegistry()
    if "ppb" not in registry:
        registry.define("ppb = 1e-9 = parts_per_billion")
    parsed = {symbol: registry.Quantity(1, expr).units for symbol, expr in pint_units.items()}
    conversions: dict[tuple[str, str], Conversion] = {}
    for quantity in quantities.values():
        conversions[(quantity.name, quantity.unit)] = IDENTITY_CONVERSION
        target = parsed.get(quantity.unit)
        for symbol, source in parsed.items():
            if target is None or symbol == quantity.unit:
                continue
            if registry.Quantity(1, source).dimensionality != registry.Quantity(1, target).dimensionality:
                continue
            zero = registry.Quantity(0, source).to(target).magnitude
            one = registry.Quantity(1, source).to(target).magnitude
            conversions[(quantity.name, symbol)] = Conversion(_tidy(one - zero), _tidy(zero))
        if quantity.molar_factor is not None:
            # Gas mixing ratios: ppb -> µg/m³ (or ppm -> mg/m³ for CO, the same factor).
            factor = quantity.molar_factor
            if quantity.unit == "ug/m3":
                conversions[(quantity.name, "ppb")] = Conversion(factor, 0.0)
                conversions[(quantity.name, "ppm")] = Conversion(factor * 1000.0, 0.0)
            elif quantity.unit == "mg/m3":
                conversions[(quantity.name, "ppm")] = Conversion(factor, 0.0)
                conversions[(quantity.name, "ppb")] = Conversion(factor / 1000.0, 0.0)
            else:
                raise VocabularyError(f"{quantity.name}: molar_factor needs unit ug/m3 or mg/m3")
    return conversions


def _tidy(number: float) -> float:
    """Drop pint's float noise (0.5555555555555429 -> 0.555555555555556)."""
    return float(f"{float(number):.15g}")


@cache
def load_vocabulary() -> Vocabulary:
    raw_quantities = _read_yaml("quantities.yaml")["quantities"]
    raw_units = _read_yaml("units.yaml")["units"]

    unit_symbols: dict[str, str] = {}
    pint_units: dict[str, str] = {}
    unit_codes: dict[str, str] = {}
    for symbol, spec in raw_units.items():
        if "code" in spec:
            unit_codes[symbol] = str(spec["code"])
        for alias in [symbol, *([spec["code"]] if "code" in spec else []), *spec.get("aliases", [])]:
            alias = str(alias)
            if unit_symbols.get(alias, symbol) != symbol:
                raise VocabularyError(f"units.yaml: {alias!r} means both {unit_symbols[alias]} and {symbol}")
            unit_symbols[alias] = symbol
        if "pint" in spec:
            pint_units[symbol] = spec["pint"]

    quantities: dict[str, Quantity] = {}
    for name, spec in raw_quantities.items():
        unit = spec["unit"]
        if unit not in raw_units:
            raise VocabularyError(f"quantities.yaml: {name}: unknown unit {unit!r}")
        low, high = spec["range"]
        quantities[name] = Quantity(
            name=name,
            unit=unit,
            minimum=float(low),
            maximum=float(high),
            description=spec.get("description", ""),
            molar_factor=spec.get("molar_factor"),
            references=tuple(Reference(**ref) for ref in spec.get("references", [])),
            words={str(word).upper(): float(value) for word, value in (spec.get("words") or {}).items()},
        )

    for name, quantity in quantities.items():
        if quantity.unit not in unit_codes:
            raise VocabularyError(f"units.yaml: {quantity.unit} (the unit of {name}) has no UN/CEFACT code")
    return Vocabulary(
        quantities=quantities,
        unit_symbols=unit_symbols,
        conversions=_derive_conversions(quantities, pint_units),
        unit_codes=unit_codes,
    )
