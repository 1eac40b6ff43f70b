"""hub_stats points: what the reporter writes per interval, in the shape hub/ingest/hub_stats.py defines."""

from __future__ import annotations

import re

import httpx
import pytest

from core.model import RejectCode
from dashboards import hub_health
from hub.ingest.hub_stats import (
    MEASUREMENT,
    WRITER_LAB,
    LabField,
    LabPoint,
    ReasonField,
    ReasonPoint,
    Tag,
    WriterField,
    WriterPoint,
)
from hub.ingest.stats import IngestStats
from hub.ingest.stats_reporter import StatsReporter, stats_points
from hub.store.influxql import Series
from tests.dashboards import walk
from tests.dashboards.macros import QueryContext

T = 1_772_359_200_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def busy_stats() -> IngestStats:
    stats = IngestStats()
    stats.message("aarhus-city-lab", readings=3, unmapped=1)
    stats.message("aarhus-city-lab", readings=2, unmapped=0)
    stats.message("oslo-urban-lab", readings=4, unmapped=0)
    stats.dead_letter("aarhus-city-lab", RejectCode.OUT_OF_RANGE, 2)
    stats.dead_letter("aarhus-city-lab", RejectCode.DECODE_ERROR)
    stats.dead_letter("unknown", RejectCode.NO_SOURCE)
    stats.batch_written(lines=9, seconds=0.004)
    stats.batch_written(lines=1, seconds=0.002)
    stats.retry()
    stats.queue_depth = 7
    stats.spool_depth = 11
    return stats


def test_points_per_lab_per_reason_and_for_the_writer() -> None:
    stats = busy_stats()
    points = stats_points(stats.take_delta(), queue_depth=7, spool_depth=11)
    assert points == [
        LabPoint("aarhus-city-lab", messages=2, readings=5, unmapped=1, dead_letters=3),
        LabPoint("oslo-urban-lab", messages=1, readings=4, unmapped=0, dead_letters=0),
        LabPoint("unknown", messages=0, readings=0, unmapped=0, dead_letters=1),
        ReasonPoint("aarhus-city-lab", "decode_error", 1),
        ReasonPoint("aarhus-city-lab", "out_of_range", 2),
        ReasonPoint("unknown", "no_source", 1),
        WriterPoint(
            batches=2,
            batch_lines=10,
            write_latency_ms=3.0,
            write_latency_max_ms=4.0,
            write_retries=1,
            queue_depth=7,
            spool_depth=11,
        ),
    ]


def test_lines_are_the_measurement_tags_and_float_fields() -> None:
    assert LabPoint("oslo-urban-lab", 1, 4, 0, 0).line(T) == (
        f"{MEASUREMENT},lab=oslo-urban-lab dead_letters=0.0,messages=1.0,readings=4.0,unmapped=0.0 {T}"
    )
    assert ReasonPoint("oslo-urban-lab", "bad_time", 2).line(T) == (
        f"{MEASUREMENT},lab=oslo-urban-lab,reason=bad_time rejected=2.0 {T}"
    )
    assert WriterPoint(1, 2, 0.5, 0.5, 0, 3, 4).line(T) == (
        f"{MEASUREMENT},lab={WRITER_LAB} batch_lines=2.0,batches=1.0,queue_depth=3.0,spool_depth=4.0,"
        f"write_latency_max_ms=0.5,write_latency_ms=0.5,write_retries=0.0 {T}"
    )


def test_one_report_per_interval_each_with_that_intervals_deltas() -> None:
    stats = busy_stats()
    clock = Clock()
    reporter = StatsReporter(stats, interval_s=5.0, monotonic=clock, wall_ns=lambda: T)
    clock.now += 4.9
    assert reporter.due_lines() == []
    clock.now += 0.1
    first = reporter.due_lines()
    assert len(first) == 7
    assert f"{MEASUREMENT},lab=aarhus-city-lab dead_letters=3.0,messages=2.0,readings=5.0,unmapped=1.0 {T}" in first
    assert reporter.due_lines() == []  # the next interval has only just begun

    stats.message("oslo-urban-lab", readings=1, unmapped=0)
    clock.now += 5.0
    second = reporter.due_lines()
    # Deltas: only what happened since; the writer's point always, depths as they are now.
    assert second == [
        f"{MEASUREMENT},lab=oslo-urban-lab dead_letters=0.0,messages=1.0,readings=1.0,unmapped=0.0 {T}",
        f"{MEASUREMENT},lab={WRITER_LAB} batch_lines=0.0,batches=0.0,queue_depth=7.0,spool_depth=11.0,"
        f"write_latency_max_ms=0.0,write_latency_ms=0.0,write_retries=0.0 {T}",
    ]
    assert stats.total.messages["oslo-urban-lab"] == 2  # totals (for /metrics) are untouched by reporting


