"""The contract between the dashboards and the store.

The hub ingests four cities' native payloads into a real InfluxDB; then every panel and
variable query of the committed dashboard JSON is expanded as Grafana would expand it
and run. Each must return the series it promises: one per city where a panel compares
cities, one per device where it lists devices. An empty answer is a failure.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pytest

from dashboards import cities, hub_health, lab_detail
from hub.store.influxql import InfluxQLClient, Series
from tests.dashboards import walk
from tests.dashboards.cityfleet import (
    CITIES,
    HOURS,
    OSLO_GAP,
    QUANTITIES,
    SILENT_HOURS,
    Fleet,
    reports,
    value,
    write_labs,
)
from tests.dashboards.macros import QueryContext, apply_variable_regex
from tests.support.mqtt import publish_all

pytestmark = pytest.mark.integration

HOUR_NS = 3_600_000_000_000
ALL_DEVICES = {device for _, devices, _ in CITIES.values() for device in devices}
LABS = {lab for lab, _, _ in CITIES.values()}


class Store:
    """The populated database, and Grafana's view of it: the time range and the query runner."""

    def __init__(self, client: InfluxQLClient, fleet: Fleet) -> None:
        self.client = client
        self.fleet = fleet
        self.from_ms = fleet.start_ns // 1_000_000
        self.to_ms = time.time_ns() // 1_000_000

    def context(self, **variables: list[str]) -> QueryContext:
        return QueryContext(self.from_ms, self.to_ms, "1h", variables)

    def run(self, target: walk.Target, context: QueryContext) -> list[Series]:
        context = context.with_time_from(target.panel.get("timeFrom"))
        series = self.client.query(context.expand(target.query))
        values = [v for s in series for row in s.values for v in row[1:] if v is not None]
        assert values, f"{target.where} returned nothing: {context.expand(target.query)}"
        return series

    def variable_values(self, variable: dict[str, Any], context: QueryContext) -> list[str]:
        series = self.client.query(context.expand(variable["query"]))
        # SHOW … puts the value last; Grafana drops duplicates (one per measurement here).
        names = list(dict.fromkeys(str(row[-1]) for s in series for row in s.values))
        values = apply_variable_regex(variable.get("regex"), names)
        assert values, f"variable ${variable['name']} has no values: {variable['query']}"
        return values


