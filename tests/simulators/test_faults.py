"""Each fault kind, on its own, leads to the dead-letter reasons (or the silent effects) it should.

Messages go through hub.pipeline.Pipeline with the routed lab and source, received at
their ``send_at_ns``, as the ingest service would receive them live.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from core.model import RejectCode
from hub.labs import LabConfig, load_labs
from hub.pipeline import Pipeline, Processed
from hub.routing import Router
from simulators import Faults, SimMessage, build_fleet
from simulators.faults import CLOCK_SKEW_NS, UNKNOWN_KEYS
from simulators.fleet import Fleet
from tests.simulators.test_decoding import HOUR_NS, START_NS, assert_readings_match, process

ROOT = Path(__file__).resolve().parents[2]
# Six hours of every lab: long enough for device faults (from a third of the way in) to show.
SPAN_NS = 6 * HOUR_NS


@pytest.fixture(scope="module")
def labs() -> dict[str, LabConfig]:
    return load_labs(ROOT / "labs")


def run(labs: dict[str, LabConfig], kind: str, rate: float = 0.3) -> tuple[Fleet, list[tuple[SimMessage, Processed]]]:
    fleet = build_fleet(labs, seed=11, faults=Faults(frozenset({kind}), rate))
    router, pipeline = Router(labs), Pipeline()
    messages = list(fleet.backfill(START_NS, START_NS + SPAN_NS))
    return fleet, [(m, process(pipeline, router, m)) for m in messages]


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kinds"):
        Faults.parse("malformed,gremlins")
    assert Faults.parse("all").kinds >= {"malformed", "silent", "unit_change"}


def test_malformed_payloads_are_decode_errors(labs):
    _, results = run(labs, "malformed")
    faulty = [(m, p) for m, p in results if "malformed" in m.faults]
    assert len(faulty) > 20
    assert {m.lab for m, _ in faulty} == {m.lab for m, _ in results}
    for message, processed in faulty:
        assert processed.failure is not None and processed.failure.code == RejectCode.DECODE_ERROR, message.payload
    for message, processed in results:
        if not message.faults:
            assert processed.failure is None and not processed.result.rejections
            assert_readings_match(processed, message)


@pytest.mark.parametrize(
    ("kind", "code"), [("wrong_type", RejectCode.NOT_A_NUMBER), ("out_of_range", RejectCode.OUT_OF_RANGE)]
)
def test_bad_values_are_rejected_with_their_reason_while_the_rest_is_kept(labs, kind, code):
    _, results = run(labs, kind)
    faulty = [(m, p) for m, p in results if kind in m.faults]
    assert len(faulty) > 20
    for message, processed in faulty:
        assert processed.failure is None
        assert [r.code for r in processed.result.rejections] == [code], (message.payload, processed.result)
        # The other quantities of the same message still land.
        assert_readings_match(processed, message)


def test_unknown_keys_are_counted_as_unmapped_not_dead_lettered(labs):
    _, results = run(labs, "unknown_keys")
    faulty = [(m, p) for m, p in results if "unknown_keys" in m.faults]
    assert len(faulty) > 20
    for message, processed in faulty:
        assert processed.failure is None and not processed.result.rejections
        assert (
            {"diag", "fw_build"}
            <= set(processed.result.unmapped_keys)
            <= set(UNKNOWN_KEYS) | {*processed.result.unmapped_keys}
        )
        assert_readings_match(processed, message)


def test_duplicates_repeat_the_same_bytes_and_decode_cleanly(labs):
    _, results = run(labs, "duplicate")
    resent = [m for m, _ in results if m.faults == ("duplicate",)]
    assert len(resent) > 20
    originals = {(m.topic, m.payload) for m, _ in results if not m.faults}
    for message in resent:
        assert (message.topic, message.payload) in originals
    assert all(p.failure is None and not p.result.rejections for _, p in results)


def test_late_and_out_of_order_messages_arrive_after_newer_ones_and_still_decode(labs):
    for kind in ("late", "out_of_order"):
        _, results = run(labs, kind)
        late = [m for m, _ in results if kind in m.faults]
        assert len(late) > 20
        if kind == "late":
            assert all(m.send_at_ns - m.time_ns >= HOUR_NS for m in late)
        by_device: dict[str, list[int]] = defaultdict(list)
        for message, processed in results:
            by_device[message.device].append(message.time_ns)
            assert processed.failure is None and not processed.result.rejections
            assert_readings_match(processed, message)
        # Each held-back message arrives after a newer one of its device: a descent in send order.
        descents = sum(a > b for times in by_device.values() for a, b in itertools.pairwise(times))
        assert descents >= len(late) // 2


def test_clock_skew_puts_one_device_per_lab_in_the_future(labs):
    fleet, results = run(labs, "clock_skew")
    skewed = [(m, p) for m, p in results if "clock_skew" in m.faults]
    assert {m.lab for m, _ in skewed} == {d.lab.lab for d in fleet.devices if d.encoder.carries_time(d.source)}
    assert len({(m.lab, m.device) for m, _ in skewed}) == len({m.lab for m, _ in skewed})
    for message, processed in skewed:
        assert message.time_ns - message.send_at_ns == CLOCK_SKEW_NS
        codes = Counter(r.code for r in processed.result.rejections)
        assert codes == Counter({RejectCode.TIME_IN_FUTURE: len(message.values)}), processed.result


def test_a_silent_device_stops_a_third_of_the_way_in(labs):
    fleet, results = run(labs, "silent")
    # One stream per device (a SensorThings device has one per datastream).
    last_seen: dict[tuple[str, str, str], int] = {}
    for message, _ in results:
        key = (message.lab, message.device, message.topic)
        last_seen[key] = max(message.time_ns, last_seen.get(key, 0))
    cutoff = START_NS + SPAN_NS // 3
    silent = {key for key, last in last_seen.items() if last < cutoff}
    assert {lab for lab, _, _ in silent} == set(fleet.labs)
    assert len(silent) == len(fleet.labs)


def test_labelled_unit_change_converts_fahrenheit_back(labs):
    _, results = run(labs, "unit_change")
    changed = [(m, p) for m, p in results if "unit_change" in m.faults]
    assert len(changed) > 10
    for message, processed in changed:
        # °F, FAH, Fah, "F" (Tasmota's TempUnit) or a number written with its unit (UltraLight's 40.8F).
        assert re.search(rb'\xc2\xb0F|"FAH"|"Fah"|"F"|\dF\b|\dF"', message.payload), message.payload
        assert processed.failure is None and not processed.result.rejections
        assert_readings_match(processed, message)  # the temperature comes back in °C


def test_unlabelled_unit_change_stores_fahrenheit_numbers_as_celsius_or_rejects_them(labs):
    """What really happens: the hub can't tell 39 °F from 39 °C. In range it stores the wrong number."""
    _, results = run(labs, "unit_change_unlabelled")
    changed = [(m, p) for m, p in results if "unit_change_unlabelled" in m.faults]
    assert len(changed) > 10
    stored_wrong = 0
    for message, processed in changed:
        readings = {r.quantity: r.value for r in processed.result.readings}
        expected = dict(message.values)
        if "temperature" in expected:
            stored_wrong += 1
            assert readings["temperature"] == pytest.approx(expected["temperature"], abs=0.11)
            assert not processed.result.rejections
        else:
            assert [r.code for r in processed.result.rejections] == [RejectCode.OUT_OF_RANGE]
        assert_readings_match(processed, message)
    # A March morning in the Nordics is 0-10 °C, 32-50 °F: in range, silently wrong.
    assert stored_wrong > 0
