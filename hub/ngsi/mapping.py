"""Which Smart Data Models entity type and attribute each quantity becomes, loaded once from data.

``hub/ngsi/tables/sdm.yaml`` maps quantities to (type, attribute, unit); ``unit_codes.yaml`` gives
the UN/CEFACT code of every canonical unit. Conversions to a schema's unit (SDM relative humidity
is a 0..1 fraction) come from the hub's vocabulary, so no factor is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.vocabulary import Conversion, load_vocabulary


class MappingError(ValueError):
    """The mapping data contradicts itself or the vocabulary."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TypeSpec(_Strict):
    domain: str = Field(pattern=r"^[A-Za-z]+$")
    context: str
    schema_url: str = Field(alias="schema")
    period: Literal["instant", "hour"] | None = None


class _QuantitySpec(_Strict):
    type: str
    attribute: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    unit: str | None = None


class _MappingFile(_Strict):
    types: dict[str, _TypeSpec]
    quantities: dict[str, _QuantitySpec]
    not_exposed: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntityType:
    name: str
    domain: str
    context: str  # the Smart Data Models @context URL of the type's domain
    schema_url: str
    period: str | None  # "instant", "hour" or None: how dateObservedFrom/To are set


@dataclass(frozen=True, slots=True)
class AttributeMap:
    quantity: str
    entity_type: EntityType
    attribute: str
    unit: str  # the unit the attribute's value is in (the hub's canonical unit unless the schema differs)
    unit_code: str  # UN/CEFACT
    to_canonical: Conversion  # attribute value -> hub value

    def from_canonical(self, value: float) -> float:
        """The hub's value in the attribute's unit (the inverse of ``to_canonical``)."""
        conversion = self.to_canonical
        if conversion.scale == 1.0 and conversion.offset == 0.0:
            return value
        # Exact division: reading it back (``to_canonical``) rounds to 12 significant digits, as ingest does.
        return (value - conversion.offset) / conversion.scale + 0.0

    def canonical(self, value: float) -> float:
        return self.to_canonical.apply(value)


@dataclass(frozen=True, slots=True)
class SdmMapping:
    types: dict[str, EntityType]
    by_quantity: dict[str, AttributeMap]
    not_exposed: dict[str, str]
    unit_codes: dict[str, str]  # canonical unit symbol -> UN/CEFACT code

    def attributes_of(self, entity_type: str) -> list[AttributeMap]:
        return [m for m in self.by_quantity.values() if m.entity_type.name == entity_type]

    def by_attribute(self, entity_type: str, attribute: str) -> AttributeMap | None:
        for mapped in self.by_quantity.values():
            if mapped.entity_type.name == entity_type and mapped.attribute == attribute:
                return mapped
        return None

    @property
    def attribute_names(self) -> set[str]:
        return {m.attribute for m in self.by_quantity.values()}


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files("hub.ngsi.tables").joinpath(name).read_text(encoding="utf-8"))


@cache
def load_mapping() -> SdmMapping:
    vocabulary = load_vocabulary()
    raw_codes = _read("unit_codes.yaml")
    codes = {str(unit): str(code) for unit, code in raw_codes["codes"].items()}
    try:
        spec = _MappingFile.model_validate(_read("sdm.yaml"))
    except ValidationError as exc:
        raise MappingError(f"hub/ngsi/tables/sdm.yaml: {exc}") from None
    types = {name: EntityType(name, t.domain, t.context, t.schema_url, t.period) for name, t in spec.types.items()}
    by_quantity: dict[str, AttributeMap] = {}
    seen: dict[tuple[str, str], str] = {}
    for quantity, q in spec.quantities.items():
        where = f"sdm.yaml: quantities.{quantity}"
        known = vocabulary.quantities.get(quantity)
        if known is None:
            raise MappingError(f"{where}: not a quantity of hub/data/quantities.yaml")
        if q.type not in types:
            raise MappingError(f"{where}.type: {q.type!r} is not one of {sorted(types)}")
        if (q.type, q.attribute) in seen:
            raise MappingError(f"{where}.attribute: {q.type}.{q.attribute} is already {seen[(q.type, q.attribute)]}")
        seen[(q.type, q.attribute)] = quantity
        unit = q.unit or known.unit
        conversion = vocabulary.conversion(quantity, unit)
        if conversion is None:
            raise MappingError(f"{where}.unit: {unit!r} does not convert to {known.unit}")
        symbol = vocabulary.unit_symbol(unit) or unit
        if symbol not in codes:
            raise MappingError(f"unit_codes.yaml: no UN/CEFACT code for unit {symbol!r}")
        by_quantity[quantity] = AttributeMap(quantity, types[q.type], q.attribute, symbol, codes[symbol], conversion)
    for quantity in spec.not_exposed:
        if quantity in by_quantity:
            raise MappingError(f"sdm.yaml: {quantity} is both mapped and not exposed")
    return SdmMapping(types, by_quantity, dict(spec.not_exposed), codes)
