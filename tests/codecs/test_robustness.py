"""Property tests for every codec: hostile input only ever raises the codec's DecodeError.

Random bytes, random JSON, truncations and single-node mutations of each codec's own fixtures are
decoded with the topic and lab options of that fixture (so option-driven codecs are exercised too).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import DecodeContext, DecodeError, codecs, get_codec
from tests.codecs.support import (
    RECEIVED_NS,
    FixtureCase,
    dump,
    fixture_cases,
    folder_of,
    json_values,
    mutated_json,
    process,
    well_formed,
)
from tests.conftest import example_budget

FORMATS = sorted(codecs())
FUZZ = settings(max_examples=example_budget(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])


_CONTEXTS: dict[tuple[str, str], DecodeContext] = {}


def _context(format_name: str, case: FixtureCase) -> DecodeContext:
    """The case's topic and its own lab's options for this format (defaults when it has none)."""
    context = _CONTEXTS.get((format_name, case.id))
    if context is None:
        codec = get_codec(format_name)
        options = codec.options_model()
        sources = [s for s in case.lab.sources if s.format == format_name] if case.lab is not None else []
        if sources:
            options = codec.parse_options(sources[0].options)
        context = _CONTEXTS[(format_name, case.id)] = DecodeContext(
            topic=case.topic, received_ns=RECEIVED_NS, options=options
        )
    return context


def _decode_or_decode_error(format_name: str, payload: bytes, case: FixtureCase) -> None:
    codec = get_codec(format_name)
    try:
        decoded = codec.decode(payload, _context(format_name, case))
    except DecodeError as exc:
        assert str(exc), "a DecodeError must say what is wrong"
        return
    well_formed(decoded)


@cache
def _seeds(format_name: str) -> list[FixtureCase]:
    seeds = fixture_cases(folder_of(format_name))
    assert seeds, f"{format_name} has no testdata payloads to fuzz from"
    return seeds


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data(), payload=st.binary(max_size=300))
def test_random_bytes_raise_only_decode_error(format_name: str, data: st.DataObject, payload: bytes) -> None:
    case = data.draw(st.sampled_from(_seeds(format_name)))
    _decode_or_decode_error(format_name, payload, case)


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data(), document=json_values)
def test_random_json_raises_only_decode_error(format_name: str, data: st.DataObject, document: Any) -> None:
    case = data.draw(st.sampled_from(_seeds(format_name)))
    _decode_or_decode_error(format_name, dump(document), case)


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_fixtures_raise_only_decode_error(format_name: str, data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(_seeds(format_name)))
    payload = case.payload
    try:
        seed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Text formats (UltraLight): splice random text from the format's own alphabet into the payload.
        text = payload.decode()
        cut = data.draw(st.integers(0, len(text)))
        noise = data.draw(st.text(alphabet="|#:T-+.0123456789aZ %\n\x00é", max_size=12))
        _decode_or_decode_error(format_name, (text[:cut] + noise + text[cut:]).encode(), case)
        return
    _decode_or_decode_error(format_name, dump(data.draw(mutated_json(seed))), case)


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data())
def test_truncated_fixtures_raise_only_decode_error(format_name: str, data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(_seeds(format_name)))
    cut = data.draw(st.integers(0, max(0, len(case.payload) - 1)))
    _decode_or_decode_error(format_name, case.payload[:cut], case)


@pytest.mark.parametrize("format_name", FORMATS)
def test_truncated_fixture_is_a_decode_error_naming_the_problem(format_name: str) -> None:
    """Through the pipeline: half a JSON document (or a dangling UL pair) is a decode_error with a reason."""
    case = _seeds(format_name)[0]
    payload = case.payload
    truncated = payload[: len(payload) // 2].rstrip() if payload.lstrip()[:1] in (b"{", b"[") else b"t|"
    processed = process(format_name, truncated, topic=case.topic, lab=case.lab)
    assert processed.failure is not None
    assert processed.failure.code == "decode_error"
    assert processed.failure.detail.startswith(f"{format_name}: ")
    assert len(processed.failure.detail) > len(format_name) + 10


@pytest.mark.parametrize("format_name", FORMATS)
def test_oversized_payload_is_refused_before_decoding(format_name: str) -> None:
    case = _seeds(format_name)[0]
    payload = case.payload
    limit = len(payload) - 1
    processed = process(format_name, payload, topic=case.topic, lab=case.lab, max_payload=limit)
    assert processed.failure is not None
    assert processed.failure.code == "oversized"
    assert f"{len(payload)} bytes exceeds {limit}" in processed.failure.detail
    # One byte more room and the same payload decodes: the limit, not the content, refused it.
    assert process(format_name, payload, topic=case.topic, lab=case.lab, max_payload=limit + 1).failure is None


@pytest.mark.parametrize("format_name", FORMATS)
def test_other_formats_payloads_are_decode_errors_or_nothing_stored(format_name: str) -> None:
    """A payload of another format never crashes the codec; it fails with a reason or yields no readings."""
    for other in FORMATS:
        if other == format_name:
            continue
        for foreign in _seeds(other)[:2]:
            _decode_or_decode_error(format_name, foreign.payload, _seeds(format_name)[0])
