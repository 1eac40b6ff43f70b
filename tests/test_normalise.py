from __future__ import annotations

from pathlib import Path

import pytest

from core.model import DecodedMessage, RawObservation, RejectCode
from core.timeutil import ns_to_rfc3339, parse_iso_ns
from hub.labs import LabConfig, load_lab
from hub.normalise import Normaliser

ROOT = Path(__file__).resolve().parent.parent
AARHUS = load_lab(ROOT / "labs" / "aarhus-city-lab.yaml")
RECEIVED = parse_iso_ns("2026-03-01T12:00:00Z", None)
NORMALISER = Normaliser()


def run(
    *observations: RawObservation,
    lab: LabConfig | None = AARHUS,
    topic: str = "",
    fmt: str = "ttn-v3",
    device: str | None = "dev-1",
    gateway_time: str | None = None,
):
    decoded = DecodedMessage(observations=observations, device=device, gateway_time=gateway_time)
    source = lab.sources[0] if lab is not None else None
    return NORMALISER.normalise(decoded, received_ns=RECEIVED, format_name=fmt, lab=lab, source=source, topic=topic)


def test_city_and_lab_come_from_config_and_topic_sets_the_device() -> None:
    result = run(
        RawObservation("temperature", 21.5, device="payload-device"), topic="v3/aarhus-city-lab@ttn/devices/lamp-3/up"
    )
    [reading] = result.readings
    assert (reading.city, reading.lab, reading.device) == ("aarhus", "aarhus-city-lab", "lamp-3")
    assert (reading.quantity, reading.value, reading.unit) == ("temperature", 21.5, "Cel")


def test_lab_mapping_beats_aliases_and_converts_its_unit() -> None:
    result = run(RawObservation("level_cm", 140))
    [reading] = result.readings
    assert (reading.quantity, reading.value, reading.unit) == ("waterLevel", 1.4, "m")


def test_payload_unit_beats_defaults() -> None:
    [reading] = run(RawObservation("temperature", 86, unit="°F")).readings
    assert reading.value == 30.0


def test_format_default_unit_turns_sdm_fractions_into_percent() -> None:
    [reading] = run(RawObservation("relativeHumidity", 0.54), fmt="ngsi-ld").readings
    assert reading.value == 54.0


def test_numeric_strings_are_numbers_and_words_are_rejected() -> None:
    result = run(
        RawObservation("temperature", " 7.5 "),
        RawObservation("humidity", "wet"),
        RawObservation("pm10", True),
        RawObservation("pm25", float("nan")),
    )
    assert [r.value for r in result.readings] == [7.5]
    assert [r.code for r in result.rejections] == [RejectCode.NOT_A_NUMBER] * 3


def test_implausible_values_are_rejected_with_a_reason() -> None:
    result = run(RawObservation("humidity", 140), RawObservation("temperature", 300, unit="Cel"))
    assert [r.code for r in result.rejections] == [RejectCode.OUT_OF_RANGE] * 2
    assert "relativeHumidity 140 % is outside 0..100" in result.rejections[0].detail
    assert "300" in result.rejections[1].detail


def test_unconvertible_unit_is_rejected() -> None:
    [rejection] = run(RawObservation("temperature", 20, unit="Pa")).rejections
    assert rejection.code == RejectCode.UNKNOWN_UNIT
    assert "'Pa'" in rejection.detail


def test_unknown_keys_are_counted_not_rejected() -> None:
    result = run(RawObservation("battery", 3.1), RawObservation("pm2_5_number_concentration", 12))
    assert result.readings == []
    assert result.rejections == []
    assert result.unmapped_keys == ["battery", "pm2_5_number_concentration"]


def test_time_preference_payload_then_gateway_then_receive() -> None:
    result = run(
        RawObservation("temperature", 1, time="2026-03-01T11:00:00Z"),
        RawObservation("temperature", 2),
        gateway_time="2026-03-01T11:30:00.123Z",
    )
    assert [ns_to_rfc3339(r.time_ns) for r in result.readings] == ["2026-03-01T11:00:00Z", "2026-03-01T11:30:00.123Z"]
    [reading] = run(RawObservation("temperature", 3)).readings
    assert reading.time_ns == RECEIVED


def test_zoneless_time_uses_the_lab_timezone() -> None:
    [reading] = run(RawObservation("temperature", 1, time="2026-03-01T12:00:00")).readings
    assert ns_to_rfc3339(reading.time_ns) == "2026-03-01T11:00:00Z"  # Copenhagen is UTC+1 in March
    [reading] = run(RawObservation("temperature", 1, time="2026-03-01T12:00:00"), lab=None).readings
    assert ns_to_rfc3339(reading.time_ns) == "2026-03-01T12:00:00Z"


def test_epoch_times_in_text_and_integer_ns() -> None:
    result = run(
        RawObservation("temperature", 1, time="1772366400"), RawObservation("temperature", 2, time=1772366400123456789)
    )
    assert [ns_to_rfc3339(r.time_ns) for r in result.readings] == [
        "2026-03-01T12:00:00Z",
        "2026-03-01T12:00:00.123456789Z",
    ]


@pytest.mark.parametrize(
    ("time", "code"),
    [
        ("2026-03-01T13:00:00Z", RejectCode.TIME_IN_FUTURE),
        ("1970-01-01T00:00:01Z", RejectCode.TIME_TOO_OLD),
        ("soon", RejectCode.BAD_TIME),
    ],
)
def test_impossible_times_are_rejected(time: str, code: str) -> None:
    [rejection] = run(RawObservation("temperature", 1, time=time)).rejections
    assert rejection.code == code


@pytest.mark.parametrize(
    ("device", "code"),
    [
        (None, RejectCode.NO_DEVICE),
        ("a\nb", RejectCode.BAD_DEVICE),
        ("back\\slash", RejectCode.BAD_DEVICE),
        ("x" * 129, RejectCode.BAD_DEVICE),
    ],
)
def test_device_ids_must_exist_and_be_storable(device: str | None, code: str) -> None:
    [rejection] = run(RawObservation("temperature", 1), device=device, lab=None).rejections
    assert rejection.code == code


def test_location_from_observation_then_message_then_lab() -> None:
    result = run(RawObservation("temperature", 1, lat=56.0, lon=10.0), RawObservation("co2", 420))
    assert [(r.lat, r.lon) for r in result.readings] == [(56.0, 10.0), (56.1572, 10.2107)]


def test_a_second_value_for_the_same_point_is_refused_and_a_repeat_is_one_reading() -> None:
    result = run(RawObservation("co2", 420), RawObservation("co2", 420), RawObservation("co2", 430))
    assert [(r.quantity, r.value) for r in result.readings] == [("co2", 420.0)]
    assert [(r.code, r.key) for r in result.rejections] == [("same_time", "co2")]
