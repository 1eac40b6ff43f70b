"""One MQTT message in, one envelope out: its readings as line protocol and its dead letters.

The ingest service and dead-letter replay both translate with ``envelope_for``, so a message
replayed after a fix becomes exactly what it would have become on arrival. City and lab come
from the route (the topic), never from the payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from core.model import Reading, RejectCode, UnmappedKey
from hub.deadletters.store import DeadLetter
from hub.labs import LabConfig
from hub.normalise import Normaliser
from hub.pipeline import Pipeline, Processed
from hub.routing import Route, Router
from hub.store.line_protocol import readings_to_lines


class InboundMessage(NamedTuple):
    """An MQTT message as it arrived. ``mid`` and ``qos`` acknowledge it; a replayed message has neither.

    A NamedTuple, as one is made per message on paho's network thread (see core/model.py)."""

    topic: str
    payload: bytes
    received_ns: int
    mid: int = 0
    qos: int = 0


@dataclass(slots=True)
class Envelope:
    """Everything one message produced, and the message itself.

    The message travels with its lines: it is what gets acknowledged once they are stored,
    and every line (a reading) can be traced back to the topic and bytes it came from.
    """

    message: InboundMessage
    lab: str | None = None
    codec: str | None = None
    lines: list[str] = field(default_factory=list)
    # The readings behind ``lines``, one each, in the same order (for the NGSI-LD forwarder once they are stored).
    readings: list[Reading] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # Keys no layer of the key resolver knows, with a value each, and the device model they came
    # from: what the unmapped-key store records for the operator (hub/unmapped).
    unmapped: list[UnmappedKey] = field(default_factory=list)
    # Keys read only by a fallback guess (no profile for the device): stored, and shown to the operator.
    guessed: list[UnmappedKey] = field(default_factory=list)
    device_model: str | None = None

    @property
    def unmapped_keys(self) -> list[str]:
        return [item.key for item in self.unmapped]

    @property
    def mid(self) -> int:
        return self.message.mid

    @property
    def qos(self) -> int:
        return self.message.qos

    @property
    def topic(self) -> str:
        return self.message.topic


def unrouted_envelope(message: InboundMessage) -> Envelope:
    """A message on a topic no lab source claims: one ``no_source`` dead letter."""
    letter = _letter(message, None, None, RejectCode.NO_SOURCE, "topic matches no lab source")
    return Envelope(message, dead_letters=[letter])


def envelope_for(message: InboundMessage, route: Route, processed: Processed) -> Envelope:
    """The envelope for a routed message the pipeline processed: a line per reading, a dead letter per rejection
    (or one for the whole message when it could not be decoded at all)."""
    lab, codec = route.lab.lab, route.source.format
    result = processed.result
    dead_letters = [_letter(message, lab, codec, rejection.code, rejection.detail) for rejection in result.rejections]
    if processed.failure is not None:
        dead_letters.insert(0, _letter(message, lab, codec, processed.failure.code, processed.failure.detail))
    # The result is this message's alone: its lists become the envelope's without a copy.
    return Envelope(
        message,
        lab,
        codec,
        readings_to_lines(result.readings),
        result.readings,
        dead_letters,
        result.unmapped,
        result.guessed,
        result.profile or result.device_model,
    )


def _letter(message: InboundMessage, lab: str | None, codec: str | None, code: str, reason: str) -> DeadLetter:
    payload = message.payload
    return DeadLetter(message.received_ns, message.topic, lab, codec, code, reason, payload, len(payload))


class MessageTranslator:
    """Route, decode and normalise a message into its envelope. Pure CPU work: any thread, no I/O."""

    def __init__(self, labs: dict[str, LabConfig], *, max_payload_bytes: int) -> None:
        self.router = Router(labs)
        self.pipeline = Pipeline(Normaliser(), max_payload=max_payload_bytes)

    @property
    def topic_filters(self) -> list[str]:
        """Every lab source's topic filter: what an ingest client subscribes to."""
        return self.router.topic_filters

    def translate(self, message: InboundMessage) -> Envelope:
        route = self.router.route(message.topic)
        if route is None:
            return unrouted_envelope(message)
        processed = self.pipeline.process_routed(
            route, message.payload, topic=message.topic, received_ns=message.received_ns
        )
        return envelope_for(message, route, processed)
