"""The ``hub_stats`` measurement: what the hub writes about itself, defined once.

The stats reporter (hub/ingest/stats_reporter.py) writes these points every stats interval,
and the Hub health dashboard (dashboards/hub_health.py) queries them, so the health dashboard
needs no Prometheus. Counter fields are deltas per interval; depths are the value at the time.

Three kinds of point, told apart by their tags:

- per lab: ``lab=<slug>`` (``unknown`` for messages no lab claims) with ``LabField`` fields;
- per lab and reason: ``lab``, ``reason=<RejectCode>`` with the one field ``rejected``;
- the writer's own: ``lab=_hub`` with ``WriterField`` fields.

Every point also carries ``worker=<MQTT client id>``: the pipeline that wrote it. Several pipelines
(``citylab serve --workers N``, replicas on other machines) write their points at the same moments,
and two points of one series at the same nanosecond would overwrite each other; the tag keeps them
apart, so sums over the tag count every worker. Points written before the tag existed have none.

Every field is a float, as everything the hub writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.store.line_protocol import stats_line

MEASUREMENT = "hub_stats"

# The ``lab`` tag of the writer's own point: no lab slug can start with "_".
WRITER_LAB = "_hub"
# The ``lab`` tag of dead letters whose message no lab claims.
UNKNOWN_LAB = "unknown"


class Tag(StrEnum):
    LAB = "lab"
    REASON = "reason"
    WORKER = "worker"  # the writing pipeline's MQTT client id, on every point


class LabField(StrEnum):
    MESSAGES = "messages"  # MQTT messages routed to the lab
    READINGS = "readings"  # readings decoded and handed to the writer
    UNMAPPED = "unmapped"  # payload keys no quantity matched
    DEAD_LETTERS = "dead_letters"  # messages or readings refused, all reasons together


class ReasonField(StrEnum):
    REJECTED = "rejected"  # dead letters of one lab and reason


class WriterField(StrEnum):
    BATCHES = "batches"
    BATCH_LINES = "batch_lines"
    WRITE_LATENCY_MS = "write_latency_ms"  # mean over the interval's batches
    WRITE_LATENCY_MAX_MS = "write_latency_max_ms"
    WRITE_RETRIES = "write_retries"
    QUEUE_DEPTH = "queue_depth"  # envelopes waiting for the writer thread
    SPOOL_DEPTH = "spool_depth"  # lines held in the disk spool


@dataclass(frozen=True, slots=True)
class LabPoint:
    lab: str
    messages: int
    readings: int
    unmapped: int
    dead_letters: int

    def line(self, time_ns: int, worker: str = "") -> str:
        fields: dict[str, float] = {
            LabField.MESSAGES: self.messages,
            LabField.READINGS: self.readings,
            LabField.UNMAPPED: self.unmapped,
            LabField.DEAD_LETTERS: self.dead_letters,
        }
        return stats_line(MEASUREMENT, {Tag.LAB: self.lab, Tag.WORKER: worker}, fields, time_ns)


@dataclass(frozen=True, slots=True)
class ReasonPoint:
    lab: str
    reason: str
    rejected: int

    def line(self, time_ns: int, worker: str = "") -> str:
        tags: dict[str, str] = {Tag.LAB: self.lab, Tag.REASON: self.reason, Tag.WORKER: worker}
        return stats_line(MEASUREMENT, tags, {ReasonField.REJECTED: self.rejected}, time_ns)


@dataclass(frozen=True, slots=True)
class WriterPoint:
    batches: int
    batch_lines: int
    write_latency_ms: float
    write_latency_max_ms: float
    write_retries: int
    queue_depth: int
    spool_depth: int

    def line(self, time_ns: int, worker: str = "") -> str:
        fields: dict[str, float] = {
            WriterField.BATCHES: self.batches,
            WriterField.BATCH_LINES: self.batch_lines,
            WriterField.WRITE_LATENCY_MS: self.write_latency_ms,
            WriterField.WRITE_LATENCY_MAX_MS: self.write_latency_max_ms,
            WriterField.WRITE_RETRIES: self.write_retries,
            WriterField.QUEUE_DEPTH: self.queue_depth,
            WriterField.SPOOL_DEPTH: self.spool_depth,
        }
        return stats_line(MEASUREMENT, {Tag.LAB: WRITER_LAB, Tag.WORKER: worker}, fields, time_ns)


StatsPoint = LabPoint | ReasonPoint | WriterPoint
