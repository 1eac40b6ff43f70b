"""Re-run dead letters through today's codecs and lab configs (e.g. after a mapping fix).

A message can leave several dead letters (one per rejected reading), so letters are grouped by
the message they came from and each message is decoded once, at its original receive time.
Every letter holds its original message, so every letter can be replayed: one the normaliser
refused, and one InfluxDB refused (``store_rejected``, after a field type conflict is resolved).

The messages' readings are written first (hub/store/delivery.py: InfluxDB may refuse some of them
again, precisely). Then a letter is resolved when its message now decodes and its own rejection
(the same code and reason) did not occur again; a rejection that was not stored before becomes a
new dead letter, so nothing disappears unrecorded. If InfluxDB can't be written at all, nothing is
removed. A dry run decodes and reports, and writes and removes nothing; it can't know whether
InfluxDB would take what it refused before, so it counts those letters as ones that would resolve.

A message is translated exactly as ingest translates it on arrival (hub/ingest/envelope.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from core.model import RejectCode
from hub.deadletters.store import DeadLetter, rejected_reading_reason
from hub.deadletters.stores import store_number
from hub.ingest.envelope import Envelope, InboundMessage, MessageTranslator, envelope_for
from hub.labs import LabConfig
from hub.settings import Settings
from hub.store.delivery import write_exactly
from hub.store.writers import writer_from_settings


class LetterStore(Protocol):
    """One store (``DeadLetterStore``) or every store under a data directory (``DeadLetterStores``)."""

    def settle(self, resolved: list[int], added: list[tuple[int | None, DeadLetter]]) -> None: ...


@dataclass(slots=True)
class ReplayOutcome:
    selected: int = 0
    decoded: int = 0
    readings: int = 0  # readings the selected messages now decode into
    readings_written: int = 0  # of those, stored in InfluxDB by this replay (0 on a dry run)
    new_dead_letters: int = 0
    still_failing_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def still_failing(self) -> int:
        return sum(self.still_failing_reasons.values())


@dataclass(slots=True)
class _Message:
    letters: list[DeadLetter]
    envelope: Envelope


def replay(
    letters: list[DeadLetter],
    *,
    labs: dict[str, LabConfig],
    settings: Settings,
    store: LetterStore,
    dry_run: bool,
) -> ReplayOutcome:
    """Letters may come from several stores (``DeadLetterStores``): every reading is written first, in one
    ``write_exactly``; then each store is told what to remove and add, so a failed write changes no store."""
    outcome = ReplayOutcome(selected=len(letters))
    messages = _decode(letters, labs, settings, outcome)
    lines = [line for message in messages for line in message.envelope.lines]
    outcome.readings = len(lines)
    if not dry_run and lines:
        owners = [position for position, message in enumerate(messages) for _ in message.envelope.lines]
        writer = writer_from_settings(settings)
        try:
            rejections = write_exactly(writer, lines)  # raises before any letter is touched
        finally:
            writer.close()
        outcome.readings_written = len(lines) - len(rejections)
        for rejection in rejections:
            owner = messages[owners[rejection.index]]
            owner.envelope.dead_letters.append(
                DeadLetter(
                    received_ns=owner.envelope.message.received_ns,
                    topic=owner.envelope.message.topic,
                    lab=owner.envelope.lab,
                    codec=owner.envelope.codec,
                    reason_code=RejectCode.STORE_REJECTED,
                    reason=rejected_reading_reason(lines[rejection.index], rejection.status, rejection.reason),
                    payload=owner.envelope.message.payload,
                )
            )
    resolved: list[int] = []
    new_letters: list[tuple[int | None, DeadLetter]] = []
    for message in messages:
        remaining = {(letter.reason_code, letter.reason) for letter in message.envelope.dead_letters}
        stored = {(letter.reason_code, letter.reason) for letter in message.letters}
        for letter in message.letters:
            if (letter.reason_code, letter.reason) in remaining:
                outcome.still_failing_reasons[letter.reason_code] += 1
            elif letter.id is not None:
                resolved.append(letter.id)
        # A new rejection goes to the store its message's letters are in.
        beside = message.letters[0].id
        new_letters.extend(
            (beside, letter)
            for letter in message.envelope.dead_letters
            if (letter.reason_code, letter.reason) not in stored
        )
    outcome.decoded = len(resolved)
    outcome.new_dead_letters = len(new_letters)
    if not dry_run:
        store.settle(resolved, new_letters)
    return outcome


def _decode(
    letters: list[DeadLetter], labs: dict[str, LabConfig], settings: Settings, outcome: ReplayOutcome
) -> list[_Message]:
    """Each distinct message the letters came from, translated as ingest would translate it today."""
    translator = MessageTranslator(labs, max_payload_bytes=settings.max_payload_bytes)
    # Per store too: each store settles its own letters.
    groups: dict[tuple[int, int, str, bytes], list[DeadLetter]] = {}
    for letter in letters:
        origin = store_number(letter.id) if letter.id is not None else 0
        groups.setdefault((origin, letter.received_ns, letter.topic, letter.payload), []).append(letter)
    messages: list[_Message] = []
    for (_origin, received_ns, topic, payload), group in groups.items():
        route = translator.router.route(topic)
        # Letters stored before payloads were kept whole may hold only the start of an oversized payload.
        truncated = any(0 <= letter.payload_size != len(letter.payload) for letter in group)
        if route is None or truncated:
            outcome.still_failing_reasons.update(letter.reason_code for letter in group)
            continue
        processed = translator.pipeline.process_routed(route, payload, topic=topic, received_ns=received_ns)
        if processed.failure is not None:
            outcome.still_failing_reasons.update(letter.reason_code for letter in group)
            continue
        messages.append(_Message(group, envelope_for(InboundMessage(topic, payload, received_ns), route, processed)))
    return messages
