"""The writer thread: batches readings, writes them, records dead letters, then acks.

MQTT messages are acknowledged in the order they arrived (MQTT 3.1.1 section 4.6), and
only once their readings are stored (in InfluxDB, or in the disk spool) and their dead
letters committed. A transient write failure is retried with backoff, holding the acks
back; if InfluxDB stays down longer than ``spool_after_s``, batches go to the disk spool
and are acked, and the spool drains, oldest first, once InfluxDB answers again. Without a
spool, acks wait for InfluxDB: the broker keeps (and on a hub restart redelivers) them.

What each InfluxDB answer means here (tests/ingest/test_batcher.py lists them one by one):
written -> acked; ``TransientWriteError`` (no answer, 429, 5xx) -> retried, then spooled;
``PermanentWriteError`` (any other 4xx) -> every envelope of the batch becomes a
``store_rejected`` dead letter, and is acked.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from core.model import RejectCode
from hub.deadletters.store import DeadLetter, DeadLetterStore
from hub.ingest.envelope import Envelope
from hub.ingest.hub_stats import UNKNOWN_LAB
from hub.ingest.stats import IngestStats
from hub.store.spool import Spool
from hub.store.writers import InfluxWriter, PermanentWriteError, TransientWriteError
from hub.unmapped import UnmappedStore, record_unmapped

log = logging.getLogger(__name__)

# ack(mid, qos): called once per envelope, in arrival order, after its lines and dead letters are stored.
AckFunction = Callable[[int, int], None]


class BatchWriter:
    def __init__(
        self,
        *,
        writer: InfluxWriter,
        dead_letters: DeadLetterStore,
        ack: AckFunction,
        stats: IngestStats,
        batch_size: int = 5000,
        linger_s: float = 0.1,
        max_backoff_s: float = 30.0,
        extra_lines: Callable[[], list[str]] | None = None,
        spool: Spool | None = None,
        spool_after_s: float = 10.0,
        unmapped: UnmappedStore | None = None,
    ) -> None:
        self._writer = writer
        self._dead_letters = dead_letters
        self._ack = ack
        self._stats = stats
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._max_backoff_s = max_backoff_s
        self._extra_lines = extra_lines
        self._spool = spool
        self._spool_after_s = spool_after_s
        self._unmapped = unmapped
        self._next_drain_at = 0.0
        self._drain_backoff_s = 0.2
        if spool is not None:
            stats.spool_depth = spool.depth
        self._queue: queue.Queue[Envelope] = queue.Queue()
        self._stopping = threading.Event()
        self._give_up_at: float | None = None
        self._gave_up = False  # stopped with a batch unstored (and unacked)
        self._thread = threading.Thread(target=self._run, name="citylab-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, envelope: Envelope) -> None:
        self._queue.put(envelope)
        self._stats.queue_depth = self._queue.qsize()

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Flush what is queued, then stop. False if the store stayed down until the deadline."""
        self._give_up_at = time.monotonic() + timeout_s
        self._stopping.set()
        self._thread.join(timeout_s + 5)
        return not self._gave_up and self._queue.empty() and not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            batch = self._gather()
            extra = self._extra_lines() if self._extra_lines is not None else []
            if (batch or extra) and not self._flush(batch, extra):
                self._gave_up = True
                return  # gave up at shutdown: unacked messages will be redelivered
            self._drain_spool()
            if self._stopping.is_set() and self._queue.empty():
                return  # what is still spooled drains after the next start

    def _gather(self) -> list[Envelope]:
        batch: list[Envelope] = []
        lines = 0
        deadline: float | None = None
        while lines < self._batch_size:
            timeout = 0.2 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                envelope = self._queue.get(timeout=timeout)
            except queue.Empty:
                if batch or self._stopping.is_set() or deadline is None:
                    break
                continue
            batch.append(envelope)
            lines += len(envelope.lines)
            if deadline is None:
                deadline = time.monotonic() + self._linger_s
        self._stats.queue_depth = self._queue.qsize()
        return batch

    def _flush(self, batch: list[Envelope], extra_lines: list[str]) -> bool:
        letters = [letter for envelope in batch for letter in envelope.dead_letters]
        lines = [line for envelope in batch for line in envelope.lines]
        if lines or extra_lines:
            try:
                if not self._store(lines + extra_lines):
                    return False
            except PermanentWriteError as exc:
                log.error("InfluxDB refused a batch of %d lines: %s", len(lines), exc)
                letters.extend(self._store_rejections(batch, str(exc)))
        if letters:
            self._dead_letters.add_many(letters)
            for letter in letters:
                self._stats.dead_letter(letter.lab or UNKNOWN_LAB, letter.reason_code)
        if self._unmapped is not None:
            record_unmapped(self._unmapped, batch)
        for envelope in batch:
            self._ack(envelope.mid, envelope.qos)
        return True

    def _store(self, lines: list[str]) -> bool:
        """Write, or spool when InfluxDB has been failing too long. False: gave up at shutdown, unstored."""
        if self._spool is not None and self._spool.depth:
            self._spool_lines(lines, "older batches are still spooled")  # keep them in order behind those
            return True
        backoff = 0.2
        failing_since = time.monotonic()
        while True:
            started = time.perf_counter()
            try:
                self._writer.write(lines)
            except TransientWriteError as exc:
                self._stats.retry()
                failing_for = time.monotonic() - failing_since
                if self._spool is not None and (failing_for >= self._spool_after_s or self._stopping.is_set()):
                    self._spool_lines(lines, f"InfluxDB failing for {failing_for:.1f}s: {exc}")
                    return True
                if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                    log.error("shutting down with %d lines unwritten and unacked: %s", len(lines), exc)
                    return False
                log.warning("write failed, retrying in %.1fs: %s", backoff, exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            self._stats.batch_written(len(lines), time.perf_counter() - started)
            return True

    def _spool_lines(self, lines: list[str], why: str) -> None:
        assert self._spool is not None
        self._spool.append(lines, time.time_ns())
        self._stats.spool_depth = self._spool.depth
        log.warning("spooled %d lines to disk (spool depth %d): %s", len(lines), self._spool.depth, why)

    def _drain_spool(self, budget_s: float = 0.5) -> None:
        """Write spooled batches, oldest first, for up to ``budget_s`` (new messages wait meanwhile)."""
        deadline = time.monotonic() + budget_s
        while self._spool is not None and self._spool.depth and time.monotonic() < deadline:
            if not self._drain_one():
                return

    def _drain_one(self) -> bool:
        """Write the oldest spooled batch; False while InfluxDB is still failing (then back off)."""
        if self._spool is None or time.monotonic() < self._next_drain_at:
            return False
        batch = self._spool.oldest()
        if batch is None:
            return False
        started = time.perf_counter()
        try:
            self._writer.write(batch.lines)
        except TransientWriteError as exc:
            self._stats.retry()
            self._next_drain_at = time.monotonic() + self._drain_backoff_s
            self._drain_backoff_s = min(self._drain_backoff_s * 2, self._max_backoff_s)
            log.debug("spool drain deferred: %s", exc)
            return False
        except PermanentWriteError as exc:
            log.error("InfluxDB refused %d spooled lines: %s", len(batch.lines), exc)
            letter = DeadLetter(
                received_ns=batch.created_ns,
                topic="(spool)",
                lab=None,
                codec=None,
                reason_code=RejectCode.STORE_REJECTED,
                reason=str(exc),
                payload="\n".join(batch.lines).encode("utf-8"),
            )
            self._dead_letters.add_many([letter])
            self._stats.dead_letter(UNKNOWN_LAB, RejectCode.STORE_REJECTED)
        else:
            self._stats.batch_written(len(batch.lines), time.perf_counter() - started)
        self._spool.remove(batch)
        self._stats.spool_depth = self._spool.depth
        self._drain_backoff_s = 0.2
        if not self._spool.depth:
            log.info("spool drained: every spooled reading is in InfluxDB")
        return True

    @staticmethod
    def _store_rejections(batch: list[Envelope], reason: str) -> list[DeadLetter]:
        """A dead letter per envelope with lines, holding those lines as its payload.

        Replay decodes a letter's payload with its lab's codec, so it can't re-run these yet; the
        message's own bytes are at hand in ``envelope.message`` for when letters keep them."""
        now = time.time_ns()
        return [
            DeadLetter(
                received_ns=now,
                topic=envelope.topic,
                lab=envelope.lab,
                codec=None,
                reason_code=RejectCode.STORE_REJECTED,
                reason=reason,
                payload="\n".join(envelope.lines).encode("utf-8"),
            )
            for envelope in batch
            if envelope.lines
        ]
