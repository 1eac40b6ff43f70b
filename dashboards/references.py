"""Air-quality reference values for the comparison dashboard, read from hub/data/quantities.yaml.

The numbers live once, in the vocabulary; this module only picks, per pollutant, the
WHO 2021 short-term guideline and the EU value to draw beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.vocabulary import Reference, load_vocabulary

# The pollutants the dashboard charts against their references, in display order.
AIR_QUALITY = ("pm25", "pm10", "no2", "o3")


@dataclass(frozen=True, slots=True)
class Guideline:
    quantity: str
    description: str
    unit: str
    who: Reference
    eu: Reference

    @property
    def period(self) -> str:
        """The averaging period of the WHO guideline, also an InfluxQL duration (``24h``, ``8h``)."""
        return self.who.period


def _shortest(references: list[Reference]) -> Reference:
    return min(references, key=lambda ref: ref.hours)


def guideline(quantity: str) -> Guideline:
    spec = load_vocabulary().quantities[quantity]
    # The same WHO guideline the API counts "hours above" against: one chooser, in the vocabulary.
    who = spec.who_short_term()
    eu = [ref for ref in spec.references if ref.name.startswith("EU")]
    if who is None or not eu:
        raise ValueError(f"quantities.yaml: {quantity} needs both a short-term WHO guideline and an EU reference")
    # Prefer the EU value over the same period as the WHO guideline, so both lines mean the same thing.
    same_period = [ref for ref in eu if ref.period == who.period]
    return Guideline(quantity, spec.description, spec.unit, who, _shortest(same_period or eu))


def air_quality_guidelines() -> list[Guideline]:
    return [guideline(quantity) for quantity in AIR_QUALITY]
