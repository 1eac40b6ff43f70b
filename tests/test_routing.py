"""hub.routing: a topic finds its lab and source; city and lab come from there, never from a payload."""

from __future__ import annotations

from typing import Any

import pytest

from hub.labs import LabConfig
from hub.routing import Route, Router


def lab(slug: str, city: str, *sources: dict[str, Any]) -> LabConfig:
    return LabConfig.model_validate(
        {
            "lab": slug,
            "city": city,
            "name": slug.title(),
            "city_name": city.title(),
            "country": "NO",
            "timezone": "Europe/Oslo",
            "location": {"lat": 60.0, "lon": 10.0},
            "sources": list(sources),
        }
    )


BERGEN = lab(
    "bergen-lab",
    "bergen",
    {"topic": "v3/bergen-lab@ttn/devices/+/up", "format": "ttn-v3", "device_topic_level": 3},
)
ODENSE = lab(
    "odense-lab",
    "odense",
    {"topic": "odense-lab/air/+", "format": "json", "options": {"key": "type", "value": "value"}},
    {"topic": "odense-lab/noise/#", "format": "senml"},
)
ROUTER = Router({"bergen-lab": BERGEN, "odense-lab": ODENSE})


@pytest.mark.parametrize(
    ("topic", "lab_slug", "source_index"),
    [
        ("v3/bergen-lab@ttn/devices/lamp-1/up", "bergen-lab", 0),
        ("odense-lab/air/station-9", "odense-lab", 0),
        ("odense-lab/noise/monitor-3", "odense-lab", 1),
        ("odense-lab/noise/a/b/c", "odense-lab", 1),
        ("odense-lab/noise", "odense-lab", 1),  # '#' also matches its parent level (MQTT 3.1.1 4.7.1.2)
    ],
)
def test_a_topic_finds_its_lab_and_source(topic: str, lab_slug: str, source_index: int) -> None:
    route = ROUTER.route(topic)
    assert route is not None
    assert route.lab.lab == lab_slug
    assert route.source is route.lab.sources[source_index]


@pytest.mark.parametrize(
    "topic",
    [
        "v3/bergen-lab@ttn/devices/lamp-1/down",  # another event of the same device
        "v3/bergen-lab@ttn/devices/up",  # one level short of the filter
        "v3/other-lab@ttn/devices/lamp-1/up",
        "odense-lab/air/station-9/extra",  # '+' is exactly one level
        "odense-lab/air",
        "odense-lab",
        "",
        "$SYS/broker/uptime",
    ],
)
def test_a_topic_no_source_claims_has_no_route(topic: str) -> None:
    assert ROUTER.route(topic) is None


def test_topic_filters_are_every_sources_in_config_order() -> None:
    assert ROUTER.topic_filters == ["v3/bergen-lab@ttn/devices/+/up", "odense-lab/air/+", "odense-lab/noise/#"]


def test_a_route_carries_the_lab_objects_themselves() -> None:
    route = ROUTER.route("odense-lab/air/s-1")
    assert route == Route(ODENSE, ODENSE.sources[0])
    # The config objects are shared, not copied: their cached codec options and resolvers are reused.
    assert route is not None and route.source.resolver is ODENSE.sources[0].resolver


def test_no_labs_no_routes() -> None:
    router = Router({})
    assert router.topic_filters == []
    assert router.route("anything/at/all") is None
