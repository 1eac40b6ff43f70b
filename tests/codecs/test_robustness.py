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
    dump,
    fixture_cases,
    folder_of,
    json_values,
    mutated_json,
    process,
    source_for,
    well_formed,
)

FORMATS = sorted(codecs())
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _context(format_name: str, meta: dict[str, Any]) -> DecodeContext:
    return _cached_context(format_name, meta.get("lab"), meta.get("topic", ""))


@cache
def _cached_context(format_name: str, lab: str | None, topic: str) -> DecodeContext:
    codec = get_codec(format_name)
    options = codec.options_model()
    if lab is not None:
        options = codec.parse_options(source_for(lab, format_name, topic).options)
    return DecodeContext(topic=topic, received_ns=RECEIVED_NS, options=options)


def _decode_or_decode_error(format_name: str, payload: bytes, meta: dict[str, Any]) -> None:
    codec = get_codec(format_name)
    try:
        decoded = codec.decode(payload, _context(format_name, meta))
    except DecodeError as exc:
        assert str(exc), "a DecodeError must say what is wrong"
        return
    well_formed(decoded)


@cache
def _seeds(format_name: str) -> list[tuple[bytes, dict[str, Any]]]:
    seeds = fixture_cases(folder_of(format_name))
    assert seeds, f"{format_name} has no testdata payloads to fuzz from"
    return seeds


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data(), payload=st.binary(max_size=300))
def test_random_bytes_raise_only_decode_error(format_name: str, data: st.DataObject, payload: bytes) -> None:
    _, meta = data.draw(st.sampled_from(_seeds(format_name)))
    _decode_or_decode_error(format_name, payload, meta)


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data(), document=json_values)
def test_random_json_raises_only_decode_error(format_name: str, data: st.DataObject, document: Any) -> None:
    _, meta = data.draw(st.sampled_from(_seeds(format_name)))
    _decode_or_decode_error(format_name, dump(document), meta)


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_fixtures_raise_only_decode_error(format_name: str, data: st.DataObject) -> None:
    payload, meta = data.draw(st.sampled_from(_seeds(format_name)))
    try:
        seed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Text formats (UltraLight): splice random text from the format's own alphabet into the payload.
        text = payload.decode()
        cut = data.draw(st.integers(0, len(text)))
        noise = data.draw(st.text(alphabet="|#:T-+.0123456789aZ %\n\x00é", max_size=12))
        _decode_or_decode_error(format_name, (text[:cut] + noise + text[cut:]).encode(), meta)
        return
    _decode_or_decode_error(format_name, dump(data.draw(mutated_json(seed))), meta)


@pytest.mark.parametrize("format_name", FORMATS)
@FUZZ
@given(data=st.data())
def test_truncated_fixtures_raise_only_decode_error(format_name: str, data: st.DataObject) -> None:
    payload, meta = data.draw(st.sampled_from(_seeds(format_name)))
    cut = data.draw(st.integers(0, max(0, len(payload) - 1)))
    _decode_or_decode_error(format_name, payload[:cut], meta)


@pytest.mark.parametrize("format_name", FORMATS)
def test_truncated_fixture_is_a_decode_error_naming_the_problem(format_name: str) -> None:
    """Through the pipeline: half a JSON document (or a dangling UL pair) is a decode_error with a reason."""
    payload, meta = _seeds(format_name)[0]
    truncated = payload[: len(payload) // 2].rstrip() if payload.lstrip()[:1] in (b"{", b"[") else b"t|"
    processed = process(format_name, truncated, topic=meta.get("topic", ""), lab=meta.get("lab"))
    assert processed.failure is not None
    assert processed.failure.code == "decode_error"
    assert processed.failure.detail.startswith(f"{format_name}: ")
    assert len(processed.failure.detail) > len(format_name) + 10


@pytest.mark.parametrize("format_name", FORMATS)
def test_oversized_payload_is_refused_before_decoding(format_name: str) -> None:
    payload, meta = _seeds(format_name)[0]
    limit = len(payload) - 1
    processed = process(format_name, payload, topic=meta.get("topic", ""), lab=meta.get("lab"), max_payload=limit)
    assert processed.failure is not None
    assert processed.failure.code == "oversized"
    assert f"{len(payload)} bytes exceeds {limit}" in processed.failure.detail
    # One byte more room and the same payload decodes: the limit, not the content, refused it.
    assert (
        process(format_name, payload, topic=meta.get("topic", ""), lab=meta.get("lab"), max_payload=limit + 1).failure
        is None
    )


@pytest.mark.parametrize("format_name", FORMATS)
def test_other_formats_payloads_are_decode_errors_or_nothing_stored(format_name: str) -> None:
    """A payload of another format never crashes the codec; it fails with a reason or yields no readings."""
    for other in FORMATS:
        if other == format_name:
            continue
        for payload, _ in _seeds(other)[:2]:
            _, meta = _seeds(format_name)[0]
            _decode_or_decode_error(format_name, payload, meta)
