"""Payload encoders: one module per format, each the mirror image of its codec in ``adapters/``.

An encoder writes what a real device (or its network server) sends. It asks the hub's key
resolver (``KeyResolver.reverse``) which key and unit a quantity travels under for the lab's
source, so a lab whose config maps ``level_cm`` to ``waterLevel`` in cm gets exactly that, and
whatever the hub would read differently, the simulators write differently too.
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
from hub.resolver import resolver_for
from hub.vocabulary import load_vocabulary
from simulators.devices import RESOLUTION, Device

# Device kinds (simulators/data/fleets.yaml) a general-purpose format can carry.
GENERAL_KINDS = frozenset(
    {"air", "air_quality", "particulates", "pm", "climate", "weather", "noise", "traffic", "parking", "waste", "water"}
)
# LoRaWAN devices: everything but traffic counters, which are cameras and loops on wired networks.
LORAWAN_KINDS = GENERAL_KINDS - {"traffic"}
# How vendor payload decoders (Milesight, Elsys, ...) spell quantities, where they differ from the hub's
# names: what a simulated device writes unless the lab maps the quantity. Only a proposal: the key
# resolver takes it only if the hub reads it back as the quantity (Encoder.fields).
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
    # How this format's devices spell a quantity when the lab maps none (see ``fields``).
    default_keys: ClassVar[Mapping[str, str]] = {}

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

    def fields(
        self,
        sample: Sample,
        source: Source,
        *,
        spellings: Mapping[str, str] | None = None,
        context: str | None = None,
        device_model: str | None = None,
    ) -> list[Field]:
        """Key, value and unit of every quantity in the sample, as the hub's resolver routes them.

        ``spellings`` (default: ``default_keys``) proposes how the device names a quantity; the
        resolver prefers the lab's own mapping, and takes a proposal only if it reads it back as
        the quantity. The unit is the one the hub assumes for an unlabelled value of that key.
        ``device_model``: the model the message names (a ChirpStack device profile), whose hub profile
        then says which key carries what.
        """
        resolver = resolver_for(self.format, source)
        proposals = self.default_keys if spellings is None else spellings
        out = []
        for quantity, canonical in sample.values.items():
            route = resolver.reverse(
                quantity, device_model=device_model, context=context, spelling=proposals.get(quantity)
            )
            if route is None:
                raise ValueError(f"{source.topic}: no key carries {quantity} in {self.format}")
            unit = sample.units.get(quantity, route.unit)
            value: object
            if quantity in sample.raw:
                value = sample.raw[quantity]
            else:
                native = from_canonical(quantity, canonical, unit)
                if route.scale is not None:
                    native /= route.scale  # the device sends scaled integers; the hub multiplies back
                value = round_to(quantity, native, unit)
            # A unit the lab config already implies needs no label; a firmware change does.
            labelled = quantity in sample.units and quantity not in sample.unlabelled
            out.append(Field(quantity, route.key, value, unit, labelled))
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
