"""The benchmark's message mix, made deterministically by the simulators, and what the hub must store from it.

``issue13`` (the default) is the mix of issue 13: one third each of TTN v3 uplinks with 5
readings (Milesight-style ``decoded_payload`` with a battery key the hub leaves unmapped),
NGSI-LD AirQualityObserved notifications with 3 or 4, and SenML packs with 3. The devices are
the labs' own simulated devices (simulators/data/fleets.yaml) on the labs' real topics, each
told to measure that many quantities, encoded by the simulators' encoders: exactly what those
labs' devices send, so the hub routes and decodes them as in production.

``all-formats`` is every lab's whole fleet in a fixed round robin: all ten formats, in
proportion to their devices (what the former ``benchmarks/mix.py`` drained).

The expected readings come from the hub's own translation of every message, in-process
(``MessageTranslator``, the service's per-message path): the distinct points (series and
time) InfluxDB must hold once a consumer has drained the backlog.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hub.ingest.envelope import InboundMessage, MessageTranslator
from hub.labs import LabConfig
from hub.routing import Router
from hub.settings import Settings
from simulators import NO_FAULTS, Fleet, SimMessage, build_fleet

ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = ROOT / "labs"
DEFAULT_SEED = 7
# Simulated time between consecutive messages of one part: whole milliseconds, so every format
# states each time exactly and no two messages of a device share one.
STEP_NS = 1_000_000


@dataclass(frozen=True, slots=True)
class Part:
    """One format's share of a mix: which of its lab's devices send, and what each measures."""

    format: str
    kinds: frozenset[str]
    # Cycled over the part's devices: the quantities each device reports.
    measures: tuple[tuple[str, ...], ...]
    readings: str  # what one message carries, for the description


ISSUE13 = (
    Part(
        "ttn-v3",
        frozenset({"air", "weather"}),
        (("temperature", "relativeHumidity", "atmosphericPressure", "pm25", "pm10"),),
        "5",
    ),
    Part(
        "ngsi-ld",
        frozenset({"air_quality"}),
        (("no2", "pm25", "pm10"), ("no2", "pm25", "pm10", "temperature")),
        "3-4",
    ),
    Part("senml", frozenset({"air", "climate"}), (("temperature", "relativeHumidity", "atmosphericPressure"),), "3"),
)

MIX_NAMES = ("issue13", "all-formats")


@dataclass(frozen=True, slots=True)
class MixMessage:
    format: str
    message: SimMessage


def parse_weights(text: str | None) -> dict[str, float]:
    """``ttn-v3=1,ngsi-ld=1,senml=1`` -> weights per format (the issue13 mix's share of each)."""
    if not text:
        return {}
    weights: dict[str, float] = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"--weights: {item!r} is not format=number") from None
        if weight < 0:
            raise ValueError(f"--weights: {name} has a negative weight")
        weights[name.strip()] = weight
    unknown = set(weights) - {part.format for part in ISSUE13}
    if unknown:
        raise ValueError(f"--weights: unknown formats {sorted(unknown)}; the issue13 mix has ttn-v3, ngsi-ld, senml")
    if not any(weights.values()):
        raise ValueError("--weights: every weight is zero")
    return weights


def build_messages(
    labs: dict[str, LabConfig],
    name: str,
    count: int,
    *,
    start_ns: int,
    seed: int = DEFAULT_SEED,
    weights: dict[str, float] | None = None,
) -> list[MixMessage]:
    """``count`` messages of the named mix, the same bytes for the same arguments."""
    if name == "all-formats":
        fleet = build_fleet(labs, seed=seed)
        router = Router(labs)
        messages = fleet.load(start_ns, rate=1e9 / STEP_NS, seconds=count * STEP_NS / 1e9)
        return [MixMessage(_format_of(router, message), message) for message in messages]
    if name != "issue13":
        raise ValueError(f"unknown mix {name!r}; choose from {', '.join(MIX_NAMES)}")
    fleet = build_fleet(labs, seed=seed)
    shares = {part.format: (weights or {}).get(part.format, 1.0 if not weights else 0.0) for part in ISSUE13}
    streams: dict[str, Iterator[SimMessage]] = {}
    for part in ISSUE13:
        if shares[part.format] <= 0:
            continue
        devices = [d for d in fleet.devices if d.source.format == part.format and d.device.kind in part.kinds]
        if not devices:
            raise ValueError(f"the labs have no simulated {part.format} device of kinds {sorted(part.kinds)}")
        chosen = [
            replace(d, device=replace(d.device, measures=part.measures[index % len(part.measures)]))
            for index, d in enumerate(devices)
        ]
        part_fleet = Fleet(chosen, seed=seed, faults=NO_FAULTS, skipped=[])
        # Enough for the whole mix; generated lazily, as the interleave asks.
        streams[part.format] = part_fleet.load(start_ns, rate=1e9 / STEP_NS, seconds=count * STEP_NS / 1e9)
    return [MixMessage(fmt, next(streams[fmt])) for fmt in _interleave(shares, count)]


