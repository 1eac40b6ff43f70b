"""BatchWriter: what each InfluxDB answer means for the messages behind a batch.

A scripted writer stands in for InfluxDB and raises exactly what hub/store/writers.py raises for
each answer (``classify_answer``, ``unreachable``; tests/store/test_writers.py checks the real
writers against a server giving each answer). ``TODAY`` is the table of outcomes as the hub has
them now, one row per answer class, so a change to any of them is a deliberate edit here.

The last test runs the spool against real refused connections and a real InfluxDB.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from core.model import RejectCode
from hub.deadletters.store import DeadLetter, DeadLetterStore
from hub.devstack import free_port
from hub.ingest.batcher import BatchWriter
from hub.ingest.envelope import Envelope, InboundMessage
from hub.ingest.stats import IngestStats
from hub.store.influxql import InfluxQLClient
from hub.store.spool import Spool
from hub.store.writers import V1Writer, WriteError, classify_answer, unreachable
from tests.support.influx import influx_down_with_database, wait_for_rows
from tests.support.wait import wait_until

LAB = "aarhus-city-lab"


@dataclass(frozen=True)
class Answer:
    """One InfluxDB answer: an HTTP status, or no answer at all."""

    label: str
    status: int | None = None
    body: str = ""
    no_answer: Exception | None = None

    def error(self) -> WriteError | None:
        if self.no_answer is not None:
            return unreachable(self.no_answer)
        assert self.status is not None
        return None if self.status == 204 else classify_answer(self.status, self.body)


WRITTEN = Answer("204 no content", 204)
REFUSED = Answer("connection refused", no_answer=httpx.ConnectError("[Errno 111] Connection refused"))
TIMEOUT = Answer("timeout", no_answer=httpx.ReadTimeout("timed out"))

# Today's outcome per answer class (bodies as InfluxDB 1.x/2.x send them, reference-notes-2 section 5):
#   written   -> stored on the first attempt, acked;
#   retried   -> retried with backoff (acks held), stored once InfluxDB answers 204, then acked;
#   rejected  -> no retry: each message with readings becomes a store_rejected dead letter, then acked.
TODAY: list[tuple[Answer, str]] = [
    (WRITTEN, "written"),
    (REFUSED, "retried"),
    (TIMEOUT, "retried"),
    (Answer("429 too many requests", 429, '{"code":"too many requests"}'), "retried"),
    (Answer("500 retention policy not found", 500, '{"error":"retention policy not found: rp"}'), "retried"),
    (Answer("503 unavailable", 503, '{"code":"unavailable"}'), "retried"),
    (Answer("400 bad line protocol", 400, '{"error":"unable to parse \'x\': bad timestamp"}'), "rejected"),
    (Answer("401 unauthorized", 401, '{"error":"authorization failed"}'), "rejected"),
    (Answer("403 forbidden", 403, '{"code":"forbidden"}'), "rejected"),
    (Answer("404 database not found", 404, '{"error":"database not found: \\"db\\""}'), "rejected"),
    (Answer("413 too large", 413, '{"error":"Request Entity Too Large"}'), "rejected"),
    (
        Answer("422 partial write", 422, '{"code":"unprocessable entity","message":"partial write: dropped=1"}'),
        "rejected",
    ),
]


@dataclass
class ScriptedWriter:
    """Answers each write with the next scripted answer, then 204 once the script is used up."""

    answers: deque[Answer]
    # ("write", lines), ("refused", answer label) and, from the harness, ("ack", mid): in the order they happened.
    events: list[tuple[str, object]] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    attempts: int = 0
    closed: bool = False

    def write(self, lines: list[str]) -> None:
        self.attempts += 1
        answer = self.answers.popleft() if self.answers else WRITTEN
        error = answer.error()
        if error is not None:
            self.events.append(("refused", answer.label))
            raise error
        self.stored.extend(lines)
        self.events.append(("write", list(lines)))

    def close(self) -> None:
        self.closed = True


def envelope(mid: int, lines: list[str], *, letters: list[DeadLetter] | None = None) -> Envelope:
    payload = f'{{"message": {mid}}}'.encode()
    message = InboundMessage(f"v3/aarhus-city-lab@ttn/devices/d{mid}/up", payload, 1_000 + mid, mid, 1)
    return Envelope(message, lab=LAB, codec="ttn-v3", lines=lines, dead_letters=letters or [])


def line(value: int) -> str:
    return f"temperature,city=aarhus,device=d,lab={LAB} value={value}.0 {value}"


@dataclass
class Harness:
    writer: ScriptedWriter
    store: DeadLetterStore
    stats: IngestStats
    batcher: BatchWriter
    spool: Spool | None
    acks: list[int] = field(default_factory=list)
    letters_at_ack: dict[int, int] = field(default_factory=dict)


@pytest.fixture
def make_harness(tmp_path: Path):
    made: list[Harness] = []

    def make(*answers: Answer, spool_after_s: float | None = None, max_backoff_s: float = 0.05) -> Harness:
        writer = ScriptedWriter(deque(answers))
        store = DeadLetterStore(tmp_path / f"dead-{len(made)}.sqlite3")
        spool = Spool(tmp_path / f"spool-{len(made)}.sqlite3") if spool_after_s is not None else None
        stats = IngestStats()
        lock = threading.Lock()
        harness: Harness

        def ack(mid: int, qos: int) -> None:
            assert qos == 1
            with lock:
                harness.acks.append(mid)
                harness.letters_at_ack[mid] = sum(store.counts().values())
                writer.events.append(("ack", mid))

        batcher = BatchWriter(
            writer=writer,
            dead_letters=store,
            ack=ack,
            stats=stats,
            linger_s=0.05,
            max_backoff_s=max_backoff_s,
            spool=spool,
            spool_after_s=spool_after_s if spool_after_s is not None else 10.0,
        )
        harness = Harness(writer, store, stats, batcher, spool)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.batcher.stop(1)
        harness.store.close()
        if harness.spool is not None:
            harness.spool.close()


def test_today_table_covers_every_answer_class() -> None:
    statuses = {answer.status for answer, _ in TODAY}
    assert {429, 500, 503} <= statuses  # transient
    assert {400, 401, 403, 404, 413, 422} <= statuses  # permanent
    assert {answer.label for answer, _ in TODAY} >= {"connection refused", "timeout"}


@pytest.mark.parametrize(("answer", "outcome"), TODAY, ids=[answer.label for answer, _ in TODAY])
def test_each_influxdb_answer_has_todays_outcome(make_harness, answer: Answer, outcome: str) -> None:
    decode_letter = DeadLetter(1_002, "t", LAB, "ttn-v3", RejectCode.OUT_OF_RANGE, "humidity 140 %", b"{}")
    batch = [
        envelope(1, [line(1), line(2)]),
        envelope(2, [line(3)], letters=[decode_letter]),  # one reading stored, one refused by the normaliser
        envelope(3, []),  # nothing to write: acked with the rest
    ]
    harness = make_harness(answer)
    for item in batch:
        harness.batcher.submit(item)
    harness.batcher.start()
    wait_until(lambda: len(harness.acks) == 3, 10, "every message acked")

    assert harness.acks == [1, 2, 3]  # arrival order, whatever InfluxDB said
    letters = harness.store.select()
    observed = {1: "written", 2: "retried"}.get(harness.writer.attempts, "?")
    if harness.writer.stored == [] and any(letter.reason_code == RejectCode.STORE_REJECTED for letter in letters):
        observed = "rejected"
    assert observed == outcome

    if outcome in ("written", "retried"):
        assert harness.writer.stored == [line(1), line(2), line(3)]
        assert [(letter.reason_code, letter.reason) for letter in letters] == [("out_of_range", "humidity 140 %")]
        assert harness.stats.total.write_retries == (1 if outcome == "retried" else 0)
        assert harness.stats.total.batches == 1
        # Acks only after the write that stored the lines.
        assert [kind for kind, _ in harness.writer.events][-4:] == ["write", "ack", "ack", "ack"]
    else:
        assert harness.writer.attempts == 1  # no retry
        rejected = [letter for letter in letters if letter.reason_code == RejectCode.STORE_REJECTED]
        # One per message with readings, holding its line protocol; the normaliser's own letter stays too.
        assert [(letter.topic, letter.lab, letter.codec, letter.payload) for letter in rejected] == [
            (batch[0].topic, LAB, None, f"{line(1)}\n{line(2)}".encode()),
            (batch[1].topic, LAB, None, line(3).encode()),
        ]
        assert all(f"InfluxDB answered {answer.status}" in letter.reason for letter in rejected)
        assert harness.stats.total.dead_letters[(LAB, RejectCode.STORE_REJECTED)] == 2
        assert harness.stats.total.write_retries == 0
    # Dead letters are committed before the first ack.
    assert harness.letters_at_ack[1] == len(letters)


def test_transient_failures_hold_every_ack_until_the_write(make_harness) -> None:
    harness = make_harness(REFUSED, REFUSED, TIMEOUT, Answer("503", 503))
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1)]))
    wait_until(lambda: harness.acks == [1], 10, "ack after four failures")
    assert harness.writer.attempts == 5
    assert harness.stats.total.write_retries == 4
    assert [kind for kind, _ in harness.writer.events] == ["refused"] * 4 + ["write", "ack"]


def test_a_long_outage_spools_and_acks_then_drains_oldest_first(make_harness) -> None:
    harness = make_harness(*[REFUSED] * 8, spool_after_s=0.1)
    assert harness.spool is not None
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1)]))
    wait_until(lambda: harness.acks == [1], 10, "ack once spooled")
    # Behind a non-empty spool, new batches queue on disk too, in order.
    harness.batcher.submit(envelope(2, [line(2)]))
    wait_until(lambda: harness.acks == [1, 2], 10, "second ack")
    wait_until(lambda: harness.spool is not None and harness.spool.depth == 0, 10, "spool drained")
    assert harness.writer.stored == [line(1), line(2)]
    assert harness.stats.spool_depth == 0
    assert harness.store.select() == []


def test_a_spooled_batch_influxdb_refuses_becomes_a_dead_letter(make_harness) -> None:
    harness = make_harness(*[REFUSED] * 4, Answer("400", 400, "bad timestamp"), spool_after_s=0.05)
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1), line(2)]))
    wait_until(lambda: harness.spool is not None and harness.spool.depth == 0 and harness.acks == [1], 10, "drained")
    (letter,) = harness.store.select()
    assert (letter.topic, letter.lab, letter.reason_code) == ("(spool)", None, RejectCode.STORE_REJECTED)
    assert letter.payload == f"{line(1)}\n{line(2)}".encode()
    assert harness.stats.total.dead_letters[("unknown", RejectCode.STORE_REJECTED)] == 1


def test_without_a_spool_a_stop_during_an_outage_acks_nothing(make_harness) -> None:
    harness = make_harness(*[REFUSED] * 1000)
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1)]))
    wait_until(lambda: harness.writer.attempts >= 2, 10, "retrying")
    assert harness.batcher.stop(0.2) is False
    assert harness.acks == []  # left for the broker to redeliver
    assert harness.store.select() == []


def test_stats_lines_go_out_with_the_batch(tmp_path: Path) -> None:
    writer = ScriptedWriter(deque())
    store = DeadLetterStore(tmp_path / "dead.sqlite3")
    acks: list[int] = []
    batcher = BatchWriter(
        writer=writer,
        dead_letters=store,
        ack=lambda mid, _qos: acks.append(mid),
        stats=IngestStats(),
        linger_s=0.01,
        extra_lines=lambda: ["hub_stats,lab=_hub batches=0.0 1"],
    )
    batcher.submit(envelope(1, [line(1)]))
    batcher.start()
    wait_until(lambda: acks == [1], 10, "ack")
    assert batcher.stop(1)
    assert writer.stored[:2] == [line(1), "hub_stats,lab=_hub batches=0.0 1"]
    store.close()


@pytest.mark.integration
def test_batches_are_spooled_acked_and_drained(tmp_path: Path) -> None:
    """Real refused connections, then a real InfluxDB on that port."""
    port = free_port()  # nothing listens yet: every write is refused
    acks: list[int] = []
    stats = IngestStats()
    spool = Spool(tmp_path / "spool.sqlite3")
    batcher = BatchWriter(
        writer=V1Writer(f"http://127.0.0.1:{port}", "late"),
        dead_letters=DeadLetterStore(tmp_path / "dead.sqlite3"),
        ack=lambda mid, _qos: acks.append(mid),
        stats=stats,
        linger_s=0.01,
        max_backoff_s=0.3,
        spool=spool,
        spool_after_s=0.3,
    )
    batcher.start()
    for mid in range(1, 11):
        message = InboundMessage("t", b"", 0, mid, 1)
        batcher.submit(Envelope(message, lab="lab", lines=[f"temperature,city=c,device=d,lab=l value={mid}.0 {mid}"]))
    wait_until(lambda: len(acks) == 10)
    assert acks == list(range(1, 11))  # in arrival order, each only after its line is on disk
    assert stats.spool_depth == 10

    influx = influx_down_with_database(port, tmp_path / "influx", "late")
    influx.start()
    try:
        wait_until(lambda: stats.spool_depth == 0, timeout_s=30)
        rows = wait_for_rows(InfluxQLClient(influx.url, "late"), 'SELECT "value" FROM temperature', 10)
        assert [row["value"] for row in rows] == [float(i) for i in range(1, 11)]
        assert spool.depth == 0
    finally:
        batcher.stop(5)
        influx.stop()
