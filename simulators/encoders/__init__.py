"""Payload encoders: one module per format, each the mirror image of its codec in ``adapters/``.

An encoder writes what a real device (or its network server) sends. It asks the lab's
source which key and unit a quantity travels under, so a lab whose config maps
``level_cm`` to ``waterLevel`` in cm gets exactly that.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar

from hub.labs import LabConfig, Source
from hub.vocabulary import load_vocabulary
from simulators.devices import RESOLUTION, Device

# Device kinds (simulators/data/fleets.yaml) a general-purpose format can carry.
GENERAL_KINDS = frozenset(
    {"air", "air_quality", "particulates", "pm", "climate", "weather", "noise", "traffic", "parking", "waste", "water"}
)
# LoRaWAN devices: everything but traffic counters, which are cameras and loops on wired networks.
LORAWAN_KINDS = GENERAL_KINDS - {"traffic"}
# The keys vendor payload decoders (Milesight, Elsys, ...) use, where they differ from the hub's names.
LORAWAN_DECODER_KEYS: Mapping[str, str] = {
    "relativeHumidity": "humidity",
    "atmosphericPressure": "pressure",
    "pm25": "pm2_5",
    "windSpeed": "wind_speed",
    "windDirection": "wind_direction",
    "precipitation": "rainfall",
    "waterTemperature": "water_temperature",
    "waterLevel": "water_level",
}


class EncoderNotFoundError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Sample:
    """One report of one device, as the encoder should write it."""

    device: Device
    time_ns: int  # the time the payload states (a skewed clock included)
    values: Mapping[str, float]  # canonical quantity -> value in the hub's unit
    sequence: int = 0  # the device's frame counter
    # Firmware faults: quantity -> unit the device now sends in; `unlabelled` ones omit the unit.
    units: Mapping[str, str] = field(default_factory=dict)
    unlabelled: frozenset[str] = frozenset()
    raw: Mapping[str, object] = field(default_factory=dict)  # quantity -> verbatim (wrongly typed) value
    extras: Mapping[str, object] = field(default_factory=dict)  # keys no vocabulary knows


@dataclass(frozen=True, slots=True)
class Field:
    """One quantity ready to write: key, value in ``unit``, and whether to state the unit."""

    quantity: str
    key: str
    value: object
    unit: str
    labelled: bool


class Encoder:
    """Base class: subclasses set ``format`` and ``kinds`` and implement ``encode``."""

    format: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    # Key per quantity when the lab's source maps none.
    default_keys: ClassVar[Mapping[str, str]] = {}
    # Unit per quantity the format uses natively, when neither the lab nor the vocabulary says.
    default_units: ClassVar[Mapping[str, str]] = {}

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        raise NotImplementedError

    def fit(self, device: Device, source: Source) -> int | None:
        """How specifically ``source`` suits ``device`` (lower is better), or None when it can't carry it."""
        return 100 if device.kind in self.kinds else None

    def carries_time(self, source: Source) -> bool:
        """Whether the payload states a measurement time (else the hub stamps its receive time)."""
        return True

    def labels_units(self, source: Source) -> bool:
        """Whether a firmware unit change can be stated in the payload."""
        return True

    def carries_extras(self, source: Source) -> bool:
        """Whether keys the vocabulary doesn't know reach the hub (as unmapped keys)."""
        return True

    def malform(self, payload: bytes, rng: random.Random) -> bytes:
        """What a broken radio frame or a half-written buffer looks like: cut short, or binary noise."""
        if rng.random() < 0.5:
            return payload[: max(1, len(payload) * rng.randint(20, 80) // 100)]
        return bytes(rng.randrange(256) for _ in range(rng.randint(8, 40)))

    # --- helpers for subclasses --------------------------------------------------------

    def fields(self, sample: Sample, source: Source) -> list[Field]:
        mapped = {m.quantity: (key, m.unit) for key, m in source.mappings.items()}
        vocabulary = load_vocabulary()
        format_units = vocabulary.format_default_units.get(source.format, {})
        out = []
        for quantity, canonical in sample.values.items():
            key, mapped_unit = mapped.get(quantity, (self.default_keys.get(quantity, quantity), None))
            native_unit = (
                mapped_unit
                or source.default_units.get(quantity)
                or self.default_units.get(quantity)
                or format_units.get(quantity)
                or vocabulary.quantities[quantity].unit
            )
            unit = sample.units.get(quantity, native_unit)
            value: object
            if quantity in sample.raw:
                value = sample.raw[quantity]
            else:
                value = round_to(quantity, from_canonical(quantity, canonical, unit), unit)
            # A unit the lab config already implies needs no label; a firmware change does.
            labelled = quantity in sample.units and quantity not in sample.unlabelled
            out.append(Field(quantity, key, value, unit, labelled))
        return out


def from_canonical(quantity: str, value: float, unit: str) -> float:
    conversion = load_vocabulary().conversion(quantity, unit)
    if conversion is None:
        raise ValueError(f"{unit!r} is not a unit of {quantity}")
    return (value - conversion.offset) / conversion.scale


def round_to(quantity: str, value: float, unit: str) -> float | int:
    """Round like the device's firmware: to the quantity's resolution, expressed in ``unit``."""
    conversion = load_vocabulary().conversion(quantity, unit)
    scale = conversion.scale if conversion is not None else 1.0
    step = RESOLUTION.get(quantity, 0.1) / abs(scale)
    if step >= 1.0:
        return round(value)
    digits = 0
    while step < 0.95 and digits < 6:
        step *= 10
        digits += 1
    return round(value, digits)


def fill_topic(source: Source, device: str, tail: str) -> str:
    """A concrete topic inside the source's filter: the device id at its level, ``tail`` for ``#``."""
    out = []
    for level in source.topic.split("/"):
        if level == "+":
            out.append(device)
        elif level == "#":
            out.append(tail)
        else:
            out.append(level)
    return "/".join(out)


@cache
def encoders() -> dict[str, Encoder]:
    """Every encoder by format name, discovered like the codecs are."""
    found: dict[str, Encoder] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        encoder: Encoder = module.ENCODER
        found[encoder.format] = encoder
    return found


def get_encoder(format_name: str) -> Encoder:
    try:
        return encoders()[format_name]
    except KeyError:
        known = ", ".join(sorted(encoders()))
        raise EncoderNotFoundError(f"no simulator encoder for format {format_name!r} (have: {known})") from None
