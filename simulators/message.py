"""What a simulator emits: one MQTT message, with what it should become in the hub."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One simulated device message.

    ``time_ns`` is the measurement time the payload states (for a fault-free message, the
    time the hub stores). ``values`` are the canonical readings (quantity, value in the
    hub's unit) a correct decode yields; empty when a fault makes the message unreadable.
    ``faults`` names the faults applied. ``sent_ns`` is when a live run publishes it: later
    than ``time_ns`` for a late message.
    """

    topic: str
    payload: bytes
    time_ns: int
    lab: str
    device: str
    values: tuple[tuple[str, float], ...] = ()
    faults: tuple[str, ...] = ()
    sent_ns: int | None = None

    @property
    def send_at_ns(self) -> int:
        return self.time_ns if self.sent_ns is None else self.sent_ns
