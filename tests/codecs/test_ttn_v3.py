from __future__ import annotations

import json

import pytest

from adapters import DecodeError
from tests.codecs.support import decode, fixture, process

LAB = "bergen-city-lab"
TOPIC = "v3/bergen-city-lab@ttn/devices/{dev}/up"


def uplink(decoded: object, time: str = "2026-02-20T09:00:00Z") -> str:
    return json.dumps(
        {
            "end_device_ids": {"device_id": "d1"},
            "received_at": time,
            "uplink_message": {"decoded_payload": decoded, "rx_metadata": [{"time": time}]},
        }
    )


def test_milesight_history_entries_each_at_their_own_time() -> None:
    decoded = decode("ttn-v3", fixture("ttn_v3", "milesight_em300_history"))
    assert [(o.key, o.value, o.time) for o in decoded.observations] == [
        ("history[0].humidity", 46.5, 1665561758 * 10**9),
        ("history[0].temperature", 27.2, 1665561758 * 10**9),
    ]


def test_history_in_milliseconds_and_iso_text() -> None:
    decoded = decode(
        "ttn-v3",
        uplink(
            {
                "history": [
                    {"temperature": 1, "timestamp": 1665561758000},
                    {"temperature": 2, "timestamp": "2022-10-12T08:02:38"},
                ]
            }
        ),
    )
    assert [o.time for o in decoded.observations] == [1665561758 * 10**9, "2022-10-12T08:02:38"]


def test_list_elements_are_keyed_by_index_with_their_scalar_members() -> None:
    decoded = decode(
        "ttn-v3",
        uplink({"temperature": 3, "raw": [1, 2], "messages": [{"measurementId": 4097, "measurementValue": 21.4}]}),
    )
    assert [(o.key, o.value, o.element) for o in decoded.observations] == [
        ("temperature", 3, ()),
        ("raw[0]", 1, ()),
        ("raw[1]", 2, ()),
        ("messages[0].measurementId", 4097, (("measurementId", "4097"), ("measurementValue", "21.4"))),
        ("messages[0].measurementValue", 21.4, (("measurementId", "4097"), ("measurementValue", "21.4"))),
    ]


def test_a_series_in_one_unit_keeps_the_unit_on_every_sample() -> None:
    decoded = decode("ttn-v3", uplink({"bytes": {"co2": {"unit": "ppm", "values": [420, 421]}}}))
    assert [(o.key, o.value, o.unit) for o in decoded.observations] == [
        ("bytes.co2.values[0]", 420, "ppm"),
        ("bytes.co2.values[1]", 421, "ppm"),
    ]


def test_a_list_element_with_its_own_date_is_at_that_time() -> None:
    # Watteco batch reports: every sample carries its own ISO `date`.
    decoded = decode("ttn-v3", uplink({"data": [{"date": "2021-06-01T09:51:00Z", "label": "Humidity", "value": 40}]}))
    assert [(o.key, o.time) for o in decoded.observations] == [
        ("data[0].label", "2021-06-01T09:51:00Z"),
        ("data[0].value", "2021-06-01T09:51:00Z"),
    ]


def test_a_timestamp_object_is_no_time_and_no_decode_error() -> None:
    # Laird's backlog frames give `timestamp` as {year, month, ...}: its members are keys like any other.
    readings = [{"timestamp": {"year": 2015, "month": "January"}, "temperature": 21.5}]
    decoded = decode("ttn-v3", uplink({"readings": readings}))
    assert [(o.key, o.time) for o in decoded.observations] == [
        ("readings[0].timestamp.year", None),
        ("readings[0].timestamp.month", None),
        ("readings[0].temperature", None),
    ]


def test_cayennelpp_channel_keys_and_float32_values() -> None:
    got = process("ttn-v3", fixture("ttn_v3", "cayennelpp_fragment"), lab=LAB, topic=TOPIC.format(dev="lpp"))
    assert [(r.quantity, r.value) for r in got.result.readings] == [
        ("atmosphericPressure", 1017.5),
        ("temperature", 22.200000762939453),
    ]


def test_decentlab_units_and_exact_aliases_only() -> None:
    got = process("ttn-v3", fixture("ttn_v3", "decentlab_pm"), lab=LAB, topic=TOPIC.format(dev="dl"))
    quantities = {r.quantity: r.value for r in got.result.readings}
    assert quantities["atmosphericPressure"] == 968.0  # 96800 Pa
    assert quantities["pm25"] == 3.9  # the mass concentration, never pm2_5_number_concentration (30.1)
    assert "pm2_5_number_concentration" in got.result.unmapped_keys


def test_history_timestamp_out_of_range_is_named() -> None:
    with pytest.raises(DecodeError, match=r"history\[1\]\.timestamp: epoch time"):
        decode("ttn-v3", uplink({"history": [{"t": 1, "timestamp": 1}, {"t": 2, "timestamp": -5}]}))


def test_no_formatter_means_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="decoded_payload: missing"):
        decode("ttn-v3", json.dumps({"uplink_message": {"frm_payload": "AQ=="}}))


def test_a_null_from_the_payload_formatter_is_dead_lettered_not_dropped() -> None:
    uplink = {
        "end_device_ids": {"device_id": "em500-1"},
        "uplink_message": {"decoded_payload": {"temperature": None, "humidity": 50, "battery": None}},
    }
    result = process("ttn-v3", json.dumps(uplink), topic=TOPIC.format(dev="em500-1"), lab=LAB).result
    assert [r.quantity for r in result.readings] == ["relativeHumidity"]
    assert [(r.code, r.detail) for r in result.rejections] == [("not_a_number", "temperature: null is not a number")]
    assert result.unmapped_keys == ["battery"]


@pytest.mark.parametrize(
    ("version_ids", "model"),
    [
        (
            {"brand_id": "decentlab", "model_id": "dl-pm", "hardware_version": "1", "band_id": "EU_863_870"},
            "decentlab/dl-pm",
        ),
        ({"brand_id": "decentlab"}, None),
        ({"brand_id": "", "model_id": "dl-pm"}, None),
        ({"brand_id": 1, "model_id": "dl-pm"}, None),
        ("decentlab/dl-pm", None),
        (None, None),
    ],
)
def test_version_ids_name_the_device_model(version_ids: object, model: str | None) -> None:
    message = json.loads(uplink({"temperature": 1}))
    if version_ids is not None:
        message["uplink_message"]["version_ids"] = version_ids
    assert decode("ttn-v3", json.dumps(message)).device_model == model
