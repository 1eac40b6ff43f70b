from __future__ import annotations

import pytest

from adapters import DecodeError
from tests.codecs.support import RECEIVED_NS, decode, process

LAB = "oslo-urban-lab"
TOPIC = "oslo-urban-lab/senml/gw-1"


def test_unit_named_records_and_base_name_device() -> None:
    got = process(
        "senml",
        '[{"bn": "urn:dev:mac:0024befffe804ff1:", "bt": 1772362800, "n": "temp", "u": "Cel", '
        '"v": 3.5}, {"n": "hum", "u": "%RH", "v": 81}]',
        topic=TOPIC,
        lab=LAB,
    )
    # "temp" is an alias; "hum" is not a known key, so it is unmapped rather than guessed.
    assert [(r.quantity, r.value, r.device) for r in got.result.readings] == [
        ("temperature", 3.5, "urn:dev:mac:0024befffe804ff1")
    ]
    assert got.result.unmapped_keys == ["hum"]


def test_relative_times_count_from_the_receive_time() -> None:
    decoded = decode("senml", '[{"bn": "d:", "n": "temperature", "t": -60, "v": 1}]')
    assert decoded.observations[0].time == RECEIVED_NS - 60 * 10**9


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('[{"bn": "x:", "bt": 1e308, "n": "temperature", "t": 1e308, "v": 1}]', r"record 0: time inf s \(bt \+ t\)"),
        ('[{"n": "temperature", "v": "1"}]', "record 0.v: expected a number, got a string"),
        ('[{"n": "temperature", "v": 1, "x_": 1}]', "record 0: must-understand field 'x_'"),
        ('[{"v": 1}]', r"record 0: no name \(neither bn nor n\)"),
        ("[]", "SenML pack: expected a non-empty array of records, got an array"),
        ('[{"n": "t", "v": 1', "SenML pack is not valid JSON"),
    ],
)
def test_bad_packs_name_the_record_and_field(payload: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("senml", payload)
