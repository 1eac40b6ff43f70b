"""The writer thread: batches readings, writes them, records dead letters, then acks.

MQTT messages are acknowledged in the order they arrived (MQTT 3.1.1 section 4.6), and only
once every one of their readings is stored (in InfluxDB, or in the disk spool) or committed as a
dead letter holding the original message. What each class of InfluxDB answer (hub/store/writers.py)
means here (tests/ingest/test_batcher.py lists them one by one):

- stored: acked;
- an outage (no answer, a hang past the write timeout, 408, 429, 5xx, waiting at least ``Retry-After``)
  or a held answer (401/403: credentials; 404: database missing; another 4xx about the request):
  retried with backoff, acks held; after ``spool_after_s`` of failing, batches go to the disk spool
  and are acked, and the spool drains, oldest first, once InfluxDB takes writes again. A held answer
  is logged as an error saying what to fix, never dropped. Without a spool, acks wait for InfluxDB:
  the broker keeps (and on a hub restart redelivers) the messages;
- 413: the batch is split until InfluxDB takes the parts;
- some points refused (a partial write, 400/422): the others are stored, and exactly the refused
  readings become ``store_rejected`` dead letters, each holding its original message
  (hub/store/delivery.py finds them: by what the answer names, or by bisection).

The same holds for a spooled batch when it drains: it leaves the spool only once every line is
stored or dead-lettered.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from core.model import Reading, RejectCode
from hub.deadletters.store import DeadLetter, DeadLetterStore, rejected_reading_reason
from hub.ingest.envelope import Envelope
from hub.ingest.hub_stats import UNKNOWN_LAB
from hub.ingest.stats import IngestStats
from hub.store.delivery import LineRejection, write_exactly
from hub.store.spool import MessageRef, Spool, message_of
from hub.store.writers import InfluxWriter, TransientWriteError
from hub.unmapped import UnmappedStore, record_unmapped

log = logging.getLogger(__name__)

# ack(mid, qos): called once per envelope, in arrival order, after its lines and dead letters are stored.
AckFunction = Callable[[int, int], None]
# ack_many([(mid, qos), ...]): the same for a whole batch at once, in arrival order (MqttConsumer.ack_many).
AckManyFunction = Callable[[Sequence[tuple[int, int]]], None]
# While InfluxDB keeps failing, the log repeats the failure this often (the first one is logged at once).
FAILURE_REMINDER_S = 60.0
# How often the writer thread looks for new envelopes while a batch lingers (see BatchWriter._gather).
GATHER_STEP_S = 0.01


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
        final_lines: Callable[[], list[str]] | None = None,
        spool: Spool | None = None,
        spool_after_s: float = 10.0,
        unmapped: UnmappedStore | None = None,
        on_stored: Callable[[list[Reading]], None] | None = None,
        ack_many: AckManyFunction | None = None,
    ) -> None:
        self._writer = writer
        self._dead_letters = dead_letters
        self._ack = ack
        self._ack_many = ack_many
        self._stats = stats
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._max_backoff_s = max_backoff_s
        self._extra_lines = extra_lines
        self._final_lines = final_lines
        self._spool = spool
        self._spool_after_s = spool_after_s
        self._unmapped = unmapped
        # Told the readings of every batch once they are stored (the NGSI-LD forwarder); never blocks.
        self._on_stored = on_stored
        self._next_drain_at = 0.0
        self._drain_backoff_s = 0.2
        self._drained = [0, 0]  # lines written, lines dead-lettered, since the spool last filled
        self._failing: TransientWriteError | None = None
        self._failing_since = 0.0
        self._failure_logged_at = 0.0
        if spool is not None:
            stats.spool_depth = spool.depth
        # SimpleQueue: put and get are C calls, where a Queue takes a lock and a condition per envelope.
        self._queue: queue.SimpleQueue[Envelope] = queue.SimpleQueue()
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
            last = self._stopping.is_set() and self._queue.empty()
            if last and self._final_lines is not None:
                extra += self._final_lines()  # the last counters go out with the last batch
            if (batch or extra) and not self._flush(batch, extra):
                self._gave_up = True
                return  # gave up at shutdown: unacked messages will be redelivered
            self._drain_spool()
            if last:
                return  # what is still spooled drains after the next start

    def _gather(self) -> list[Envelope]:
        """The next batch: what arrives within the linger after its first envelope, up to ``batch_size`` lines.

        After the first envelope the thread does not wait on the queue: a waiting reader is woken (and
        takes the GIL from paho's network thread) for every envelope put, a cost per message. It sleeps in
        steps instead and takes what has arrived in each: the batch is flushed at the linger's end as
        before, and a batch that fills up early waits at most one step (``GATHER_STEP_S``) longer."""
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        lines = len(first.lines)
        deadline = time.monotonic() + self._linger_s
        while True:
            while lines < self._batch_size:
                try:
                    envelope = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(envelope)
                lines += len(envelope.lines)
            left = deadline - time.monotonic()
            if lines >= self._batch_size or left <= 0 or self._stopping.is_set():
                break
            time.sleep(min(left, GATHER_STEP_S))
        self._stats.queue_depth = self._queue.qsize()
        # Counted here, a batch at a time, rather than per message on paho's thread (and before the stats
        # lines that go out with this batch are taken); a message no lab claims counts only its dead letter.
        self._stats.messages(
            [(envelope.lab, len(envelope.lines), len(envelope.unmapped)) for envelope in batch if envelope.lab]
        )
        return batch

    # --- one batch ---------------------------------------------------------------------------

    def _flush(self, batch: list[Envelope], extra_lines: list[str]) -> bool:
        letters = [letter for envelope in batch for letter in envelope.dead_letters]
        lines = [line for envelope in batch for line in envelope.lines]
        lines += extra_lines  # after the messages' lines, so message_refs' line numbers hold
        rejections: list[LineRejection] = []
        if lines:
            stored = self._store(batch, lines)
            if stored is None:
                return False
            rejections = stored
            if rejections:
                letters.extend(self._rejection_letters(rejections, lines, message_refs(batch)))
        if letters:
            self._dead_letters.add_many(letters)
            for letter in letters:
                self._stats.dead_letter(letter.lab or UNKNOWN_LAB, letter.reason_code)
        if self._unmapped is not None:
            record_unmapped(self._unmapped, batch)
        if self._ack_many is not None:
            self._ack_many([(envelope.mid, envelope.qos) for envelope in batch])
        else:
            for envelope in batch:
                self._ack(envelope.mid, envelope.qos)
        if self._on_stored is not None:
            self._on_stored(stored_readings(batch, rejections))
        return True

    def _store(self, batch: list[Envelope], lines: list[str]) -> list[LineRejection] | None:
        """Write (or spool, when InfluxDB has been failing too long). The lines InfluxDB refused; None: gave up
        at shutdown, with nothing stored."""
        if self._spool is not None and self._spool.depth:
            self._spool_batch(batch, lines, None)  # keep them in order behind the older batches
            return []
        backoff = 0.2
        failing_since = time.monotonic()
        while True:
            started = time.perf_counter()
            try:
                rejections = write_exactly(self._writer, lines)
            except TransientWriteError as exc:
                self._stats.retry()
                self._note_failure(exc, failing_since)
                failing_for = time.monotonic() - failing_since
                if self._spool is not None and (failing_for >= self._spool_after_s or self._stopping.is_set()):
                    self._spool_batch(batch, lines, f"InfluxDB failing for {failing_for:.1f}s: {exc}")
                    return []
                if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                    log.error("shutting down with %d lines unwritten and unacked: %s", len(lines), exc)
                    return None
                delay = max(backoff, exc.retry_after_s or 0.0)
                if self._give_up_at is None:
                    self._stopping.wait(delay)  # a stop ends the wait: then spool (or give up) at once
                else:
                    time.sleep(max(0.0, min(delay, self._give_up_at - time.monotonic())))
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            self._note_success()
            self._stats.batch_written(len(lines) - len(rejections), time.perf_counter() - started)
            return rejections

    def _spool_batch(self, batch: list[Envelope], lines: list[str], why: str | None) -> None:
        """Commit the batch to the spool. ``why`` None: it queues behind older spooled batches (logged at debug)."""
        assert self._spool is not None
        if not self._spool.depth:
            self._drained = [0, 0]
        self._spool.append(lines, message_refs(batch), time.time_ns())
        self._stats.spool_depth = self._spool.depth
        if why is None:
            log.debug("spooled %d lines behind older batches (spool depth %d)", len(lines), self._spool.depth)
        else:
            log.warning("spooled %d lines to disk (spool depth %d): %s", len(lines), self._spool.depth, why)

    def _rejection_letters(
        self, rejections: list[LineRejection], lines: Sequence[str], messages: Sequence[MessageRef]
    ) -> list[DeadLetter]:
        """A dead letter per refused reading, holding the MQTT message it came from, whole."""
        letters: list[DeadLetter] = []
        for rejection in rejections:
            line = lines[rejection.index]
            message = message_of(messages, rejection.index)
            if message is None:  # one of the hub's own stats lines: no message behind it
                log.error("InfluxDB refused a hub_stats line %s: %s", line, rejection.reason)
                continue
            letters.append(
                DeadLetter(
                    received_ns=message.received_ns,
                    topic=message.topic,
                    lab=message.lab,
                    codec=message.codec,
                    reason_code=RejectCode.STORE_REJECTED,
                    reason=rejected_reading_reason(line, rejection.status, rejection.reason),
                    payload=message.payload,
                )
            )
        if rejections:
            log.warning(
                "InfluxDB refused %d of %d lines (the rest are stored); each refused reading is a dead letter: %s",
                len(rejections),
                len(lines),
                rejections[0].reason,
            )
        return letters

    # --- InfluxDB failing and recovering -------------------------------------------------------

    def _note_failure(self, exc: TransientWriteError, since: float) -> None:
        """Log the first failure of a kind at once (a held one as an error), then a reminder now and then.
        ``since``: when the failed attempt (or the first of this batch's attempts) began."""
        now = time.monotonic()
        self._stats.write_failing = exc.answer.value
        if self._failing is None:
            self._failing_since = since
        changed = self._failing is None or self._failing.answer is not exc.answer
        self._failing = exc
        if not changed and now - self._failure_logged_at < FAILURE_REMINDER_S:
            log.debug("write failed again: %s", exc)
            return
        self._failure_logged_at = now
        elapsed = now - self._failing_since
        lasting = f" for {elapsed:.0f}s" if elapsed >= 1 else ""
        hint = f" ({exc.hint})" if exc.hint else ""
        then = f"spooling to disk after {self._spool_after_s:g}s" if self._spool is not None else "acks held"
        if exc.held:
            log.error("InfluxDB write failed%s; held, never dropped: %s%s; %s", lasting, exc, hint, then)
        else:
            log.warning("InfluxDB write failed%s; retrying with backoff: %s%s; %s", lasting, exc, hint, then)

    def _note_success(self) -> None:
        if self._failing is not None:
            log.info(
                "InfluxDB takes writes again after %.1fs (%s)",
                time.monotonic() - self._failing_since,
                self._failing.answer.value,
            )
            self._failing = None
            self._stats.write_failing = None

    # --- the spool -----------------------------------------------------------------------------

    def _drain_spool(self, budget_s: float = 0.5) -> None:
        """Write spooled batches, oldest first, for up to ``budget_s`` (new messages wait meanwhile)."""
        deadline = time.monotonic() + budget_s
        while self._spool is not None and self._spool.depth and time.monotonic() < deadline:
            if not self._drain_one():
                return

    def _drain_one(self) -> bool:
        """Store the oldest spooled batch, every line written or dead-lettered; False while InfluxDB is failing."""
        if self._spool is None or time.monotonic() < self._next_drain_at:
            return False
        batch = self._spool.oldest()
        if batch is None:
            return False
        started = time.perf_counter()
        attempted = time.monotonic()
        try:
            rejections = write_exactly(self._writer, batch.lines)
        except TransientWriteError as exc:
            self._stats.retry()
            self._note_failure(exc, attempted)
            wait = max(self._drain_backoff_s, exc.retry_after_s or 0.0)
            self._next_drain_at = time.monotonic() + wait
            self._drain_backoff_s = min(self._drain_backoff_s * 2, self._max_backoff_s)
            return False
        self._note_success()
        letters = self._rejection_letters(rejections, batch.lines, batch.messages)
        if letters:
            self._dead_letters.add_many(letters)  # committed before the batch leaves the spool
            for letter in letters:
                self._stats.dead_letter(letter.lab or UNKNOWN_LAB, letter.reason_code)
        self._stats.batch_written(len(batch.lines) - len(rejections), time.perf_counter() - started)
        self._spool.remove(batch)
        self._drained[0] += len(batch.lines) - len(rejections)
        self._drained[1] += len(rejections)
        self._stats.spool_depth = self._spool.depth
        self._drain_backoff_s = 0.2
        if not self._spool.depth:
            written, refused = self._drained
            log.info(
                "spool drained: %d spooled lines written to InfluxDB, %d refused by it and kept as dead letters",
                written,
                refused,
            )
        return True


def message_refs(batch: Sequence[Envelope]) -> list[MessageRef]:
    """Which lines of the batch's (concatenated) lines each message produced: what its dead letters need."""
    refs: list[MessageRef] = []
    first = 0
    for envelope in batch:
        count = len(envelope.lines)
        if count:
            message = envelope.message
            lab, codec = envelope.lab, envelope.codec
            refs.append(MessageRef(first, count, message.received_ns, message.topic, message.payload, lab, codec))
        first += count
    return refs


def stored_readings(batch: Sequence[Envelope], rejections: Sequence[LineRejection]) -> list[Reading]:
    """The batch's readings InfluxDB took (or the spool holds): every one but those whose line it refused."""
    refused = {rejection.index for rejection in rejections}
    readings = [reading for envelope in batch for reading in envelope.readings]
    return [reading for index, reading in enumerate(readings) if index not in refused] if refused else readings
