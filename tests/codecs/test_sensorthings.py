from __future__ import annotations

import json

import pytest

from adapters import DecodeContext, DecodeError, get_codec
from core.model import KeyMapping, KeyMeaning
from core.timeutil import parse_iso_ns
from hub.labs import LabConfigError, load_lab
from tests.codecs.support import ROOT, decode, fixture, process

LAB = "stavanger-sensorthings"


def topic(stream: object) -> str:
    return f"stavanger-sensorthings/v1.0/Datastreams({stream})/Observations"


def test_unit_and_quantity_come_from_the_datastream_map() -> None:
    got = process(
        "sensorthings", '{"phenomenonTime": "2026-02-10T08:00:00Z", "result": 20}', topic=topic(3), lab=LAB
    ).result.readings
    assert [(r.quantity, r.value, r.unit, r.device, r.lat) for r in got] == [
        ("no2", 38.2, "ug/m3", "torget-aq-1", 58.9705)
    ]


def test_interval_phenomenon_time_is_stamped_at_its_end() -> None:
    decoded = decode(
        "sensorthings",
        '{"phenomenonTime": "2026-02-10T07:00:00Z/2026-02-10T08:00:00Z", "result": 1}',
        topic=topic(1),
        lab=LAB,
    )
    assert decoded.observations[0].time == "2026-02-10T08:00:00Z"


def test_result_time_when_no_phenomenon_time_and_zoneless_is_lab_local() -> None:
    got = process("sensorthings", '{"resultTime": "2026-02-10T09:00:00", "result": "2.5"}', topic=topic(6), lab=LAB)
    assert got.result.readings[0].time_ns == parse_iso_ns("2026-02-10T08:00:00Z", None)
    assert got.result.readings[0].unit == "Cel"


def test_datastream_from_body_and_text_ids() -> None:
    decoded = decode(
        "sensorthings",
        '{"result": 5, "Datastream": {"@iot.id": 4}}',
        topic="stavanger-sensorthings/v1.0/Observations",
        lab=LAB,
    )
    assert (decoded.observations[0].key, decoded.device) == ("Datastreams(4)", "valand-aq-2")


def test_deep_insert_uses_the_inline_datastream() -> None:
    decoded = decode("sensorthings", fixture("sensorthings", "deep_insert"), topic="x/v1.0/Observations")
    observation = decoded.observations[0]
    assert (observation.key, observation.unit, decoded.device) == ("Luminous Flux", "degC", "Test Thing")
    assert (observation.lat, observation.lon) == (51.05, -114.05)


def test_unknown_datastream_is_a_decode_error_naming_it() -> None:
    processed = process("sensorthings", '{"result": 1}', topic=topic(99), lab=LAB)
    assert processed.failure is not None
    assert processed.failure.detail == (
        "sensorthings: Datastreams(99): not in the lab's datastream map (options.datastreams)"
    )


@pytest.mark.parametrize(
    ("payload", "stream", "message"),
    [
        ('{"phenomenonTime": "2026-02-10T08:00:00Z"}', 1, "Observation.result: missing"),
        ('{"result": null}', 1, "Observation.result: null"),
        ('{"result": 1, "phenomenonTime": 5}', 1, "Observation.phenomenonTime: expected an ISO 8601 time or interval"),
        ('{"result": 1, "phenomenonTime": "2026-02-10T07:00:00Z/"}', 1, "is not a start/end interval"),
        ('{"result": 1, "Datastream": {"@iot.id": 2}}', 1, "2 contradicts the topic's Datastreams\\(1\\)"),
        (
            '{"result": 1, "FeatureOfInterest": {"feature": {"type": "Point", "coordinates": ["a", 1]}}}',
            1,
            r"FeatureOfInterest.feature.coordinates: expected \[lon, lat\] numbers",
        ),
        ('[{"result": 1}]', 1, "Observation: expected a JSON object, got an array"),
        ('{"result": 1', 1, "Observation is not valid JSON"),
    ],
)
def test_bad_input_names_the_member(payload: str, stream: int, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("sensorthings", payload, topic=topic(stream), lab=LAB)


def test_no_datastream_at_all() -> None:
    with pytest.raises(DecodeError, match="no datastream"):
        decode("sensorthings", json.dumps({"result": 1}), topic="stavanger-sensorthings/v1.0/Observations")


def test_datastream_map_is_checked_when_the_lab_loads(tmp_path) -> None:
    text = (ROOT / "labs" / f"{LAB}.yaml").read_text().replace("quantity: no2, unit: ppb", "quantity: no2, unit: K")
    bad = tmp_path / f"{LAB}.yaml"
    bad.write_text(text)
    with pytest.raises(
        LabConfigError, match=r"sources\.0\.options\.datastreams\.3\.unit: 'K' can't be converted for no2"
    ):
        load_lab(bad)
    bad.write_text(text.replace("quantity: no2, unit: K", "quantity: smell"))
    with pytest.raises(
        LabConfigError, match=r"sources\.0\.options\.datastreams\.3\.quantity: unknown quantity 'smell'"
    ):
        load_lab(bad)


def test_the_codec_declares_the_map_and_emits_the_datastream_as_key() -> None:
    codec = get_codec("sensorthings")
    options = codec.parse_options({"datastreams": {3: {"quantity": "no2", "unit": "ppb", "device": "aq-1"}}})
    assert codec.option_mappings(options) == (KeyMapping("Datastreams(3)", KeyMeaning("no2", "ppb"), "datastreams.3"),)
    decoded = codec.decode(b'{"result": 20}', DecodeContext(topic=topic(3), options=options))
    # The map's unit reaches the normaliser through the mapping, not as a unit the payload stated.
    assert [(o.key, o.value, o.unit) for o in decoded.observations] == [("Datastreams(3)", 20, None)]
