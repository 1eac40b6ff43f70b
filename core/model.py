"""The canonical data model every lab's payload is normalised into.

These are hot-path objects, not pydantic models. The ones made per value or per message
(``RawObservation``, ``DecodedMessage``, ``Reading``, ``UnmappedKey``) are typed ``NamedTuple``s: immutable like a
frozen dataclass, and about three times cheaper to construct (a frozen dataclass's ``__init__``
sets each field through ``object.__setattr__``: 1.2 µs for a ``Reading`` against 0.3-0.5 µs), which
the hot path pays several times per message. The others are frozen, slotted dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

# A raw time as a codec found it: ISO 8601 text (a zone is optional) or an
# integer count of nanoseconds since the Unix epoch (already UTC).
RawTime = str | int


# ``tuple.__new__`` builds a NamedTuple without calling its generated ``__new__`` (a Python function): a call
# less for each value on the hot path (codecs, the normaliser). The caller gives every field, in order;
# tests/test_model.py checks that what the codecs and the normaliser build this way is whole.
new_tuple = tuple.__new__


class RawObservation(NamedTuple):
    """One value a codec found in a payload, before any interpretation."""

    key: str
    value: object
    unit: str | None = None
    time: RawTime | None = None
    device: str | None = None
    lat: float | None = None
    lon: float | None = None
    # What the key is a member of, where that decides its meaning: the NGSI-LD entity type
    # (a WaterQualityObserved's ``temperature`` is the water's). None for most formats.
    context: str | None = None
    # For a value inside a list element (key ``messages[2].measurementValue``): the element's scalar
    # members as text, so a profile can select the element by one of them
    # (``messages[measurementId=4097].measurementValue``). Empty elsewhere.
    element: tuple[tuple[str, str], ...] = ()
    # A URI that defines what the value is, where the format gives one besides the key (a SensorThings
    # ObservedProperty's ``definition``): the resolver tries it before the key.
    definition: str | None = None


@dataclass(frozen=True, slots=True)
class KeyMeaning:
    """What one payload key means: a canonical quantity, the unit its value is in when the payload
    states none, and a factor for devices that send scaled integers (value x scale, before the unit).

    The same shape wherever a meaning is declared: a lab's ``mappings``, a codec's options (the
    ``json`` codec's ``values``, SensorThings datastreams), a device profile, the alias tables.
    """

    quantity: str
    unit: str | None = None
    scale: float | None = None


@dataclass(frozen=True, slots=True)
class KeyMapping:
    """A payload key, its meaning, and where that was declared (for errors and for operators)."""

    key: str
    meaning: KeyMeaning
    # "mappings.level_cm" for a lab mapping, "options.values.0" for a codec option.
    where: str


class DecodedMessage(NamedTuple):
    """What a codec returns for one payload."""

    observations: tuple[RawObservation, ...]
    device: str | None = None
    # The device model as the network names it ("vendor/model", e.g. TTN's version_ids), when it does:
    # it selects the device profile that gives the payload's keys their meaning.
    device_model: str | None = None
    # Network/gateway time: used when an observation carries no measurement time.
    gateway_time: RawTime | None = None
    lat: float | None = None
    lon: float | None = None
    # The device decoder's own output, where ``observations`` are a network's normalized form of it
    # (TTN's normalized_payload): a device profile reads these instead, since it knows the device's
    # keys better than a vendor's normalizer does. Empty when there is no such second form.
    native: tuple[RawObservation, ...] = ()


class Reading(NamedTuple):
    """One normalised reading: what the hub stores and serves."""

    city: str | None
    lab: str | None
    device: str
    quantity: str
    value: float
    unit: str
    time_ns: int
    lat: float | None = None
    lon: float | None = None


class RejectCode(StrEnum):
    """Bounded reason codes: they become tags and metric labels, so never free text."""

    DECODE_ERROR = "decode_error"
    OVERSIZED = "oversized"
    NO_SOURCE = "no_source"
    NOT_A_NUMBER = "not_a_number"
    UNKNOWN_UNIT = "unknown_unit"
    OUT_OF_RANGE = "out_of_range"
    FLAGGED_INVALID = "flagged_invalid"  # the payload itself marks the value as not valid
    SAME_TIME = "same_time"  # a second, different value of a quantity for the device at the same time
    BAD_TIME = "bad_time"
    TIME_IN_FUTURE = "time_in_future"
    TIME_TOO_OLD = "time_too_old"
    NO_DEVICE = "no_device"
    BAD_DEVICE = "bad_device"
    NO_READINGS = "no_readings"
    STORE_REJECTED = "store_rejected"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A reading (or a whole message) the hub refused, with a bounded reason code."""

    code: RejectCode
    detail: str
    key: str | None = None


class UnmappedKey(NamedTuple):
    """A payload key no layer of the key resolver knows, with the value it carried (shown to the operator);
    or, with ``guess``, a key read only by a fallback guess for a device without a profile."""

    key: str
    value: object
    guess: str | None = None  # the quantity the fallback guess gave the key
    device: str | None = None  # the device that sent it, where the message names one


@dataclass(slots=True)
class NormaliseResult:
    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    unmapped: list[UnmappedKey] = field(default_factory=list)
    # Keys read only by a fallback guess (a device without a profile): right for most devices, so stored,
    # and shown to the operator beside the unmapped keys, with the quantity guessed.
    guessed: list[UnmappedKey] = field(default_factory=list)
    # The device model the message named (``DecodedMessage.device_model``) or the lab config gave,
    # and the profile that applied (None: no profile, the aliases only).
    device_model: str | None = None
    profile: str | None = None

    @property
    def unmapped_keys(self) -> list[str]:
        return [item.key for item in self.unmapped]