def test_the_hub_health_dashboard_reads_exactly_the_fields_the_hub_writes() -> None:
    """Every hub_stats field the reporter writes is on the dashboard, and the dashboard reads no other."""
    dashboard = walk.load(hub_health.UID)
    queried: set[str] = set()
    tags: set[str] = set()
    for target in walk.targets(hub_health.UID, dashboard):
        assert f'FROM "{MEASUREMENT}"' in target.query, target.where
        queried.update(re.findall(r'(?:sum|mean|max)\("([^"]+)"\)', target.query))
        tags.update(target.group_tags)
    written = {field for kind in (LabField, ReasonField, WriterField) for field in kind}
    assert queried == written
    assert tags == set(Tag)


def test_the_final_lines_carry_what_the_interval_has_so_far() -> None:
    """At stop the hub writes the counters of its last, unfinished interval: none are lost to a restart."""
    clock = [100.0]
    stats = IngestStats()
    reporter = StatsReporter(stats, interval_s=5.0, monotonic=lambda: clock[0], wall_ns=lambda: 7)
    stats.message("oslo-urban-lab", 3, 0)
    clock[0] += 1.0
    assert reporter.due_lines() == []  # the interval is not over
    final = reporter.final_lines()
    assert any("lab=oslo-urban-lab" in line and "messages=1.0" in line for line in final)
    assert all(line.endswith(" 7") for line in final)


def test_every_point_says_which_worker_wrote_it() -> None:
    stats = busy_stats()
    lines = StatsReporter(stats, interval_s=5.0, worker="hub-w2", wall_ns=lambda: T).final_lines()
    assert len(lines) == 7
    assert all(f",{Tag.WORKER}=hub-w2 " in line for line in lines)
    assert f"{MEASUREMENT},lab=aarhus-city-lab,reason=out_of_range,{Tag.WORKER}=hub-w2 rejected=2.0 {T}" in lines


@pytest.mark.integration
def test_the_dashboard_sums_two_workers_that_wrote_at_the_same_nanosecond(influx, database, influxql) -> None:
    """Without the worker tag, the second worker's point would overwrite the first's (same series, same time)."""
    lines = []
    for worker, messages in (("hub-w1", 3), ("hub-w2", 4)):
        stats = IngestStats()
        for _ in range(messages):
            stats.message("aarhus-city-lab", readings=2, unmapped=0)
        stats.dead_letter("aarhus-city-lab", RejectCode.OUT_OF_RANGE)
        stats.spool_depth = messages
        lines += StatsReporter(stats, interval_s=5.0, worker=worker, wall_ns=lambda: T).final_lines()
    httpx.post(f"{influx.url}/write", params={"db": database}, content="\n".join(lines)).raise_for_status()

    dashboard = walk.load(hub_health.UID)
    by_title = {target.panel["title"]: target for target in walk.targets(hub_health.UID, dashboard)}
    context = QueryContext(T // 1_000_000 - 3_600_000, T // 1_000_000 + 3_600_000)

    def run(title: str) -> list[Series]:
        return influxql.query(context.expand(by_title[title].query))

    assert run("Messages received")[0].values[0][1] == 7
    assert run("Readings written")[0].values[0][1] == 14
    assert run("Dead letters")[0].values[0][1] == 2
    assert sum(row[1] for series in run("Messages received per lab") for row in series.values) == 7
    rejected = run("Dead letters per lab and reason")
    assert sum(row[1] for series in rejected for row in series.values) == 2
    per_worker = {
        series.tags[Tag.WORKER]: sum(row[1] for row in series.values) for series in run("Messages per worker")
    }
    assert per_worker == {"hub-w1": 3, "hub-w2": 4}
    spools = {
        series.tags[Tag.WORKER]: [row["spool"] for row in series.records() if row["spool"] is not None]
        for series in run("Queue and spool depth per worker")
    }
    assert spools == {"hub-w1": [3], "hub-w2": [4]}
