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
        ("history.humidity", 46.5, 1665561758 * 10**9),
        ("history.temperature", 27.2, 1665561758 * 10**9),
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


def test_arrays_without_per_entry_timestamps_are_still_skipped() -> None:
    decoded = decode("ttn-v3", uplink({"temperature": 3, "raw": [1, 2, 3], "list": [{"temperature": 4}]}))
    assert [o.key for o in decoded.observations] == ["temperature"]


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


def test_history_timestamp_of_the_wrong_type_is_named() -> None:
    with pytest.raises(DecodeError, match=r"history\[1\]\.timestamp: expected an epoch number"):
        decode("ttn-v3", uplink({"history": [{"t": 1, "timestamp": 1}, {"t": 2, "timestamp": None}]}))


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
