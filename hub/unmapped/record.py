"""From the writer thread's envelopes to the unmapped-key store."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from hub.unmapped.store import Sighting, UnmappedStore

if TYPE_CHECKING:
    from hub.ingest.envelope import Envelope

log = logging.getLogger(__name__)


def sightings(envelopes: Iterable[Envelope]) -> Iterator[Sighting]:
    """Every unmapped and guessed key of routed messages (a message no lab claims has no keys to show)."""
    for envelope in envelopes:
        if envelope.lab is None:
            continue
        lab, model, message = envelope.lab, envelope.device_model, envelope.message
        topic, received_ns = message.topic, message.received_ns
        for item in (*envelope.unmapped, *envelope.guessed):
            yield Sighting(lab, model, item.key, item.value, received_ns, item.device, topic, item.guess)


def record_unmapped(store: UnmappedStore, envelopes: Iterable[Envelope]) -> None:
    """Record a batch's keys. The store only informs the operator: a failure is logged, never allowed to
    hold back the batch's writes and acks (the keys are still counted in hub_stats)."""
    try:
        store.record(sightings(envelopes))
    except sqlite3.Error as exc:
        log.warning("could not record unmapped keys in %s: %s", store.path, exc)
