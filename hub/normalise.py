"""The one place that decides what a raw observation means.

Codecs only parse. Here keys become canonical quantities (asking the key resolver,
``hub.resolver``), units are converted, times resolved, ranges checked and the device
and location settled.
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from core.model import (
    DecodedMessage,
    NormaliseResult,
    RawObservation,
    RawTime,
    Reading,
    RejectCode,
    Rejection,
    UnmappedKey,
    new_tuple,
)
from core.names import MAX_DEVICE_ID, is_storable_device_id
from core.timeutil import NS_PER_S, TimeFormatError, epoch_to_ns, guess_epoch_unit, parse_iso_ns
from hub.labs import LabConfig, Source
from hub.resolver import KeyResolver, Resolution, resolver_for
from hub.vocabulary import IDENTITY_CONVERSION, Conversion, Vocabulary, load_vocabulary

# Readings stamped more than this far ahead of the receive time come from a wrong clock.
MAX_FUTURE_NS = 10 * 60 * NS_PER_S
# Memoised conversions (Normaliser._plan): units are payload text, so the memo starts over when full.
_PLANS_LIMIT = 4096
_isfinite = math.isfinite
# Nothing the network measures predates this; earlier times are unit mistakes (ms read as s, 1970).
EARLIEST_NS = 946_684_800 * NS_PER_S  # 2000-01-01T00:00:00Z


class Normaliser:
    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()
        self._quantities = self.vocabulary.quantities
        self._plans: dict[tuple[int, int, str | None], tuple[KeyResolver, Resolution, Conversion | None]] = {}

    def normalise(
        self,
        decoded: DecodedMessage,
        *,
        received_ns: int,
        format_name: str,
        lab: LabConfig | None = None,
        source: Source | None = None,
        topic: str = "",
        resolver: KeyResolver | None = None,
    ) -> NormaliseResult:
        """``resolver`` defaults to the source's own (``resolver_for``): what the message's keys mean."""
        zone = lab.zone if lab is not None else None
        topic_device = source.device_from_topic(topic) if source is not None else None
        resolver = resolver or resolver_for(format_name, source)
        profile = resolver.profile(decoded.device_model, topic_device or decoded.device)
        # Positional (readings, rejections, unmapped, guessed, device_model, profile): no keywords, no factories.
        result = NormaliseResult([], [], [], [], decoded.device_model, profile.model if profile else None)
        # A profile reads the device decoder's own keys, not a network's normalized form of them.
        observations = decoded.native if profile is not None and decoded.native else decoded.observations
        meanings = resolver.resolve_all(observations, profile)
        message = _Message(decoded, received_ns, zone, topic_device, lab, resolver, observations)
        pairs = tuple(zip(observations, meanings, strict=True))
        readings, rejections = result.readings, result.rejections
        # Time keys first: they set the time of every other value of the message, wherever they stand.
        for observation, resolution in pairs:
            if resolution is not None and resolution.time:
                rejection = message.set_time(observation)
                if rejection is not None:
                    rejections.append(rejection)
        # (device, quantity, time) -> value: a point InfluxDB would overwrite with another value is refused.
        stored: dict[tuple[str, str, int], float] = {}
        one = self._one
        for observation, resolution in pairs:
            if resolution is None:
                device = topic_device or observation.device or decoded.device
                result.unmapped.append(new_tuple(UnmappedKey, (observation.key, observation.value, None, device)))
                continue
            quantity = resolution.quantity
            if quantity is None:
                continue  # an ignored key or the message's time: known, and not a reading
            if resolution.fallback:
                device = topic_device or observation.device or decoded.device
                result.guessed.append(new_tuple(UnmappedKey, (observation.key, observation.value, quantity, device)))
            outcome = one(observation, resolution, quantity, message)
            if type(outcome) is not Reading:
                rejections.append(outcome)  # type: ignore[arg-type]  # the only other outcome is a Rejection
                continue
            point = (outcome.device, quantity, outcome.time_ns)
            earlier = stored.get(point)
            if earlier is None:
                stored[point] = outcome.value
                readings.append(outcome)
            else:
                repeat = _repeat(outcome, observation.key, earlier)
                if repeat is not None:
                    rejections.append(repeat)
        return result

    def _one(
        self, observation: RawObservation, resolution: Resolution, quantity_name: str, message: _Message
    ) -> Reading | Rejection:
        """A reading, or a rejection with its reason."""
        key = observation.key
        quantity = self._quantities[quantity_name]
        if resolution.only_if:
            unmet = message.unmet(resolution.only_if)
            if unmet:
                return Rejection(
                    RejectCode.FLAGGED_INVALID,
                    f"{key}: the payload marks it not valid ({unmet}), so it is no {quantity_name} reading",
                    key,
                )

        raw = observation.value
        unit: str | None = observation.unit
        # Most values are finite floats already: skip _as_number's type tests for them.
        number = raw if type(raw) is float and _isfinite(raw) else _as_number(raw)
        if number is None and isinstance(raw, str):
            number = quantity.word_value(raw)  # "NNE" for a wind direction
            unit = quantity.unit if number is not None else unit
        if number is None:
            return Rejection(RejectCode.NOT_A_NUMBER, f"{key}: {_preview(raw)} is not a number", key)
        if resolution.scale is not None:
            number *= resolution.scale

        if unit is None and resolution.needs_unit:
            return Rejection(
                RejectCode.UNKNOWN_UNIT,
                f"{key}: {quantity_name} without a unit, and {key!r} does not say which; "
                "map the key with its unit in the lab's mappings",
                key,
            )
        # The payload's unit, else the one the resolver assumes (the key's entry, the source's and
        # the format's defaults, the canonical unit); memoised per resolver, key meaning and payload unit.
        plan = self._plans.get((id(message.resolver), id(resolution), unit))
        conversion = plan[2] if plan is not None else self._plan(message.resolver, resolution, quantity_name, unit)
        if conversion is None:
            unit = unit or message.resolver.default_unit(resolution)
            return Rejection(
                RejectCode.UNKNOWN_UNIT, f"{key}: unit {unit!r} can't be converted to {quantity.unit}", key
            )
        value = number if conversion is IDENTITY_CONVERSION else conversion.apply(number)
        if not quantity.minimum <= value <= quantity.maximum:
            return Rejection(
                RejectCode.OUT_OF_RANGE,
                f"{key}: {quantity_name} {value:g} {quantity.unit} is outside "
                f"{quantity.minimum:g}..{quantity.maximum:g}{_guess_note(resolution)}",
                key,
            )

        raw_time = observation.time if observation.time is not None else message.time
        time_ns: int
        if raw_time is None:
            time_ns = message.received_ns
        elif type(raw_time) is int:
            time_ns = raw_time  # already ns since the epoch (what resolve_time returns for it)
        else:
            known = message.times.get(raw_time)  # resolve_time's memo, asked first: a call less per value
            if known is not None:
                time_ns = known
            else:
                try:
                    time_ns = message.resolve_time(raw_time)
                except TimeFormatError as exc:
                    return Rejection(RejectCode.BAD_TIME, f"{key}: {exc}", key)
        if time_ns > message.received_ns + MAX_FUTURE_NS:
            return Rejection(RejectCode.TIME_IN_FUTURE, f"{key}: time is ahead of the hub's clock", key)
        if time_ns < EARLIEST_NS:
            return Rejection(RejectCode.TIME_TOO_OLD, f"{key}: time is before 2000", key)

        decoded = message.decoded
        device = message.topic_device or observation.device or decoded.device
        if not device:
            return Rejection(RejectCode.NO_DEVICE, f"{key}: no device id in topic or payload", key)
        if device != message.storable_device:
            if not is_storable_device_id(device):
                return Rejection(
                    RejectCode.BAD_DEVICE,
                    f"device id {_preview(device)} has control characters or backslashes,"
                    f" or exceeds {MAX_DEVICE_ID} characters",
                    key,
                )
            message.storable_device = device  # a message's values mostly share one device: check it once

        lat, lon = observation.lat, observation.lon
        if lat is None or lon is None:
            lat, lon = decoded.lat, decoded.lon
        lab = message.lab
        if lab is None:
            return Reading(None, None, device, quantity_name, value, quantity.unit, time_ns, lat, lon)
        if lat is None or lon is None:
            lat, lon = lab.location.lat, lab.location.lon
        return new_tuple(Reading, (lab.city, lab.lab, device, quantity_name, value, quantity.unit, time_ns, lat, lon))

    def _plan(
        self, resolver: KeyResolver, resolution: Resolution, quantity: str, unit: str | None
    ) -> Conversion | None:
        """The conversion for a value of ``resolution``'s key in ``unit`` (None: the unit the resolver assumes),
        remembered under the ids of the resolver and the resolution (both long-lived: one resolver per source,
        resolutions memoised per key). The entry holds both objects, so their ids can't pass to others while
        it is there."""
        conversion = self.vocabulary.conversion(quantity, unit or resolver.default_unit(resolution))
        if len(self._plans) >= _PLANS_LIMIT:
            self._plans.clear()
        self._plans[(id(resolver), id(resolution), unit)] = (resolver, resolution, conversion)
        return conversion


class _Message:
    """What every value of one message shares: its time, zone, device, lab, resolver and top-level values."""

    __slots__ = (
        "_values",
        "decoded",
        "lab",
        "observations",
        "received_ns",
        "resolver",
        "storable_device",
        "time",
        "times",
        "topic_device",
        "zone",
    )

    def __init__(
        self,
        decoded: DecodedMessage,
        received_ns: int,
        zone: ZoneInfo | None,
        topic_device: str | None,
        lab: LabConfig | None,
        resolver: KeyResolver,
        observations: tuple[RawObservation, ...],
    ) -> None:
        self.decoded = decoded
        self.received_ns = received_ns
        self.zone = zone
        self.topic_device = topic_device
        self.lab = lab
        self.resolver = resolver
        self.observations = observations
        # The measurement time of values without their own: a time key of the payload, else the network's.
        self.time: RawTime | None = decoded.gateway_time
        # The device id last found storable (``is_storable_device_id``), so that it is checked once.
        self.storable_device: str | None = None
        self.times: dict[RawTime, int] = {}  # one message usually repeats one time for every reading
        self._values: dict[str, object] | None = None

    def resolve_time(self, raw: RawTime) -> int:
        found = self.times.get(raw)
        if found is None:
            found = self.times[raw] = resolve_time(raw, self.zone)
        return found

    def set_time(self, observation: RawObservation) -> Rejection | None:
        """Take a time key's value (Dragino ``Systimestamp``) as the time of the message's values."""
        value = observation.value
        raw: RawTime
        if isinstance(value, str):
            raw = value
        else:
            number = _as_number(value)
            if number is None or number < 0:
                return Rejection(RejectCode.BAD_TIME, f"{observation.key}: {_preview(value)} is not a time", None)
            raw = epoch_to_ns(number, guess_epoch_unit(number))
        try:
            self.resolve_time(raw)
        except TimeFormatError as exc:
            return Rejection(RejectCode.BAD_TIME, f"{observation.key}: {exc}", None)
        self.time = raw
        return None

    def unmet(self, conditions: tuple[tuple[str, object], ...]) -> str:
        """The conditions (``only_if``) the message's top-level values don't meet, as text; empty if none."""
        if not conditions:
            return ""
        if self._values is None:
            self._values = {observation.key: observation.value for observation in self.observations}
        return ", ".join(
            f"{name} is {_preview(self._values.get(name))}, not {_preview(wanted)}"
            for name, wanted in conditions
            if self._values.get(name) != wanted
        )


def _repeat(reading: Reading, key: str, earlier: float) -> Rejection | None:
    """A second value for a device and quantity at a time the message already gave one (``earlier``): the same
    value is the same point (dropped as a repeat, None); another value would overwrite it in the store, so it
    is refused with the reason (a list of samples without times of their own, or two keys that mean one
    quantity)."""
    if earlier == reading.value:
        return None
    return Rejection(
        RejectCode.SAME_TIME,
        f"{key}: a second {reading.quantity} of {reading.value:g} for {reading.device} at the same time as"
        f" {earlier:g}: only one can be stored (samples without times of their own?)",
        key,
    )


def _guess_note(resolution: Resolution) -> str:
    """For a meaning that was a guess (a fallback alias): say so, and what the guess may have got wrong."""
    if not resolution.fallback:
        return ""
    doubt = f": {resolution.doubt}" if resolution.doubt else ""
    return (
        f"; {resolution.entry!r} means {resolution.quantity} only as a guess for devices without a profile"
        f" ({resolution.origin}){doubt}"
    )


def resolve_time(raw: RawTime, zone: ZoneInfo | None) -> int:
    if isinstance(raw, int):
        return raw
    text = raw.strip()
    if len(text) > 4 and text[4] == "-":  # ISO 8601 dates start YYYY-; no epoch number does
        return parse_iso_ns(text, zone)
    try:
        number = float(text)
    except ValueError:
        return parse_iso_ns(text, zone)  # raises a TimeFormatError naming the text
    if not math.isfinite(number):  # "1e999", "nan": float() reads them, no clock does
        raise TimeFormatError(f"not a time: {text[:64]!r}")
    return epoch_to_ns(number, guess_epoch_unit(number))


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _preview(value: object, limit: int = 40) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
