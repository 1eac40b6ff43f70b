"""Re-run dead letters through today's codecs and lab configs (e.g. after a mapping fix).

A message can leave several dead letters (one per rejected reading), so letters are grouped by
the message they came from and each message is decoded once, at its original receive time.
A letter is resolved when its message now decodes and its own rejection (same code and reason)
is gone. Readings are written before any letter is removed; a rejection the replay finds that
was not stored before becomes a new dead letter, so nothing disappears unrecorded.

A message is translated exactly as ingest translates it on arrival (hub/ingest/envelope.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hub.deadletters.store import DeadLetter, DeadLetterStore
from hub.ingest.envelope import InboundMessage, MessageTranslator, envelope_for
from hub.labs import LabConfig
from hub.settings import Settings
from hub.store.writers import writer_from_settings


@dataclass(slots=True)
class ReplayOutcome:
    selected: int = 0
    decoded: int = 0
    readings_written: int = 0
    new_dead_letters: int = 0
    still_failing_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def still_failing(self) -> int:
        return sum(self.still_failing_reasons.values())


@dataclass(slots=True)
class _Plan:
    lines: list[str] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    new_letters: list[DeadLetter] = field(default_factory=list)


def replay(
    letters: list[DeadLetter],
    *,
    labs: dict[str, LabConfig],
    settings: Settings,
    store: DeadLetterStore,
    dry_run: bool,
) -> ReplayOutcome:
    outcome = ReplayOutcome(selected=len(letters))
    plan = _plan(letters, labs, settings, outcome)
    outcome.decoded = len(plan.resolved)
    outcome.readings_written = len(plan.lines)
    outcome.new_dead_letters = len(plan.new_letters)
    if dry_run:
        return outcome
    if plan.lines:
        writer = writer_from_settings(settings)
        try:
            writer.write(plan.lines)  # raises before any letter is touched
        finally:
            writer.close()
    store.add_many(plan.new_letters)
    store.delete(plan.resolved)
    return outcome


def _plan(letters: list[DeadLetter], labs: dict[str, LabConfig], settings: Settings, outcome: ReplayOutcome) -> _Plan:
    translator = MessageTranslator(labs, max_payload_bytes=settings.max_payload_bytes)
    messages: dict[tuple[int, str, bytes], list[DeadLetter]] = {}
    for letter in letters:
        messages.setdefault((letter.received_ns, letter.topic, letter.payload), []).append(letter)

    plan = _Plan()
    for (received_ns, topic, payload), group in messages.items():
        route = translator.router.route(topic)
        truncated = any(0 <= letter.payload_size != len(letter.payload) for letter in group)
        if route is None or truncated:
            # No lab claims the topic, or only the start of an oversized payload was kept.
            outcome.still_failing_reasons.update(letter.reason_code for letter in group)
            continue
        message = InboundMessage(topic, payload, received_ns)
        processed = translator.pipeline.process_routed(route, payload, topic=topic, received_ns=received_ns)
        if processed.failure is not None:
            outcome.still_failing_reasons.update(letter.reason_code for letter in group)
            continue
        envelope = envelope_for(message, route, processed)
        remaining = {(letter.reason_code, letter.reason) for letter in envelope.dead_letters}
        stored = {(letter.reason_code, letter.reason) for letter in group}
        for letter in group:
            if (letter.reason_code, letter.reason) in remaining:
                outcome.still_failing_reasons[letter.reason_code] += 1
            elif letter.id is not None:
                plan.resolved.append(letter.id)
        plan.lines.extend(envelope.lines)
        plan.new_letters.extend(
            letter for letter in envelope.dead_letters if (letter.reason_code, letter.reason) not in stored
        )
    return plan
