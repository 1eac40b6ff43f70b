"""One message in, one envelope out: lines, dead letters and the message itself, as ingest and replay see them."""

from __future__ import annotations

import pytest

from core.model import RejectCode
from hub.ingest.envelope import InboundMessage, MessageTranslator, envelope_for, unrouted_envelope
from hub.labs import load_labs
from tests.conftest import LABS_DIR
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink

RECEIVED_NS = 1_772_359_300_000_000_000
GATEWAY_NS = 1_772_359_200_000_000_000  # 2026-03-01T10:00:00Z
TOPIC = AARHUS_TOPIC.format(device="lamp-7")


@pytest.fixture(scope="module")
def translator() -> MessageTranslator:
    return MessageTranslator(load_labs(LABS_DIR), max_payload_bytes=4096)


def message(payload: bytes, topic: str = TOPIC) -> InboundMessage:
    return InboundMessage(topic, payload, RECEIVED_NS, mid=5, qos=1)


def test_readings_become_lines_and_rejections_dead_letters_with_the_message(translator: MessageTranslator) -> None:
    payload = ttn_uplink("lamp-7", {"temperature": 21.5, "humidity": 140, "mystery_key": 3}, "2026-03-01T10:00:00Z")
    inbound = message(payload)
    envelope = translator.translate(inbound)

    assert envelope.message is inbound
    assert (envelope.mid, envelope.qos, envelope.topic) == (5, 1, TOPIC)
    assert (envelope.lab, envelope.codec) == ("aarhus-city-lab", "ttn-v3")
    (line,) = envelope.lines
    # City, lab and device come from the topic; the payload's device id is not used.
    assert line.startswith("temperature,city=aarhus,device=lamp-7,lab=aarhus-city-lab value=21.5")
    assert line.endswith(f" {GATEWAY_NS}")
    (letter,) = envelope.dead_letters
    assert (letter.received_ns, letter.topic, letter.lab, letter.codec) == (
        RECEIVED_NS,
        TOPIC,
        "aarhus-city-lab",
        "ttn-v3",
    )
    assert letter.reason_code == RejectCode.OUT_OF_RANGE
    assert "relativeHumidity 140 %" in letter.reason
    assert (letter.payload, letter.payload_size) == (payload, len(payload))
    assert envelope.unmapped_keys == ["mystery_key"]


def test_an_undecodable_message_is_one_dead_letter(translator: MessageTranslator) -> None:
    envelope = translator.translate(message(b'{"uplink_message": {"decoded_payload": '))
    assert envelope.lines == []
    (letter,) = envelope.dead_letters
    assert (letter.lab, letter.codec, letter.reason_code) == ("aarhus-city-lab", "ttn-v3", RejectCode.DECODE_ERROR)
    assert "not valid JSON" in letter.reason


def test_an_oversized_message_is_refused_before_decoding(translator: MessageTranslator) -> None:
    payload = b"x" * 4097
    envelope = translator.translate(message(payload))
    (letter,) = envelope.dead_letters
    assert letter.reason_code == RejectCode.OVERSIZED
    assert letter.payload_size == 4097


def test_a_topic_no_lab_claims_is_a_no_source_dead_letter(translator: MessageTranslator) -> None:
    inbound = message(b"{}", topic="nobody/claims/this")
    envelope = translator.translate(inbound)
    assert envelope == unrouted_envelope(inbound)
    assert (envelope.lab, envelope.codec, envelope.lines) == (None, None, [])
    (letter,) = envelope.dead_letters
    assert (letter.topic, letter.lab, letter.reason_code) == ("nobody/claims/this", None, RejectCode.NO_SOURCE)


def test_replay_and_ingest_share_one_translation(translator: MessageTranslator) -> None:
    """Replay routes and processes itself (it must tell a whole-message failure apart), then calls envelope_for."""
    inbound = message(ttn_uplink("x", {"temperature": 3.0, "humidity": -5}, "2026-03-01T10:00:00Z"))
    route = translator.router.route(inbound.topic)
    assert route is not None
    processed = translator.pipeline.process_routed(
        route, inbound.payload, topic=inbound.topic, received_ns=inbound.received_ns
    )
    assert envelope_for(inbound, route, processed) == translator.translate(inbound)


def test_subscribes_to_every_lab_source(translator: MessageTranslator) -> None:
    labs = load_labs(LABS_DIR)
    assert translator.topic_filters == [source.topic for lab in labs.values() for source in lab.sources]
    assert AARHUS_TOPIC.format(device="+") in translator.topic_filters
