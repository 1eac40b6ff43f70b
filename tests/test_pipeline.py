"""hub.pipeline: payload bytes to readings, codec then normaliser, with whole-message failures as rejections."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import hub.pipeline
from core.codec import Codec, DecodeContext
from core.model import DecodedMessage, RawObservation, RejectCode
from hub.labs import LabConfig
from hub.pipeline import DEFAULT_MAX_PAYLOAD, Pipeline
from hub.routing import Router

RECEIVED = 1_772_366_400_000_000_000  # 2026-03-01T12:00:00Z
LAB = LabConfig.model_validate(
    {
        "lab": "pipe-lab",
        "city": "oslo",
        "name": "Pipe Lab",
        "city_name": "Oslo",
        "country": "NO",
        "timezone": "Europe/Oslo",
        "location": {"lat": 59.91, "lon": 10.75},
        "sources": [
            {
                "topic": "pipe-lab/air/+",
                "format": "json",
                "device_topic_level": 2,
                "options": {"values": [{"path": "t", "quantity": "temperature", "unit": "F"}]},
            },
            {"topic": "pipe-lab/senml/+", "format": "senml", "device_topic_level": 2},
        ],
    }
)
AIR, SENML = LAB.sources


def test_decodes_and_normalises_with_the_sources_options_and_mappings() -> None:
    processed = Pipeline().process(
        b'{"t": 50, "x": 1}', format_name="json", received_ns=RECEIVED, topic="pipe-lab/air/s-1", lab=LAB, source=AIR
    )
    assert processed.failure is None and processed.format_name == "json"
    [reading] = processed.result.readings
    assert (reading.city, reading.lab, reading.device, reading.quantity, reading.value) == (
        "oslo",
        "pipe-lab",
        "s-1",
        "temperature",
        10.0,
    )
    assert reading.time_ns == RECEIVED


def test_readings_rejections_and_unmapped_keys_pass_through() -> None:
    pack = (
        b'[{"bn": "d1:", "bt": 1772366000, "n": "temperature", "v": 300},'
        b' {"n": "humidity", "v": 40}, {"n": "rssi", "v": -80}]'
    )
    processed = Pipeline().process(pack, format_name="senml", received_ns=RECEIVED, lab=LAB, source=SENML)
    assert [r.quantity for r in processed.result.readings] == ["relativeHumidity"]
    assert [r.code for r in processed.result.rejections] == [RejectCode.OUT_OF_RANGE]
    assert processed.result.unmapped_keys == ["rssi"]


def test_oversized_payloads_are_refused_before_decoding() -> None:
    processed = Pipeline(max_payload=10).process(b"[" + b" " * 10 + b"]", format_name="senml", received_ns=RECEIVED)
    assert processed.failure is not None
    assert (processed.failure.code, processed.failure.detail) == (
        RejectCode.OVERSIZED,
        "payload of 12 bytes exceeds 10",
    )
    assert Pipeline().max_payload == DEFAULT_MAX_PAYLOAD


def test_a_decode_error_is_a_whole_message_failure_naming_the_format() -> None:
    processed = Pipeline().process(b"{not json", format_name="senml", received_ns=RECEIVED)
    assert processed.failure is not None and processed.failure.code == RejectCode.DECODE_ERROR
    assert processed.failure.detail.startswith("senml: SenML pack is not valid JSON")
    assert processed.result.readings == [] and processed.result.rejections == []


class _Recursing(Codec):
    name = "senml"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        raise RecursionError


def test_runaway_nesting_is_a_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub.pipeline, "get_codec", lambda name: _Recursing())
    processed = Pipeline().process(b"[]", format_name="senml", received_ns=RECEIVED)
    assert processed.failure is not None
    assert (processed.failure.code, processed.failure.detail) == (RejectCode.DECODE_ERROR, "senml: nested too deeply")


class _Recording(Codec):
    name = "json"

    def __init__(self) -> None:
        self.options: list[BaseModel] = []

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        self.options.append(context.options)
        return DecodedMessage((RawObservation("t", 1),), device="d")

    def parse_options(self, options: dict[str, Any]) -> BaseModel:
        from adapters import get_codec

        return get_codec("json").parse_options(options)


def test_codec_options_are_parsed_once_per_source(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = _Recording()
    monkeypatch.setattr(hub.pipeline, "get_codec", lambda name: codec)
    pipeline = Pipeline()
    for _ in range(3):
        pipeline.process(b"{}", format_name="json", received_ns=RECEIVED, lab=LAB, source=AIR)
    assert len(codec.options) == 3
    assert all(options is AIR.codec_options for options in codec.options)
    # Without a source the codec reads with its default options.
    pipeline.process(b"{}", format_name="json", received_ns=RECEIVED)
    assert codec.options[-1] == codec.options_model()


def test_process_routed_uses_the_routes_format_lab_and_source() -> None:
    route = Router({"pipe-lab": LAB}).route("pipe-lab/senml/node-7")
    assert route is not None
    processed = Pipeline().process_routed(
        route, b'[{"n": "temperature", "v": 4.5}]', topic="pipe-lab/senml/node-7", received_ns=RECEIVED
    )
    assert processed.format_name == "senml"
    [reading] = processed.result.readings
    assert (reading.lab, reading.device, reading.value, reading.lat) == ("pipe-lab", "node-7", 4.5, 59.91)
