from __future__ import annotations

import json

import pytest

from adapters import DecodeError
from core.timeutil import parse_iso_ns
from tests.codecs.support import decode, failure, fixture, process, readings

LAB = "aarhus-os2iot"
TOPIC = "application/6d5d2b1e-3f0a-4c55-9a8e-0a1b2c3d4e5f/device/{dev}/event/up"


def event(obj: object = None, **extra: object) -> str:
    body: dict[str, object] = {
        "time": "2026-02-01T10:00:00.5+00:00",
        "deviceInfo": {"devEui": "a84041000181c61d", "deviceName": "harbour-1", "tags": {}},
        "data": "AQ==",
        **extra,
    }
    if obj is not None:
        body["object"] = obj
    return json.dumps(body)


def test_without_object_the_reason_says_no_decoded_object() -> None:
    code, detail = failure(
        "chirpstack-v4", fixture("chirpstack_v4", "no_object"), lab=LAB, topic=TOPIC.format(dev="0101010101010101")
    )
    assert code == "decode_error"
    assert "no decoded object" in detail
    assert detail.startswith("chirpstack-v4: object:")


def test_cayennelpp_channels_map_and_plus_zero_offset_time_is_utc() -> None:
    processed = process(
        "chirpstack-v4",
        event({"temperatureSensor": {"1": 25.5}, "barometer": {"2": 1012.3}, "illuminanceSensor": {"3": 420}}),
    )
    assert [(r.quantity, r.value) for r in processed.result.readings] == [
        ("temperature", 25.5),
        ("atmosphericPressure", 1012.3),
        ("illuminance", 420.0),
    ]
    assert {r.time_ns for r in processed.result.readings} == {parse_iso_ns("2026-02-01T10:00:00.5Z", None)}


def test_device_is_the_dev_eui_unless_configured_otherwise() -> None:
    assert decode("chirpstack-v4", event({"temperature": 1})).device == "a84041000181c61d"
    # The lab takes it from the topic level instead, which wins in the normaliser.
    got = readings("chirpstack-v4", event({"temperature": 1}), lab=LAB, topic=TOPIC.format(dev="0011223344556677"))
    assert got == [("temperature", 1.0, "0011223344556677")]


def test_position_comes_from_device_tags() -> None:
    tags = {"latitude": "56.15", "longitude": "10.2"}
    decoded = decode("chirpstack-v4", event({"temperature": 1}, deviceInfo={"devEui": "x", "tags": tags}))
    assert (decoded.lat, decoded.lon) == (56.15, 10.2)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"latitude": "56.1"}, "deviceInfo.tags.longitude: missing"),
        ({"latitude": "north", "longitude": "10"}, "deviceInfo.tags.latitude: 'north' is not decimal degrees"),
        ({"latitude": "95", "longitude": "10"}, "deviceInfo.tags.latitude: 95 is outside -90..90"),
        ({"latitude": ["56"], "longitude": "10"}, "deviceInfo.tags.latitude: expected decimal degrees, got an array"),
    ],
)
def test_bad_position_tags_are_named(tags: dict[str, object], message: str) -> None:
    with pytest.raises(DecodeError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        decode("chirpstack-v4", event({"temperature": 1}, deviceInfo={"devEui": "x", "tags": tags}))


def test_history_frames_land_at_their_own_times_and_live_values_at_the_event_time() -> None:
    processed = process(
        "chirpstack-v4",
        event(
            {
                "temperature": 30.8,
                "history": [
                    {"temperature": 27.2, "timestamp": 1665561758},
                    {"temperature": 26.9, "timestamp": 1665562358},
                ],
            }
        ),
    )
    got = [(r.value, r.time_ns // 10**9) for r in processed.result.readings]
    assert got == [(30.8, parse_iso_ns("2026-02-01T10:00:00Z", None) // 10**9), (27.2, 1665561758), (26.9, 1665562358)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"time": "2026-02-01T10:00:00Z", "object": {"temperature": 1', "uplink event is not valid JSON"),
        ('["up"]', "uplink event: expected a JSON object, got an array"),
        (event([1, 2]), "object: expected a JSON object, got an array"),
        (event({"t": 1}, deviceInfo="0101"), "deviceInfo: expected a JSON object, got a string"),
        (event({"t": 1}, time=1658136855), r"uplink event\.time: expected a string, got a number"),
        (
            event({"temperature": 1, "history": [{"temperature": 2, "timestamp": 1e30}]}),
            r"history\[0\]\.timestamp: epoch time 1e\+30 is out of range",
        ),
    ],
)
def test_bad_input_names_the_problem_and_where(payload: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("chirpstack-v4", payload)


def test_non_uplink_events_are_refused_by_topic() -> None:
    with pytest.raises(DecodeError, match="a 'join' event, not an uplink"):
        decode("chirpstack-v4", event({"temperature": 1}), topic="application/x/device/y/event/join")


def test_the_device_profile_name_is_the_device_model() -> None:
    info = {"devEui": "a84041000181c61d", "deviceProfileName": "Elsys ERS CO2"}
    decoded = decode("chirpstack-v4", event({"co2": 612}, deviceInfo=info), lab=LAB, topic=TOPIC.format(dev="a"))
    assert decoded.device_model == "Elsys ERS CO2"
    for unnamed in ({"devEui": "a"}, {"devEui": "a", "deviceProfileName": ""}, {"devEui": "a", "deviceProfileName": 7}):
        assert decode("chirpstack-v4", event({"co2": 1}, deviceInfo=unnamed)).device_model is None
