"""hub.ingest.translating: messages are translated off paho's thread, every one, in arrival order."""

from __future__ import annotations

import threading
import time

import pytest

from hub.ingest import translating
from hub.ingest.envelope import Envelope, InboundMessage
from hub.ingest.translating import TranslatorThread
from tests.support.wait import wait_until


def message(n: int) -> InboundMessage:
    return InboundMessage(f"lab/{n}", str(n).encode(), n, n, 1)


def test_every_message_is_handed_on_in_arrival_order_and_stop_translates_what_is_pending() -> None:
    handed: list[int] = []
    slow = threading.Event()

    def translate(inbound: InboundMessage) -> Envelope:
        if inbound.mid == 3:
            slow.wait(5)  # the first messages queue up behind this one
        return Envelope(inbound)

    translator = TranslatorThread(translate, lambda envelope: handed.append(envelope.mid))
    translator.start()
    for n in range(1, 6):
        translator.put(message(n))
    wait_until(lambda: handed == [1, 2], 5, "the messages before the slow one")
    for n in range(6, 200):
        translator.put(message(n))
    assert translator.pending >= 190
    slow.set()
    assert translator.stop(10)
    assert handed == list(range(1, 200))


def test_an_idle_translator_is_woken_by_the_next_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translating, "IDLE_WAIT_S", 60.0)  # without a wake-up, a message would wait a minute
    handed: list[int] = []
    translator = TranslatorThread(Envelope, lambda envelope: handed.append(envelope.mid))
    translator.start()
    try:
        for n in range(1, 4):
            time.sleep(0.1)  # idle in between: each message arrives while the thread waits
            translator.put(message(n))
            wait_until(lambda n=n: handed[-1:] == [n], 10, f"message {n}")
    finally:
        assert translator.stop(5)


def test_a_failing_translation_stops_the_thread_reports_it_and_hands_nothing_after_it_on() -> None:
    """A translation that raises is a bug: the thread stops there, so nothing from that message on is acked
    (the broker redelivers it), and on_failure lets the service end the process instead of idling."""
    handed: list[int] = []
    failures: list[BaseException] = []

    def translate(inbound: InboundMessage) -> Envelope:
        if inbound.mid == 3:
            raise RuntimeError("a codec bug")
        return Envelope(inbound)

    translator = TranslatorThread(translate, lambda envelope: handed.append(envelope.mid), on_failure=failures.append)
    for n in range(1, 6):
        translator.put(message(n))
    translator.start()
    wait_until(lambda: len(failures) == 1, 5, "the failure reported")
    assert translator.stop(5)
    assert handed == [1, 2]
    assert isinstance(failures[0], RuntimeError)
