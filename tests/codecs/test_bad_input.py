"""Every codec, through the pipeline: wrongly typed and wrong-format payloads are decode errors with a reason.

(Truncated and oversized payloads are covered for every codec in test_robustness.py.) Each message must
name the problem and where it is, so a lab can fix its side from the dead letter alone.
"""

from __future__ import annotations

import pytest

from adapters import codecs
from tests.codecs.support import fixture, process

# format -> (lab, topic): where the payloads arrive, so option-driven codecs read them with their lab's options.
WHERE = {
    "ttn-v3": ("bergen-city-lab", "v3/bergen-city-lab@ttn/devices/d1/up"),
    "chirpstack-v4": ("aarhus-os2iot", "application/6d5d2b1e-3f0a-4c55-9a8e-0a1b2c3d4e5f/device/0101/event/up"),
    "senml": ("oslo-urban-lab", "oslo-urban-lab/senml/gw-1"),
    "ngsi-ld": ("copenhagen-street-lab", "copenhagen-street-lab/ngsi-ld/notify"),
    "fiware-ul": ("trondheim-iot-lab", "/ul/trd4f2a9c/node-1/attrs"),
    "fiware-json": ("trondheim-iot-lab", "/json/trd7b31e0/node-1/attrs"),
    "sensor-community": ("reykjavik-air-lab", "reykjavik-air-lab/push/esp8266-1"),
    "sensorthings": ("stavanger-sensorthings", "stavanger-sensorthings/v1.0/Datastreams(1)/Observations"),
    "tasmota": ("vejle-makerspace", "vejle-makerspace/tele/board-1/SENSOR"),
    "json": ("odense-city-lab", "odense-city-lab/air/station-1"),
}

WRONGLY_TYPED = [
    (
        "ttn-v3",
        '{"uplink_message": {"decoded_payload": [21.5]}}',
        "uplink_message.decoded_payload: expected a JSON object, got an array",
    ),
    (
        "chirpstack-v4",
        '{"object": {"temperature": 1}, "deviceInfo": {"devEui": 42}}',
        "deviceInfo.devEui: expected a string, got a number",
    ),
    (
        "senml",
        '[{"bn": "d:", "n": "temperature", "v": 1, "t": "yesterday"}]',
        "record 0.t: expected a number, got a string",
    ),
    (
        "ngsi-ld",
        '{"type": "Notification", "data": {"id": "x"}}',
        "data: expected a non-empty array of entities, got an object",
    ),
    ("fiware-ul", "t|1|h", "group 0: 3 fields where k|v pairs"),
    (
        "fiware-json",
        '{"t": 1, "TimeInstant": {"at": "noon"}}',
        "measure.TimeInstant: expected an epoch number or an ISO 8601 time, got an object",
    ),
    (
        "sensor-community",
        '{"sensordatavalues": [{"value_type": 1, "value": "2"}]}',
        "record.sensordatavalues[0].value_type: expected a string, got a number",
    ),
    (
        "sensorthings",
        '{"result": 1, "phenomenonTime": ["2026-01-01T00:00:00Z"]}',
        "Observation.phenomenonTime: expected an ISO 8601 time or interval, got an array",
    ),
    (
        "tasmota",
        '{"BME280": {"Temperature": 20}, "TempUnit": 1}',
        "SENSOR message.TempUnit: expected a string, got a number",
    ),
    (
        "json",
        '{"station": ["s"], "ts": 1772362800000, "readings": [{"type": "temperature", "value": 1}]}',
        "record 0: device at 'station' is an array, not an id",
    ),
]

# Another format's genuine payload, sent to the wrong codec.
WRONG_FORMAT = [
    ("ttn-v3", ("chirpstack_v4", "cayennelpp_object"), "uplink_message: missing (not an uplink event)"),
    ("chirpstack-v4", ("ttn_v3", "uplink"), "object: no decoded object"),
    ("senml", ("tasmota", "bme280"), "record 0: no name (neither bn nor n)"),
    ("ngsi-ld", ("senml", "single_point"), "entities[0].id: missing entity id"),
    ("fiware-ul", ("fiware_json", "multi_measure"), "group 0: 1 fields where k|v pairs"),
    ("fiware-json", ("fiware_ul", "multi_measure"), "measure is not valid JSON"),
    ("sensor-community", ("sensorthings", "observation_create"), "record.sensordatavalues: missing"),
    ("sensorthings", ("sensor_community", "push_firmware_sds011"), "Observation.result: missing"),
    ("tasmota", ("senml", "collection_two_basenames"), "SENSOR message: expected a JSON object, got an array"),
    ("json", ("ttn_v3", "uplink"), "records: path 'readings' not found"),
]


def _failure(format_name: str, payload: bytes | str) -> tuple[str, str]:
    lab, topic = WHERE[format_name]
    processed = process(format_name, payload, lab=lab, topic=topic)
    assert processed.failure is not None, f"{format_name} accepted it: {processed.result}"
    return processed.failure.code, processed.failure.detail


def test_every_codec_is_covered() -> None:
    assert {case[0] for case in WRONGLY_TYPED} == {case[0] for case in WRONG_FORMAT} == set(codecs()) == set(WHERE)


@pytest.mark.parametrize(("format_name", "payload", "message"), WRONGLY_TYPED, ids=[c[0] for c in WRONGLY_TYPED])
def test_wrongly_typed_member_is_named(format_name: str, payload: str, message: str) -> None:
    code, detail = _failure(format_name, payload)
    assert code == "decode_error"
    assert detail == f"{format_name}: {message}" or detail.startswith(f"{format_name}: {message}")


@pytest.mark.parametrize(("format_name", "other", "message"), WRONG_FORMAT, ids=[c[0] for c in WRONG_FORMAT])
def test_another_formats_payload_is_refused_with_a_reason(
    format_name: str, other: tuple[str, str], message: str
) -> None:
    code, detail = _failure(format_name, fixture(*other))
    assert code == "decode_error"
    assert detail.startswith(f"{format_name}: {message}")