def _format_of(router: Router, message: SimMessage) -> str:
    route = router.route(message.topic)
    if route is None:
        raise ValueError(f"no lab routes the simulated topic {message.topic}")
    return route.source.format


def _interleave(shares: dict[str, float], count: int) -> Iterator[str]:
    """Smooth weighted round robin: each format in proportion to its share, spread evenly, deterministic."""
    active = {name: share for name, share in shares.items() if share > 0}
    total = sum(active.values())
    current = dict.fromkeys(active, 0.0)
    for _ in range(count):
        for name, share in active.items():
            current[name] += share
        chosen = max(current, key=lambda name: (current[name], name))
        current[chosen] -= total
        yield chosen


def _point_key(line: str) -> tuple[str, str]:
    """(series, time) of a line of the hub's line protocol: what makes a point distinct in InfluxDB."""
    series = line[: line.index(" value=")]
    return series, line[line.rindex(" ") + 1 :]


@dataclass
class Expectation:
    """What the hub must make of some messages, from translating each one in-process."""

    messages: int = 0
    payload_bytes: int = 0
    readings: int = 0
    points: int = 0  # distinct (series, time): what InfluxDB holds once every message is stored
    dead_letters: int = 0
    unmapped_keys: int = 0
    measurements: list[str] = field(default_factory=list)
    by_format: dict[str, dict[str, int]] = field(default_factory=dict)
    # Per message: its lines (the latency phase looks for one of them).
    lines: list[list[str]] = field(default_factory=list, repr=False)
    # When the in-process translation "received" them: a reading stamped with it had no time of its own.
    received_ns: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "payload_bytes": self.payload_bytes,
            "readings": self.readings,
            "points": self.points,
            "dead_letters": self.dead_letters,
            "unmapped_keys": self.unmapped_keys,
            "readings_per_message": round(self.readings / self.messages, 3) if self.messages else 0.0,
            "measurements": self.measurements,
            "by_format": self.by_format,
        }


def expect(labs: dict[str, LabConfig], messages: Sequence[MixMessage]) -> Expectation:
    translator = MessageTranslator(labs, max_payload_bytes=Settings().max_payload_bytes)
    result = Expectation()
    points: set[tuple[str, str]] = set()
    measurements: set[str] = set()
    per_format: dict[str, Counter[str]] = {}
    received_ns = result.received_ns = time.time_ns()
    for item in messages:
        envelope = translator.translate(InboundMessage(item.message.topic, item.message.payload, received_ns))
        counts = per_format.setdefault(item.format, Counter())
        counts["messages"] += 1
        counts["readings"] += len(envelope.lines)
        result.messages += 1
        result.payload_bytes += len(item.message.payload)
        result.readings += len(envelope.lines)
        result.dead_letters += len(envelope.dead_letters)
        result.unmapped_keys += len(envelope.unmapped_keys)
        result.lines.append(envelope.lines)
        for line in envelope.lines:
            points.add(_point_key(line))
            measurements.add(line[: line.index(",")])
    result.points = len(points)
    result.measurements = sorted(measurements)
    result.by_format = {name: dict(counts) for name, counts in sorted(per_format.items())}
    return result


def describe(name: str, weights: dict[str, float] | None = None) -> str:
    if name == "all-formats":
        return "every lab's simulated fleet in a fixed round robin: all ten formats, in proportion to their devices"
    parts = [
        f"{(weights or {}).get(part.format, 1.0 if not weights else 0.0):g} x {part.format} ({part.readings} readings)"
        for part in ISSUE13
    ]
    return "issue 13: " + ", ".join(parts) + "; the labs' own simulated devices on the labs' real topics"
