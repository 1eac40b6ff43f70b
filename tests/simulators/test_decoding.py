"""Every simulated message decodes with its lab's codec into the quantities the device measured.

The messages go through hub.pipeline.Pipeline with the lab and source the router picks
for the topic, exactly as the ingest service does (hub/ingest/envelope.py).
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from hub.labs import LabConfig, load_labs
from hub.pipeline import Pipeline, Processed
from hub.routing import Router
from simulators import SimMessage, build_fleet
from simulators.devices import RESOLUTION

ROOT = Path(__file__).resolve().parents[2]
START_NS = 1_772_359_200_000_000_000  # 2026-03-01T10:00:00Z
HOUR_NS = 3600 * 1_000_000_000


@pytest.fixture(scope="module")
def labs() -> dict[str, LabConfig]:
    return load_labs(ROOT / "labs")


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


def process(pipeline: Pipeline, router: Router, message: SimMessage) -> Processed:
    route = router.route(message.topic)
    assert route is not None, f"{message.topic} matches no lab's source"
    assert route.lab.lab == message.lab
    return pipeline.process_routed(route, message.payload, topic=message.topic, received_ns=message.send_at_ns)


def assert_readings_match(processed: Processed, message: SimMessage) -> None:
    readings = {r.quantity: r for r in processed.result.readings}
    expected = dict(message.values)
    assert set(readings) == set(expected), (message.topic, message.payload[:400])
    for quantity, value in expected.items():
        reading = readings[quantity]
        assert abs(reading.value - value) <= RESOLUTION[quantity] * 1.01, (quantity, reading.value, value)
        assert reading.time_ns == message.time_ns
        assert reading.device == message.device
        assert reading.lab == message.lab


def test_every_lab_with_an_encoder_gets_a_fleet(labs):
    fleet = build_fleet(labs)
    simulated = set(fleet.labs)
    skipped = {s.lab for s in fleet.skipped}
    assert simulated | skipped == set(labs)
    assert {
        "aarhus-city-lab",
        "copenhagen-street-lab",
        "aalborg-smart-city",
        "baerum-klimalab",
        "tromso-arctic-lab",
        "kristiansand-air-lab",
    } <= simulated


def test_fault_free_messages_decode_to_the_expected_quantities(labs, pipeline):
    fleet = build_fleet(labs, seed=3)
    router = Router(labs)
    messages = list(fleet.backfill(START_NS, START_NS + 6 * HOUR_NS))
    assert {m.lab for m in messages} == set(fleet.labs)
    for message in messages:
        processed = process(pipeline, router, message)
        assert processed.failure is None, (message.topic, processed.failure)
        assert processed.result.rejections == [], (message.topic, processed.result.rejections)
        assert message.values, message.topic
        assert_readings_match(processed, message)


def test_every_device_kind_and_format_is_covered(labs):
    fleet = build_fleet(labs)
    kinds_by_format = {(d.source.format, d.device.kind) for d in fleet.devices}
    assert {kind for _, kind in kinds_by_format} >= {
        "air",
        "air_quality",
        "particulates",
        "climate",
        "weather",
        "noise",
        "traffic",
        "parking",
        "waste",
        "water",
    }


def test_aarhus_and_copenhagen_speak_their_native_formats(labs, pipeline):
    fleet = build_fleet(labs, seed=1)
    messages = list(fleet.backfill(START_NS, START_NS + 2 * HOUR_NS))
    aarhus = {q for m in messages if m.lab == "aarhus-city-lab" for q, _ in m.values}
    assert aarhus == {
        "pm25",
        "pm10",
        "no2",
        "temperature",
        "relativeHumidity",
        "atmosphericPressure",
        "LAeq",
        "waterTemperature",
        "waterLevel",
        "occupancy",
    }
    harbour = next(m for m in messages if m.device == "aarhus-harbour-dokk1")
    assert b'"temp_water"' in harbour.payload and b'"level_cm"' in harbour.payload
    copenhagen = [m for m in messages if m.lab == "copenhagen-street-lab"]
    types = {m.topic.rsplit("/", 1)[1] for m in copenhagen}
    assert types == {
        "AirQualityObserved",
        "NoiseLevelObserved",
        "TrafficFlowObserved",
        "OffStreetParking",
        "WasteContainer",
    }
    assert {q for m in copenhagen for q, _ in m.values} == {
        "no2",
        "pm25",
        "pm10",
        "temperature",
        "relativeHumidity",
        "LAeq",
        "intensity",
        "occupancy",
        "fillingLevel",
    }
    air = next(m for m in copenhagen if m.topic.endswith("AirQualityObserved"))
    assert b'"unitCode":"GQ"' in air.payload and b'"dateObserved"' in air.payload


def test_same_seed_same_stream_other_seed_other_stream(labs):
    def stream(seed: int) -> list[tuple[str, bytes]]:
        return [(m.topic, m.payload) for m in build_fleet(labs, seed=seed).backfill(START_NS, START_NS + HOUR_NS)]

    assert stream(7) == stream(7)
    assert stream(7) != stream(8)


def test_reporting_intervals_are_irregular_and_between_2_and_30_minutes(labs):
    fleet = build_fleet(labs, seed=2)
    times: dict[str, list[int]] = {}
    for message in fleet.backfill(START_NS, START_NS + 12 * HOUR_NS, interval_s=None):
        times.setdefault(f"{message.lab}/{message.device}/{message.topic}", []).append(message.time_ns)
    for device, series in times.items():
        gaps = [b - a for a, b in itertools.pairwise(series)]
        assert min(gaps) >= 120 * 1_000_000_000, device
        assert max(gaps) <= 1800 * 1_000_000_000, device
        # Irregular: a device's gaps differ from one report to the next.
        assert len(set(gaps)) >= min(20, len(gaps) // 2), (device, gaps)


def test_a_faster_interval_can_be_set(labs):
    fleet = build_fleet(labs)
    counts = Counter(m.device for m in fleet.backfill(START_NS, START_NS + 600 * 1_000_000_000, interval_s=10))
    assert min(counts.values()) >= 45


def test_load_mode_gives_the_requested_count_in_a_stable_mix(labs):
    fleet = build_fleet(labs)
    messages = list(fleet.load(START_NS, rate=200, seconds=2))
    assert len(messages) == 400
    first = Counter(m.lab for m in messages)
    again = Counter(m.lab for m in build_fleet(labs).load(START_NS + HOUR_NS, rate=200, seconds=2))
    assert first == again
