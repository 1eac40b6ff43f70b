"""The hot path builds its NamedTuples with ``new_tuple`` (``tuple.__new__``), which checks nothing: a field
added to ``RawObservation``, ``Reading`` or ``UnmappedKey`` and forgotten at one of those places would make
short tuples whose missing field fails only when read. Every codec fixture, decoded and normalised, must give
whole ones."""

from __future__ import annotations

import pytest

from adapters import DecodeContext, get_codec
from core.model import RawObservation, Reading, UnmappedKey
from hub.pipeline import _options_for
from tests.codecs.support import _lab_and_source, process
from tests.test_codec_fixtures import CASES, FixtureCase


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_codecs_and_the_normaliser_build_whole_tuples(case: FixtureCase) -> None:
    _lab, source = _lab_and_source(case.lab, case.format_name, case.topic)
    codec = get_codec(case.format_name)
    options = source.codec_options if source is not None and source.codec_options is not None else None
    decoded = codec.decode(
        case.payload, DecodeContext(case.topic, case.received_ns, options or _options_for(codec, source))
    )
    for observation in (*decoded.observations, *decoded.native):
        assert len(observation) == len(RawObservation._fields), observation

    result = process(
        case.format_name, case.payload, topic=case.topic, lab=case.lab, received_ns=case.received_ns
    ).result
    assert all(len(reading) == len(Reading._fields) for reading in result.readings)
    assert all(len(item) == len(UnmappedKey._fields) for item in (*result.unmapped, *result.guessed))
