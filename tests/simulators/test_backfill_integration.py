"""A short backfill through the real Mosquitto and the real ``citylab serve`` lands every city's points."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from hub.labs import load_labs
from hub.pipeline import Pipeline
from hub.routing import Router
from hub.store.influxql import InfluxQLClient
from simulators import build_fleet, publish

pytestmark = pytest.mark.integration

LABS_DIR = Path(__file__).resolve().parents[2] / "labs"
HOUR_NS = 3600 * 1_000_000_000


def stored_points_by_city(client: InfluxQLClient) -> Counter[str]:
    counts: Counter[str] = Counter()
    for series in client.query('SELECT count("value") FROM /.*/ GROUP BY city'):
        if series.name == "hub_stats":
            continue
        counts[series.tags.get("city", "")] += sum(row[1] for row in series.values)
    return counts


def test_backfill_lands_points_of_every_simulated_city(hub_factory, broker, influxql):
    hub_factory(labs=LABS_DIR)
    labs = load_labs(LABS_DIR)
    fleet = build_fleet(labs, seed=5)
    end_ns = time.time_ns() - HOUR_NS
    messages = list(fleet.backfill(end_ns - 2 * HOUR_NS, end_ns))

    # What the hub should store: one point per quantity, city, device and time.
    router, pipeline = Router(labs), Pipeline()
    expected_points: set[tuple[str, str | None, str, int]] = set()
    for message in messages:
        route = router.route(message.topic)
        assert route is not None
        processed = pipeline.process_routed(route, message.payload, topic=message.topic, received_ns=time.time_ns())
        expected_points |= {(r.quantity, r.city, r.device, r.time_ns) for r in processed.result.readings}
    expected = Counter(city or "" for _, city, _, _ in expected_points)
    cities = {labs[lab].city for lab in fleet.labs}
    assert set(expected) == cities and len(cities) >= 6

    report = publish(messages, broker.url)
    assert report.errors == 0 and report.acked == len(messages)

    deadline = time.monotonic() + 30
    stored: Counter[str] = Counter()
    while time.monotonic() < deadline:
        stored = stored_points_by_city(influxql)
        if stored == expected:
            break
        time.sleep(0.2)
    assert stored == expected
