"""Counters the hub keeps about itself, per lab and reason. Thread-safe."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class StatsSnapshot:
    messages: Counter[str] = field(default_factory=Counter)
    readings: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[tuple[str, str]] = field(default_factory=Counter)
    batches: int = 0
    batch_lines: int = 0
    write_seconds: list[float] = field(default_factory=list)
    write_retries: int = 0


class IngestStats:
    """Totals since start, plus a delta that the stats reporter takes every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = StatsSnapshot()
        self._delta = StatsSnapshot()
        self.queue_depth = 0
        self.spool_depth = 0
        # While InfluxDB writes fail: the class of the last answer (hub.store.writers.Answer), else None.
        self.write_failing: str | None = None
        self._batch_observers: list[Callable[[int, float], None]] = []

    def message(self, lab: str, readings: int, unmapped: int) -> None:
        with self._lock:
            for snap in (self.total, self._delta):
                snap.messages[lab] += 1
                snap.readings[lab] += readings
                snap.unmapped[lab] += unmapped

    def messages(self, counts: Iterable[tuple[str, int, int]]) -> None:
        """``message`` for many messages (lab, readings, unmapped) under one lock: the writer thread counts
        a batch at once, so paho's network thread counts nothing per message."""
        with self._lock:
            for snap in (self.total, self._delta):
                messages, readings, unmapped = snap.messages, snap.readings, snap.unmapped
                for lab, read, unmapped_keys in counts:
                    messages[lab] += 1
                    readings[lab] += read
                    unmapped[lab] += unmapped_keys

    def dead_letter(self, lab: str, reason_code: str, count: int = 1) -> None:
        with self._lock:
            self.total.dead_letters[(lab, reason_code)] += count
            self._delta.dead_letters[(lab, reason_code)] += count

    def observe_batches(self, observer: Callable[[int, float], None]) -> None:
        """Call ``observer(lines, seconds)`` for every batch written (e.g. to feed a histogram)."""
        self._batch_observers.append(observer)

    def batch_written(self, lines: int, seconds: float) -> None:
        with self._lock:
            for snap in (self.total, self._delta):
                snap.batches += 1
                snap.batch_lines += lines
            # Latencies are kept per interval only; a histogram observer sees every batch.
            self._delta.write_seconds.append(seconds)
        for observer in self._batch_observers:
            observer(lines, seconds)

    def retry(self) -> None:
        with self._lock:
            self.total.write_retries += 1
            self._delta.write_retries += 1

    def take_delta(self) -> StatsSnapshot:
        with self._lock:
            delta, self._delta = self._delta, StatsSnapshot()
        return delta
