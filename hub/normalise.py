"""The one place that decides what a raw observation means.

Codecs only parse. Here keys become canonical quantities (asking the key resolver,
``hub.resolver``), units are converted, times resolved, ranges checked and the device
and location settled.
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from core.model import DecodedMessage, NormaliseResult, RawObservation, RawTime, Reading, RejectCode, Rejection
from core.names import MAX_DEVICE_ID, is_storable_device_id
from core.timeutil import NS_PER_S, TimeFormatError, epoch_to_ns, guess_epoch_unit, parse_iso_ns
from hub.labs import LabConfig, Source
from hub.resolver import KeyResolver, Profile, resolver_for
from hub.vocabulary import Vocabulary, load_vocabulary

# Readings stamped more than this far ahead of the receive time come from a wrong clock.
MAX_FUTURE_NS = 10 * 60 * NS_PER_S
# Nothing the network measures predates this; earlier times are unit mistakes (ms read as s, 1970).
EARLIEST_NS = 946_684_800 * NS_PER_S  # 2000-01-01T00:00:00Z


class Normaliser:
    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()

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
        result = NormaliseResult()
        zone = lab.zone if lab is not None else None
        topic_device = source.device_from_topic(topic) if source is not None else None
        resolver = resolver or resolver_for(format_name, source)
        profile = resolver.profile(decoded.device_model)
        times: dict[RawTime, int] = {}  # one message usually repeats one time for every reading
        for observation in decoded.observations:
            outcome = self._one(observation, decoded, received_ns, zone, topic_device, lab, resolver, profile, times)
            if isinstance(outcome, Reading):
                result.readings.append(outcome)
            elif isinstance(outcome, Rejection):
                result.rejections.append(outcome)
            elif outcome is None:
                result.unmapped_keys.append(observation.key)
            # else: a key a profile marks as known and not a reading
        return result

    def _one(
        self,
        observation: RawObservation,
        decoded: DecodedMessage,
        received_ns: int,
        zone: ZoneInfo | None,
        topic_device: str | None,
        lab: LabConfig | None,
        resolver: KeyResolver,
        profile: Profile | None,
        times: dict[RawTime, int],
    ) -> Reading | Rejection | bool | None:
        """A reading or a rejection; None for a key no layer knows; False for a key a profile ignores."""
        key = observation.key
        resolution = resolver.resolve(key, profile, observation.context)
        if resolution is None:
            return None
        quantity_name = resolution.quantity
        if quantity_name is None:
            return False
        quantity = self.vocabulary.quantities[quantity_name]

        number = _as_number(observation.value)
        if number is None:
            return Rejection(RejectCode.NOT_A_NUMBER, f"{key}: {_preview(observation.value)} is not a number", key)
        if resolution.scale is not None:
            number *= resolution.scale

        # The payload's unit, else the one the resolver assumes (the key's entry, the source's and
        # the format's defaults, the canonical unit).
        unit = observation.unit or resolver.default_unit(resolution)
        conversion = self.vocabulary.conversion(quantity_name, unit)
        if conversion is None:
            return Rejection(
                RejectCode.UNKNOWN_UNIT, f"{key}: unit {unit!r} can't be converted to {quantity.unit}", key
            )
        value = conversion.apply(number)
        if not quantity.minimum <= value <= quantity.maximum:
            return Rejection(
                RejectCode.OUT_OF_RANGE,
                f"{key}: {quantity_name} {value:g} {quantity.unit} is outside "
                f"{quantity.minimum:g}..{quantity.maximum:g}",
                key,
            )

        raw_time = observation.time if observation.time is not None else decoded.gateway_time
        if raw_time is None:
            time_ns = received_ns
        elif raw_time in times:
            time_ns = times[raw_time]
        else:
            try:
                time_ns = times[raw_time] = resolve_time(raw_time, zone)
            except TimeFormatError as exc:
                return Rejection(RejectCode.BAD_TIME, f"{key}: {exc}", key)
        if time_ns > received_ns + MAX_FUTURE_NS:
            return Rejection(RejectCode.TIME_IN_FUTURE, f"{key}: time is ahead of the hub's clock", key)
        if time_ns < EARLIEST_NS:
            return Rejection(RejectCode.TIME_TOO_OLD, f"{key}: time is before 2000", key)

        device = topic_device or observation.device or decoded.device
        if not device:
            return Rejection(RejectCode.NO_DEVICE, f"{key}: no device id in topic or payload", key)
        if not is_storable_device_id(device):
            return Rejection(
                RejectCode.BAD_DEVICE,
                f"device id {_preview(device)} has control characters or backslashes,"
                f" or exceeds {MAX_DEVICE_ID} characters",
                key,
            )

        lat, lon = observation.lat, observation.lon
        if lat is None or lon is None:
            lat, lon = decoded.lat, decoded.lon
        if (lat is None or lon is None) and lab is not None:
            lat, lon = lab.location.lat, lab.location.lon

        return Reading(
            city=lab.city if lab is not None else None,
            lab=lab.lab if lab is not None else None,
            device=device,
            quantity=quantity_name,
            value=value,
            unit=quantity.unit,
            time_ns=time_ns,
            lat=lat,
            lon=lon,
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
