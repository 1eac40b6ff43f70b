"""A fleet: every simulated device of every lab, and the message streams they produce."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from hub.labs import LabConfig, Source
from hub.vocabulary import load_vocabulary
from simulators import faults as fault_catalogue
from simulators.devices import KIND_INTERVAL_S, RESOLUTION, Device, climate_for, devices_for, measure
from simulators.encoders import Encoder, EncoderNotFoundError, Sample, from_canonical, get_encoder
from simulators.faults import NO_FAULTS, Faults
from simulators.message import SimMessage
from simulators.signals import CityClimate

_NS_PER_S = 1_000_000_000
# Battery devices report every 2 to 30 minutes.
MIN_INTERVAL_S, MAX_INTERVAL_S = 120.0, 1800.0
# Spread of one device's intervals around its mean: radios wait for a free channel, retry.
JITTER = 0.3


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "little"))


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One device bound to its lab, the source it publishes on and the encoder of that format."""

    lab: LabConfig
    source: Source
    encoder: Encoder
    device: Device
    climate: CityClimate

    @property
    def key(self) -> str:
        return f"{self.lab.lab}/{self.device.id}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A lab the simulator can't speak for, and why."""

    lab: str
    reason: str


class Fleet:
    """Every device of the given labs. Streams are deterministic for a seed."""

    def __init__(self, devices: list[SimDevice], *, seed: int, faults: Faults, skipped: list[Skipped]) -> None:
        self.devices = devices
        self.seed = seed
        self.faults = faults
        self.skipped = skipped
        # Device faults hit one device per lab, picked by the seed.
        self._device_faults: dict[str, set[str]] = {}
        for lab, group in itertools.groupby(sorted(devices, key=lambda d: d.key), key=lambda d: d.lab.lab):
            members = list(group)
            for kind in ("clock_skew", "silent"):
                # A clock can only be wrong in a payload that states a time.
                candidates = [m for m in members if kind == "silent" or m.encoder.carries_time(m.source)]
                if kind in faults.kinds and candidates:
                    chosen = _rng(seed, lab, kind).choice(candidates)
                    self._device_faults.setdefault(chosen.key, set()).add(kind)
            for kind in ("unit_change", "unit_change_unlabelled"):
                if kind not in faults.kinds:
                    continue
                labelable = kind == "unit_change_unlabelled"
                with_temperature = [
                    m
                    for m in members
                    if "temperature" in m.device.quantities and (labelable or m.encoder.labels_units(m.source))
                ]
                if with_temperature:
                    chosen = _rng(seed, lab, kind).choice(with_temperature)
                    self._device_faults.setdefault(chosen.key, set()).add(kind)

    @property
    def labs(self) -> list[str]:
        return sorted({d.lab.lab for d in self.devices})

    @property
    def stored_devices(self) -> list[tuple[str, str]]:
        """(lab, device id) as the hub stores them: several SensorThings datastreams are one device."""
        return sorted({(d.lab.lab, d.device.hub_id) for d in self.devices})

    def device_faults(self, device: SimDevice) -> frozenset[str]:
        return frozenset(self._device_faults.get(device.key, ()))

    # --- streams -----------------------------------------------------------------------

    def backfill(self, start_ns: int, end_ns: int, *, interval_s: float | None = 900.0) -> Iterator[SimMessage]:
        """Historic messages from ``start_ns`` to ``end_ns``, in sending order, to publish as fast as possible.

        ``interval_s`` is each device's mean reporting interval (15 minutes keeps a week of
        13 cities quick); None uses each kind's own 2–30 minute interval.
        """
        return self._merged(start_ns, end_ns, interval_s)

    def live(self, start_ns: int, *, interval_s: float | None = None) -> Iterator[SimMessage]:
        """An endless stream from ``start_ns``; publish each message at its ``send_at_ns``."""
        return self._merged(start_ns, None, interval_s)

    def load(self, start_ns: int, rate: float, seconds: float) -> Iterator[SimMessage]:
        """``rate`` messages per second for ``seconds``: the devices in a fixed round robin, a stable mix.

        Faults apply as in the other modes: message faults hit ``faults.rate`` of the slots (a
        duplicate adds its resend, a late or out-of-order message moves back in the sending
        order), and device faults start a third of the way in (a silent device's slots stay empty).
        """
        total = round(rate * seconds)
        step_ns = max(1, round(_NS_PER_S / rate))
        round_ns = step_ns * max(1, len(self.devices))
        fault_start = start_ns + total * step_ns // 3
        counters = [0] * len(self.devices)
        pending: list[tuple[int, int, SimMessage]] = []  # (send_at, order, message)
        order = itertools.count()
        for index in range(total):
            slot = index % len(self.devices)
            device = self.devices[slot]
            # Whole milliseconds: every format can state them exactly.
            time_ns = (start_ns + index * step_ns) // 1_000_000 * 1_000_000
            counters[slot] += 1
            active = self.device_faults(device) if time_ns >= fault_start else frozenset()
            if "silent" not in active:
                rng = _rng(self.seed, device.key, "load", index)
                for message in self._faulty_messages(device, time_ns, round_ns, counters[slot], rng, active):
                    heapq.heappush(pending, (message.send_at_ns, next(order), message))
            while pending and pending[0][0] <= time_ns:
                yield heapq.heappop(pending)[2]
        while pending:
            yield heapq.heappop(pending)[2]

    def _merged(self, start_ns: int, end_ns: int | None, interval_s: float | None) -> Iterator[SimMessage]:
        streams = [self._device_stream(device, start_ns, end_ns, interval_s) for device in self.devices]
        return heapq.merge(*streams, key=lambda m: (m.send_at_ns, m.lab, m.device))

    def _device_stream(
        self, device: SimDevice, start_ns: int, end_ns: int | None, interval_s: float | None
    ) -> Iterator[SimMessage]:
        rng = _rng(self.seed, device.key, start_ns)
        mean_s = interval_s if interval_s is not None else KIND_INTERVAL_S[device.device.kind]
        bounded = interval_s is None
        low, high = mean_s * (1 - JITTER), mean_s * (1 + JITTER)
        if bounded:
            low, high = max(MIN_INTERVAL_S, low), min(MAX_INTERVAL_S, high)

        def next_gap() -> int:
            return max(_NS_PER_S, round(rng.uniform(low, high)) * _NS_PER_S)

        device_faults = self.device_faults(device)
        span_ns = (end_ns - start_ns) if end_ns is not None else 30 * 60 * _NS_PER_S
        # A device fault starts a third of the way in (10 minutes into a live run).
        fault_start = start_ns + span_ns // 3
        silent_from = fault_start if "silent" in device_faults else None

        # Whole seconds: every format can state them exactly. The first report is staggered.
        time_ns = (start_ns + round(rng.uniform(0, mean_s) * _NS_PER_S)) // _NS_PER_S * _NS_PER_S
        pending: list[tuple[int, int, SimMessage]] = []  # (send_at, order, message)
        order = itertools.count()
        sequence = 0
        while end_ns is None or time_ns < end_ns:
            if silent_from is not None and time_ns >= silent_from:
                break
            gap = next_gap()
            sequence += 1
            active = device_faults if time_ns >= fault_start else frozenset()
            for message in self._faulty_messages(device, time_ns, gap, sequence, rng, active):
                heapq.heappush(pending, (message.send_at_ns, next(order), message))
            while pending and pending[0][0] <= time_ns:
                yield heapq.heappop(pending)[2]
            time_ns += gap
        while pending:
            yield heapq.heappop(pending)[2]

    # --- one message, with faults ------------------------------------------------------

    def _faulty_messages(
        self,
        device: SimDevice,
        time_ns: int,
        gap_ns: int,
        sequence: int,
        rng: random.Random,
        device_faults: frozenset[str],
    ) -> list[SimMessage]:
        kinds = self.faults.message_kinds
        fault = rng.choice(kinds) if kinds and rng.random() < self.faults.rate else None
        message = self._message(device, time_ns, sequence, rng, fault=fault, device_faults=device_faults)
        if fault == "duplicate":
            # The original plus a retransmission a few seconds later: same bytes.
            resend = replace(message, sent_ns=time_ns + rng.randint(1, 30) * _NS_PER_S, faults=("duplicate",))
            return [replace(message, faults=tuple(f for f in message.faults if f != "duplicate")), resend]
        if fault == "late":
            delay = rng.randint(fault_catalogue.LATE_MIN_S, fault_catalogue.LATE_MAX_S) * _NS_PER_S
            return [replace(message, sent_ns=time_ns + delay)]
        if fault == "out_of_order":
            # Held back until after the device's next report.
            return [replace(message, sent_ns=time_ns + gap_ns + gap_ns // 2)]
        return [message]

    def _message(
        self,
        device: SimDevice,
        time_ns: int,
        sequence: int,
        rng: random.Random,
        *,
        fault: str | None = None,
        device_faults: frozenset[str] = frozenset(),
    ) -> SimMessage:
        measured = measure(self.seed, device.climate, device.device, time_ns)
        expected = {q: _quantise(q, v) for q, v in measured.items()}
        applied: list[str] = [fault] if fault and self._applies(fault, device) else []
        stated_ns = time_ns
        units: dict[str, str] = {}
        unlabelled: set[str] = set()
        raw: dict[str, object] = {}
        extras: dict[str, object] = {}
        vocabulary = load_vocabulary()

        if "clock_skew" in device_faults and device.encoder.carries_time(device.source):
            stated_ns = time_ns + fault_catalogue.CLOCK_SKEW_NS
            applied.append("clock_skew")
        if "temperature" in measured and device_faults & {"unit_change", "unit_change_unlabelled"}:
            units["temperature"] = "F"
            if "unit_change" in device_faults and device.encoder.labels_units(device.source):
                applied.append("unit_change")
            else:
                unlabelled.add("temperature")
                applied.append("unit_change_unlabelled")
                # The hub reads the °F number as °C: stored as is while in range, else rejected.
                as_read = _quantise("temperature", from_canonical("temperature", measured["temperature"], "F"))
                quantity = vocabulary.quantities["temperature"]
                if quantity.minimum <= as_read <= quantity.maximum:
                    expected["temperature"] = as_read
                else:
                    del expected["temperature"]
        if fault in ("wrong_type", "out_of_range"):
            victim = rng.choice(sorted(measured))
            if fault == "wrong_type":
                raw[victim] = rng.choice(fault_catalogue.WRONG_TYPES)
            else:
                measured = {**measured, victim: fault_catalogue.OUT_OF_RANGE[victim]}
                units.pop(victim, None)
                unlabelled.discard(victim)
            expected.pop(victim, None)
        if fault == "unknown_keys" and device.encoder.carries_extras(device.source):
            extras.update(fault_catalogue.UNKNOWN_KEYS)

        sample = Sample(
            device=device.device,
            time_ns=stated_ns,
            values=measured,
            sequence=sequence,
            units=units,
            unlabelled=frozenset(unlabelled),
            raw=raw,
            extras=extras,
        )
        topic, payload = device.encoder.encode(sample, device.lab, device.source)
        if fault == "malformed":
            payload = device.encoder.malform(payload, rng)
            expected = {}
        return SimMessage(
            topic=topic,
            payload=payload,
            time_ns=stated_ns,
            lab=device.lab.lab,
            device=device.device.hub_id,
            values=tuple(sorted(expected.items())),
            faults=tuple(applied),
            sent_ns=time_ns,
        )

    @staticmethod
    def _applies(fault: str, device: SimDevice) -> bool:
        return fault != "unknown_keys" or device.encoder.carries_extras(device.source)


def _quantise(quantity: str, value: float) -> float:
    step = RESOLUTION.get(quantity, 0.1)
    return round(round(value / step) * step, 6)


def build_fleet(labs: dict[str, LabConfig], *, seed: int = 0, faults: Faults = NO_FAULTS) -> Fleet:
    """Devices for every lab, each on the lab source whose format's encoder suits it best.

    A device names a format when its lab has sources of several; otherwise the most
    specific source that can carry it wins, in config order. Labs with no such source
    are listed in ``Fleet.skipped`` rather than failing the run.
    """
    devices: list[SimDevice] = []
    skipped: list[Skipped] = []
    for lab in sorted(labs.values(), key=lambda lab: lab.lab):
        climate = climate_for(lab)
        reasons: list[str] = []
        usable: list[tuple[Source, Encoder]] = []
        for source in lab.sources:
            try:
                usable.append((source, get_encoder(source.format)))
            except EncoderNotFoundError as exc:
                reasons.append(str(exc))
        placed = 0
        for device in devices_for(lab):
            choice = _best_source(device, usable)
            if choice is None:
                reasons.append(f"no source of this lab can carry a {device.kind} device ({device.id})")
                continue
            devices.append(SimDevice(lab, choice[0], choice[1], device, climate))
            placed += 1
        if not placed:
            skipped.append(Skipped(lab.lab, "; ".join(dict.fromkeys(reasons)) or "no sources"))
    return Fleet(devices, seed=seed, faults=faults, skipped=skipped)


def _best_source(device: Device, usable: list[tuple[Source, Encoder]]) -> tuple[Source, Encoder] | None:
    candidates = [(s, e) for s, e in usable if not device.format or s.format == device.format] or usable
    best: tuple[int, int] | None = None
    chosen = None
    for order, (source, encoder) in enumerate(candidates):
        fit = encoder.fit(device, source)
        if fit is not None and (best is None or (fit, order) < best):
            best, chosen = (fit, order), (source, encoder)
    return chosen
