"""The dashboards against every lab config in labs/, fed by the simulated fleet.

The contract test uses four hand-built cities with exact values; this one checks the
dashboards keep working as labs are added: every city of labs/ that sends a quantity
shows up as its own series, and the lab detail lists exactly the devices that reported.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pytest

from dashboards import cities, hub_health, lab_detail
from hub.labs import load_labs
from simulators import build_fleet
from tests.dashboards import walk
from tests.dashboards.cityfleet import LABS_DIR
from tests.dashboards.macros import QueryContext, apply_variable_regex
from tests.support.mqtt import publish_all

pytestmark = pytest.mark.integration

BACKFILL_S = 2 * 3600


def test_every_city_of_labs_appears_on_the_dashboards(hub_factory, broker, influxql):
    labs = load_labs(LABS_DIR)
    hub_factory()
    end_ns = time.time_ns()
    start_ns = end_ns - BACKFILL_S * 1_000_000_000
    messages = list(build_fleet(labs, seed=5).backfill(start_ns, end_ns))
    publish_all(broker.port, [(m.topic, m.payload) for m in messages])

    city_of = {lab.lab: lab.city for lab in labs.values()}
    cities_by_quantity: dict[str, set[str]] = defaultdict(set)
    devices_by_lab: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        for quantity, _ in message.values:
            cities_by_quantity[quantity].add(city_of[message.lab])
        if message.values:
            devices_by_lab[message.lab].add(message.device)
    assert len({c for cs in cities_by_quantity.values() for c in cs}) == len(set(city_of.values()))

    deadline = time.monotonic() + 30
    counted = 0
    while time.monotonic() < deadline and counted < len(messages):
        series = influxql.query('SELECT sum("messages") FROM "hub_stats"')
        counted = int(series[0].values[0][1]) if series else 0
        time.sleep(0.2)
    assert counted == len(messages)

    def context(**variables: list[str]) -> QueryContext:
        return QueryContext(start_ns // 1_000_000, time.time_ns() // 1_000_000, "5m", variables)

    def values(variable: dict[str, Any], ctx: QueryContext) -> list[str]:
        found = [str(row[-1]) for s in influxql.query(ctx.expand(variable["query"])) for row in s.values]
        return apply_variable_regex(variable.get("regex"), list(dict.fromkeys(found)))

    home = walk.load(cities.UID)
    (quantity_var,) = walk.variables(home)
    assert set(values(quantity_var, context())) == set(cities_by_quantity)
    by_city = next(t for t in walk.targets(cities.UID, home) if t.panel["title"] == "$quantity by city")
    for quantity, expected in cities_by_quantity.items():
        series = influxql.query(context(quantity=[quantity]).expand(by_city.query))
        assert {s.tags["city"] for s in series} == expected, quantity

    detail = walk.load(lab_detail.UID)
    city_var, lab_var, _, device_var = walk.variables(detail)
    assert set(values(city_var, context())) == set(city_of.values())
    for city in set(city_of.values()):
        labs_of_city = values(lab_var, context(city=[city]))
        assert set(labs_of_city) == {lab for lab, c in city_of.items() if c == city and devices_by_lab[lab]}
        for lab in labs_of_city:
            assert set(values(device_var, context(city=[city], lab=[lab]))) == devices_by_lab[lab], lab

    health = walk.load(hub_health.UID)
    per_lab = next(t for t in walk.targets(hub_health.UID, health) if t.panel["title"] == "Messages received per lab")
    received = {s.tags["lab"]: sum(row[1] for row in s.values) for s in influxql.query(context().expand(per_lab.query))}
    sent: dict[str, int] = defaultdict(int)
    for message in messages:
        sent[message.lab] += 1
    assert received == sent
