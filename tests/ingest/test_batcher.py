"""BatchWriter: what each InfluxDB answer means for the messages behind a batch.

Scripted writers stand in for InfluxDB and raise exactly what hub/store/writers.py raises for each
answer (``classify_answer``, ``unreachable``; tests/store/test_writers.py checks the real writers
against a server giving each answer, tests/store/test_delivery.py the per-line outcome). ``OUTCOMES``
is the table of outcomes per answer class, so a change to any of them is a deliberate edit here.

The last test runs the spool against real refused connections and a real InfluxDB.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from core.model import RejectCode
from hub.deadletters.store import DeadLetter, DeadLetterStore
from hub.devstack import InfluxDB1, free_port
from hub.ingest.batcher import BatchWriter
from hub.ingest.envelope import Envelope, InboundMessage
from hub.ingest.stats import IngestStats
from hub.store.influxql import InfluxQLClient
from hub.store.spool import Spool
from hub.store.writers import V1Writer, WriteError, classify_answer, unreachable
from tests.support.influx import wait_for_rows
from tests.support.refusing_influx import STYLES, RefusingInflux
from tests.support.wait import wait_until

LAB = "aarhus-city-lab"


@dataclass(frozen=True)
class Answer:
    """One InfluxDB answer: an HTTP status (and body, headers), or no answer at all."""

    label: str
    status: int | None = None
    body: str = ""
    no_answer: Exception | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def error(self) -> WriteError | None:
        if self.no_answer is not None:
            return unreachable(self.no_answer, timeout_s=5.0)
        assert self.status is not None
        return classify_answer(self.status, self.body, self.headers)


WRITTEN = Answer("204 no content", 204)
REFUSED = Answer("connection refused", no_answer=httpx.ConnectError("[Errno 111] Connection refused"))
TIMEOUT = Answer("hang (timeout)", no_answer=httpx.ReadTimeout("timed out"))

# The outcome per answer class, when the answer comes once and InfluxDB then takes the batch (bodies as InfluxDB
# 1.x/2.x/3.x send them, reference-notes-2 section 5):
#   written -> stored on the first attempt, acked;
#   retried -> an outage: retried with backoff (acks held), stored once InfluxDB answers 204, then acked;
#   held    -> the data is fine, InfluxDB or the configuration is not: logged as an error, retried like an
#              outage (and spooled after spool_after_s), never dropped;
#   split   -> 413: written in halves, then acked.
# Refused points (400/422 partial writes, in each version's shape) are in test_each_shape_of_refusal below.
OUTCOMES: list[tuple[Answer, str]] = [
    (WRITTEN, "written"),
    (REFUSED, "retried"),
    (TIMEOUT, "retried"),
    (Answer("408 request timeout", 408), "retried"),
    (Answer("429 too many requests", 429, '{"code":"too many requests"}'), "retried"),
    (Answer("500 engine", 500, '{"error":"engine: error syncing wal"}'), "retried"),
    (Answer("503 unavailable", 503, '{"code":"unavailable"}'), "retried"),
    (Answer("401 unauthorized", 401, '{"error":"authorization failed"}'), "held"),
    (Answer("403 forbidden", 403, '{"code":"forbidden","message":"insufficient permissions"}'), "held"),
    (Answer("404 database not found", 404, '{"error":"database not found: \\"db\\""}'), "held"),
    (Answer("500 retention policy not found", 500, '{"error":"retention policy not found: rp"}'), "held"),
    (Answer("405 method not allowed", 405, "method not allowed"), "held"),
    (Answer("413 too large", 413, '{"error":"Request Entity Too Large"}'), "split"),
]


@dataclass
class ScriptedWriter:
    """Answers each write with the next scripted answer, then 204 once the script is used up."""

    answers: deque[Answer]
    # ("write", lines), ("refused", answer label) and, from the harness, ("ack", mid): in the order they happened.
    events: list[tuple[str, object]] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    attempts: int = 0
    attempt_times: list[float] = field(default_factory=list)
    closed: bool = False

    def write(self, lines: list[str]) -> None:
        self.attempts += 1
        self.attempt_times.append(time.monotonic())
        answer = self.answers.popleft() if self.answers else WRITTEN
        error = answer.error()
        if error is not None:
            self.events.append(("refused", answer.label))
            raise error
        self.stored.extend(lines)
        self.events.append(("write", list(lines)))

    def close(self) -> None:
        self.closed = True


def message(mid: int) -> InboundMessage:
    payload = json.dumps({"message": mid}).encode()
    return InboundMessage(f"v3/aarhus-city-lab@ttn/devices/d{mid}/up", payload, 1_000 + mid, mid, 1)


def envelope(mid: int, lines: list[str], *, letters: list[DeadLetter] | None = None) -> Envelope:
    return Envelope(message(mid), lab=LAB, codec="ttn-v3", lines=lines, dead_letters=letters or [])


def line(value: int, device: str = "d") -> str:
    return f"temperature,city=aarhus,device={device},lab={LAB} value={value}.0 {value}"


@dataclass
class Harness:
    writer: ScriptedWriter | RefusingInflux
    store: DeadLetterStore
    stats: IngestStats
    batcher: BatchWriter
    spool: Spool | None
    acks: list[int] = field(default_factory=list)
    letters_at_ack: dict[int, int] = field(default_factory=dict)


@pytest.fixture
def make_harness(tmp_path: Path):
    made: list[Harness] = []

    def make(
        *answers: Answer,
        writer: RefusingInflux | None = None,
        spool_after_s: float | None = None,
        max_backoff_s: float = 0.05,
    ) -> Harness:
        used = writer if writer is not None else ScriptedWriter(deque(answers))
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
                if isinstance(used, ScriptedWriter):
                    used.events.append(("ack", mid))

        batcher = BatchWriter(
            writer=used,
            dead_letters=store,
            ack=ack,
            stats=stats,
            linger_s=0.05,
            max_backoff_s=max_backoff_s,
            spool=spool,
            spool_after_s=spool_after_s if spool_after_s is not None else 10.0,
        )
        harness = Harness(used, store, stats, batcher, spool)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.batcher.stop(1)
        harness.store.close()
        if harness.spool is not None:
            harness.spool.close()


def test_the_table_covers_every_answer_class() -> None:
    statuses = {answer.status for answer, _ in OUTCOMES}
    assert {408, 429, 500, 503} <= statuses  # outages
    assert {401, 403, 404, 405} <= statuses  # held
    assert 413 in statuses
    assert {answer.label for answer, _ in OUTCOMES} >= {"connection refused", "hang (timeout)"}
    assert set(STYLES) >= {"v1", "v2", "v3"}  # refused points: test_each_shape_of_refusal


@pytest.mark.parametrize(("answer", "outcome"), OUTCOMES, ids=[answer.label for answer, _ in OUTCOMES])
def test_each_influxdb_answer_has_its_outcome(make_harness, caplog, answer: Answer, outcome: str) -> None:
    decode_letter = DeadLetter(1_002, "t", LAB, "ttn-v3", RejectCode.OUT_OF_RANGE, "humidity 140 %", b"{}")
    batch = [
        envelope(1, [line(1), line(2)]),
        envelope(2, [line(3)], letters=[decode_letter]),  # one reading stored, one refused by the normaliser
        envelope(3, []),  # nothing to write: acked with the rest
    ]
    harness = make_harness(answer)
    for item in batch:
        harness.batcher.submit(item)
    with caplog.at_level(logging.INFO, logger="hub.ingest.batcher"):
        harness.batcher.start()
        wait_until(lambda: len(harness.acks) == 3, 10, "every message acked")

    assert harness.acks == [1, 2, 3]  # arrival order, whatever InfluxDB said
    writer = harness.writer
    assert isinstance(writer, ScriptedWriter)
    assert sorted(writer.stored) == [line(1), line(2), line(3)]  # never dropped
    letters = harness.store.select()
    assert [(letter.reason_code, letter.reason) for letter in letters] == [("out_of_range", "humidity 140 %")]
    assert harness.letters_at_ack[1] == 1  # dead letters are committed before the first ack
    failures = [record for record in caplog.records if "InfluxDB write failed" in record.getMessage()]
    if outcome == "written":
        assert (writer.attempts, harness.stats.total.write_retries, failures) == (1, 0, [])
    elif outcome in ("retried", "held"):
        assert (writer.attempts, harness.stats.total.write_retries) == (2, 1)
        assert [kind for kind, _ in writer.events][-4:] == ["write", "ack", "ack", "ack"]  # acks after the write
        (failure,) = failures
        assert failure.levelno == (logging.ERROR if outcome == "held" else logging.WARNING)
        assert "never dropped" in failure.getMessage() if outcome == "held" else "retrying" in failure.getMessage()
        assert any("InfluxDB takes writes again" in record.getMessage() for record in caplog.records)
        assert harness.stats.write_failing is None
    else:
        assert outcome == "split"
        writes = [event for kind, event in writer.events if kind == "write"]
        assert writes == [[line(1)], [line(2), line(3)]]
    assert harness.stats.total.batches == 1


def test_a_hang_is_logged_with_what_it_looks_like(make_harness, caplog) -> None:
    harness = make_harness(TIMEOUT)
    harness.batcher.submit(envelope(1, [line(1)]))
    with caplog.at_level(logging.WARNING, logger="hub.ingest.batcher"):
        harness.batcher.start()
        wait_until(lambda: harness.acks == [1], 10, "ack")
    (failure,) = [record.getMessage() for record in caplog.records if "write failed" in record.getMessage()]
    assert "did not answer within 5s" in failure
    assert "hung or overloaded" in failure


def test_a_held_answer_says_what_to_fix(make_harness, caplog) -> None:
    harness = make_harness(Answer("404", 404, '{"error":"database not found: \\"db\\""}'))
    harness.batcher.submit(envelope(1, [line(1)]))
    with caplog.at_level(logging.WARNING, logger="hub.ingest.batcher"):
        harness.batcher.start()
        wait_until(lambda: harness.acks == [1], 10, "ack")
    (failure,) = [record.getMessage() for record in caplog.records if "write failed" in record.getMessage()]
    assert "CITYLAB_INFLUX_CREATE_DATABASE" in failure
    assert "come back with an empty data directory" in failure


def test_retry_after_is_honoured(make_harness) -> None:
    throttled = Answer("429", 429, "{}", headers={"Retry-After": "1"})
    harness = make_harness(throttled)
    harness.batcher.submit(envelope(1, [line(1)]))
    harness.batcher.start()
    wait_until(lambda: harness.acks == [1], 10, "ack")
    writer = harness.writer
    assert isinstance(writer, ScriptedWriter)
    first, second = writer.attempt_times
    assert second - first >= 0.95  # not the 0.2 s backoff


@pytest.mark.parametrize("style", STYLES)
def test_each_shape_of_refusal_dead_letters_exactly_the_refused_readings(make_harness, style: str) -> None:
    """A partial write: every other reading is stored, each refused one is a dead letter with its original message."""
    batch = [
        envelope(1, [line(1), line(2, "poison-a")]),  # one reading of this message stored, one refused
        envelope(2, [line(3)]),
        envelope(3, [line(4, "poison-b")]),
        envelope(4, []),
    ]
    influx = RefusingInflux(style)
    harness = make_harness(writer=influx)
    for item in batch:
        harness.batcher.submit(item)
    harness.batcher.start()
    wait_until(lambda: len(harness.acks) == 4, 10, "every message acked")

    assert harness.acks == [1, 2, 3, 4]
    assert sorted(set(influx.stored)) == sorted([line(1), line(3)])
    letters = harness.store.select()
    assert [(letter.topic, letter.payload, letter.lab, letter.codec) for letter in letters] == [
        (message(1).topic, message(1).payload, LAB, "ttn-v3"),
        (message(3).topic, message(3).payload, LAB, "ttn-v3"),
    ]
    assert all(letter.reason_code == RejectCode.STORE_REJECTED for letter in letters)
    assert [letter.received_ns for letter in letters] == [message(1).received_ns, message(3).received_ns]
    assert line(2, "poison-a") in letters[0].reason
    assert line(4, "poison-b") in letters[1].reason
    assert harness.stats.total.dead_letters[(LAB, RejectCode.STORE_REJECTED)] == 2
    assert harness.letters_at_ack[1] == 2


def test_transient_failures_hold_every_ack_until_the_write(make_harness) -> None:
    harness = make_harness(REFUSED, REFUSED, TIMEOUT, Answer("503", 503))
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1)]))
    wait_until(lambda: harness.acks == [1], 10, "ack after four failures")
    writer = harness.writer
    assert isinstance(writer, ScriptedWriter)
    assert writer.attempts == 5
    assert harness.stats.total.write_retries == 4
    assert [kind for kind, _ in writer.events] == ["refused"] * 4 + ["write", "ack"]


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
    writer = harness.writer
    assert isinstance(writer, ScriptedWriter)
    assert writer.stored == [line(1), line(2)]
    assert harness.stats.spool_depth == 0
    assert harness.store.select() == []


def test_a_held_answer_spools_too_and_nothing_is_dropped(make_harness) -> None:
    unauthorized = Answer("401", 401, '{"error":"authorization failed"}')
    harness = make_harness(*[unauthorized] * 6, spool_after_s=0.1)
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1)]))
    wait_until(lambda: harness.acks == [1], 10, "ack once spooled")
    wait_until(lambda: harness.spool is not None and harness.spool.depth == 0, 10, "drained once credentials work")
    writer = harness.writer
    assert isinstance(writer, ScriptedWriter)
    assert writer.stored == [line(1)]
    assert harness.store.select() == []


@pytest.mark.parametrize("style", ["v1", "v3"])
def test_a_spooled_batch_with_refused_points_is_dead_lettered_per_reading(make_harness, style: str) -> None:
    """The compound fault: an outage, then InfluxDB refuses a few points of the spooled batches."""
    influx = RefusingInflux(style, down=unreachable(ConnectionRefusedError("refused")))
    harness = make_harness(writer=influx, spool_after_s=0.05)
    harness.batcher.start()
    for mid in range(1, 41):
        harness.batcher.submit(envelope(mid, [line(mid, "poison" if mid % 10 == 0 else "d"), line(100 + mid)]))
    wait_until(lambda: len(harness.acks) == 40, 10, "acked once spooled")
    assert harness.spool is not None and harness.spool.depth == 80
    influx.down = None
    wait_until(lambda: harness.spool is not None and harness.spool.depth == 0, 10, "drained")

    letters = harness.store.select()
    assert [letter.topic for letter in letters] == [message(mid).topic for mid in (10, 20, 30, 40)]
    assert [letter.payload for letter in letters] == [message(mid).payload for mid in (10, 20, 30, 40)]
    assert all(letter.lab == LAB and letter.reason_code == RejectCode.STORE_REJECTED for letter in letters)
    good = [line(mid) for mid in range(1, 41) if mid % 10] + [line(100 + mid) for mid in range(1, 41)]
    assert sorted(set(influx.stored)) == sorted(good)  # 76 of 80 stored, 4 dead letters: none lost


def test_without_a_spool_a_stop_during_an_outage_acks_nothing(make_harness) -> None:
    harness = make_harness(*[REFUSED] * 1000)
    harness.batcher.start()
    harness.batcher.submit(envelope(1, [line(1)]))
    wait_until(lambda: harness.writer.attempts >= 2, 10, "retrying")
    assert harness.batcher.stop(0.2) is False
    assert harness.acks == []  # left for the broker to redeliver
    assert harness.store.select() == []


def test_stats_lines_go_out_with_the_batch_and_the_last_ones_at_stop(tmp_path: Path) -> None:
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
        final_lines=lambda: ["hub_stats,lab=_hub batches=1.0 2"],
    )
    batcher.submit(envelope(1, [line(1)]))
    batcher.start()
    wait_until(lambda: acks == [1], 10, "ack")
    assert batcher.stop(1)
    assert writer.stored[:2] == [line(1), "hub_stats,lab=_hub batches=0.0 1"]
    assert writer.stored[-1] == "hub_stats,lab=_hub batches=1.0 2"
    store.close()


@pytest.mark.integration
def test_batches_are_spooled_acked_and_drained(tmp_path: Path) -> None:
    """Real refused connections, then a real InfluxDB on that port, which answers 404 until its database exists."""
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
        inbound = InboundMessage("t", b"", 0, mid, 1)
        batcher.submit(Envelope(inbound, lab="lab", lines=[f"temperature,city=c,device=d,lab=l value={mid}.0 {mid}"]))
    wait_until(lambda: len(acks) == 10)
    assert acks == list(range(1, 11))  # in arrival order, each only after its line is on disk
    assert stats.spool_depth == 10

    # Up without the database: 404 is an outage, so the spool waits (it used to dead-letter everything).
    influx = InfluxDB1(port, tmp_path / "influx", database="late")
    influx.start(create_database=False)
    try:
        wait_until(lambda: stats.write_failing == "not_found", timeout_s=10, what="404 seen")
        assert stats.spool_depth == 10
        influx.create_database("late")
        wait_until(lambda: stats.spool_depth == 0, timeout_s=30)
        rows = wait_for_rows(InfluxQLClient(influx.url, "late"), 'SELECT "value" FROM temperature', 10)
        assert [row["value"] for row in rows] == [float(i) for i in range(1, 11)]
        assert spool.depth == 0
    finally:
        batcher.stop(5)
        influx.stop()