@pytest.fixture
def store(hub_factory, broker, influxql, tmp_path) -> Store:
    labs = write_labs(tmp_path / "labs")
    hub_factory(labs=labs)
    fleet = Fleet(start_ns=(time.time_ns() // HOUR_NS - HOURS - 1) * HOUR_NS)
    messages = fleet.messages()
    publish_all(broker.port, messages)
    expected_readings = sum(len(reports(city, d)) * len(QUANTITIES) for city, (_, ds, _) in CITIES.items() for d in ds)
    expected_messages = sum(fleet.message_counts().values())
    deadline = time.monotonic() + 30
    readings = messages_counted = 0
    while time.monotonic() < deadline:
        readings = sum(_scalar(influxql, f'SELECT count("value") FROM "{q}"') for q in QUANTITIES)
        messages_counted = _scalar(influxql, 'SELECT sum("messages") FROM "hub_stats"')
        if readings == expected_readings and messages_counted == expected_messages:
            break
        time.sleep(0.2)
    assert (readings, messages_counted) == (expected_readings, expected_messages)
    return Store(influxql, fleet)


def _scalar(client: InfluxQLClient, query: str) -> int:
    series = client.query(query)
    return int(series[0].values[0][1]) if series and series[0].values else 0


def _by_tag(series: list[Series], tag: str) -> dict[str, list[Series]]:
    """Series grouped by a tag, whether InfluxDB put the tag in the series tags or (table) in a column."""
    grouped: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        if tag in s.tags:
            grouped[s.tags[tag]].append(s)
        elif tag in s.columns:
            for row in s.records():
                grouped[row[tag]].append(Series(s.name, {tag: row[tag]}, s.columns, [list(row.values())]))
    return grouped


def _assert_grouping(target: walk.Target, series: list[Series], expected: dict[str, set[str]]) -> None:
    for tag in target.group_tags:
        if tag in expected:
            assert set(_by_tag(series, tag)) == expected[tag], f"{target.where}: {tag} series"


def test_home_dashboard_compares_every_city_for_every_quantity(store: Store):
    dashboard = walk.load(cities.UID)
    (variable,) = walk.variables(dashboard)
    quantities = store.variable_values(variable, store.context())
    assert sorted(quantities) == sorted(QUANTITIES)  # hub_stats is filtered out
    targets = list(walk.targets(cities.UID, dashboard))
    assert len(targets) >= 9
    for quantity in quantities:
        context = store.context(quantity=[quantity])
        for target in targets:
            series = store.run(target, context)
            _assert_grouping(target, series, {"city": set(CITIES), "device": ALL_DEVICES})


def test_home_dashboard_numbers_match_what_the_cities_sent(store: Store):
    dashboard = walk.load(cities.UID)
    by_title = {(t.panel["title"], t.ref_id): t for t in walk.targets(cities.UID, dashboard)}
    context = store.context(quantity=["pm25"])

    summary = store.run(by_title[("$quantity per city over the range", "A")], context)
    rows = {s.tags["city"]: s.records()[0] for s in summary}
    for city, (_, devices, _) in CITIES.items():
        assert rows[city]["readings"] == sum(len(reports(city, d)) for d in devices)
        assert rows[city]["min"] == value(city, devices[0], "pm25", 0)
        assert rows[city]["max"] == value(city, devices[1], "pm25", 23)

    hourly = store.run(by_title[("$quantity per city over the range", "B")], context)
    hours_with_data = {city: sum(1 for row in s[0].values if row[1]) for city, s in _by_tag(hourly, "city").items()}
    assert hours_with_data == {city: HOURS - (len(OSLO_GAP) if city == "oslo" else 0) for city in CITIES}

    latest = store.run(by_title[("Latest $quantity per city", "A")], context)
    last_hour_ns = store.fleet.time_ns(HOURS - 1)
    latest_times = {city: s[0].values[0][0] for city, s in _by_tag(latest, "city").items()}
    assert latest_times == dict.fromkeys(CITIES, last_hour_ns)

    markers = store.run(by_title[("Devices by latest $quantity", "A")], context)
    located = [row for s in markers for row in s.records()]
    assert len(located) == len(ALL_DEVICES)
    assert all(row["lat"] is not None and row["lon"] is not None and row["value"] is not None for row in located)

    profile = store.run(by_title[("Hour-of-day profile of $quantity", "A")], context)
    assert {city: len(s[0].values) for city, s in _by_tag(profile, "city").items()} == hours_with_data


def test_air_quality_panels_use_the_vocabulary_references(store: Store):
    dashboard = walk.load(cities.UID)
    guideline_panels = [p for p in walk.panels(dashboard) if "against WHO and EU" in p["title"]]
    measurements = [p["targets"][0]["query"].split('FROM "')[1].split('"')[0] for p in guideline_panels]
    assert measurements == ["pm25", "pm10", "no2", "o3"]
    steps = {
        m: [s["value"] for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]
        for m, p in zip(measurements, guideline_panels, strict=True)
    }
    assert steps == {"pm25": [None, 15, 25], "pm10": [None, 45, 50], "no2": [None, 25, 200], "o3": [None, 100, 120]}
    for panel in guideline_panels:
        target = walk.Target(cities.UID, panel, "A", panel["targets"][0]["query"], "time_series", "$tag_city")
        series = store.run(target, store.context())
        assert set(_by_tag(series, "city")) == set(CITIES)


def test_lab_detail_for_every_city_lists_its_devices(store: Store):
    dashboard = walk.load(lab_detail.UID)
    city_var, lab_var, quantity_var, device_var = walk.variables(dashboard)
    assert [v["name"] for v in (city_var, lab_var, quantity_var, device_var)] == ["city", "lab", "quantity", "device"]
    assert sorted(store.variable_values(city_var, store.context())) == sorted(CITIES)
    targets = list(walk.targets(lab_detail.UID, dashboard))
    for city, (lab, devices, _) in CITIES.items():
        labs = store.variable_values(lab_var, store.context(city=[city]))
        assert labs == [lab]
        quantities = store.variable_values(quantity_var, store.context(city=[city], lab=[lab]))
        assert sorted(quantities) == sorted(QUANTITIES)
        found_devices = store.variable_values(device_var, store.context(city=[city], lab=[lab]))
        assert sorted(found_devices) == sorted(devices)
        for target in targets:
            # A repeated panel gets one quantity per copy; the others get all of them at once.
            choices = [[q] for q in quantities] if target.panel.get("repeat") == "quantity" else [quantities]
            for chosen in choices:
                context = store.context(city=[city], lab=[lab], quantity=chosen, device=found_devices)
                series = store.run(target, context)
                _assert_grouping(target, series, {"device": set(devices)})
                one = store.run(target, store.context(city=[city], lab=[lab], quantity=chosen, device=[devices[0]]))
                _assert_grouping(target, one, {"device": {devices[0]}})


def test_lab_detail_makes_the_silent_device_stand_out(store: Store):
    dashboard = walk.load(lab_detail.UID)
    by_title = {t.panel["title"]: t for t in walk.targets(lab_detail.UID, dashboard)}
    context = store.context(
        city=["helsinki"], lab=["helsinki-city-lab"], quantity=list(QUANTITIES), device=["hel-1", "hel-2"]
    )
    last_seen = store.run(by_title["When each device was last seen"], context)
    newest = {device: max(s.values[0][0] for s in group) for device, group in _by_tag(last_seen, "device").items()}
    assert newest == {"hel-1": store.fleet.time_ns(HOURS - 1), "hel-2": store.fleet.time_ns(HOURS - 1 - SILENT_HOURS)}

    activity = store.run(by_title["Device activity"], context)
    silent = {
        device: sum(1 for s in group for row in s.values if row[1] == 0)
        for device, group in _by_tag(activity, "device").items()
    }
    assert silent["hel-2"] - silent["hel-1"] == SILENT_HOURS * len(QUANTITIES)


def test_hub_health_counts_what_the_hub_received(store: Store):
    dashboard = walk.load(hub_health.UID)
    counts = store.fleet.message_counts()
    for target in walk.targets(hub_health.UID, dashboard):
        series = store.run(target, store.context())
        if "lab" in target.group_tags and "reason" not in target.group_tags:
            assert set(_by_tag(series, "lab")) == LABS, target.where
    by_title = {t.panel["title"]: t for t in walk.targets(hub_health.UID, dashboard)}

    per_lab = store.run(by_title["Messages received per lab"], store.context())
    received = {lab: sum(row[1] for s in group for row in s.values) for lab, group in _by_tag(per_lab, "lab").items()}
    assert received == counts
    total = store.run(by_title["Messages received"], store.context())
    assert total[0].values[0][1] == sum(counts.values())

    dead = store.run(by_title["Dead letters per lab and reason"], store.context())
    assert {(s.tags["lab"], s.tags["reason"]): sum(row[1] for row in s.values) for s in dead} == {
        ("aarhus-city-lab", "decode_error"): 2
    }

    depths = store.run(by_title["Queue and spool depth per worker"], store.context())
    assert {row["spool"] for s in depths for row in s.records() if row["spool"] is not None} == {0}
