"""``hub_stats`` points about the hub itself, every stats interval (the contract is in hub_stats.py).

The writer thread asks ``due_lines()`` before each flush, so the points go out with the readings,
through the same writes, retries and spool; an interval with nothing to say still writes the
writer's own point, so a quiet hub is told apart from a stopped one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hub.ingest.hub_stats import LabPoint, ReasonPoint, StatsPoint, WriterPoint
from hub.ingest.stats import IngestStats, StatsSnapshot


def stats_points(delta: StatsSnapshot, *, queue_depth: int, spool_depth: int) -> list[StatsPoint]:
    """One point per lab, one per lab and reason, and the writer's own, for one interval's ``delta``."""
    points: list[StatsPoint] = []
    for lab in sorted(set(delta.messages) | {lab for lab, _ in delta.dead_letters}):
        rejected = sum(n for (where, _), n in delta.dead_letters.items() if where == lab)
        points.append(LabPoint(lab, delta.messages[lab], delta.readings[lab], delta.unmapped[lab], rejected))
    points.extend(ReasonPoint(lab, reason, count) for (lab, reason), count in sorted(delta.dead_letters.items()))
    latencies = delta.write_seconds
    points.append(
        WriterPoint(
            batches=delta.batches,
            batch_lines=delta.batch_lines,
            write_latency_ms=1000 * sum(latencies) / len(latencies) if latencies else 0.0,
            write_latency_max_ms=1000 * max(latencies) if latencies else 0.0,
            write_retries=delta.write_retries,
            queue_depth=queue_depth,
            spool_depth=spool_depth,
        )
    )
    return points


class StatsReporter:
    """Takes the counters' delta once per ``interval_s`` and turns it into ``hub_stats`` lines."""

    def __init__(
        self,
        stats: IngestStats,
        *,
        interval_s: float,
        worker: str = "",
        monotonic: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._stats = stats
        self._interval_s = interval_s
        self._worker = worker  # the ``worker`` tag of every point (hub_stats.py)
        self._monotonic = monotonic
        self._wall_ns = wall_ns
        self._last = monotonic()

    def due_lines(self) -> list[str]:
        """The interval's lines once it is over, else nothing."""
        now = self._monotonic()
        if now - self._last < self._interval_s:
            return []
        self._last = now
        return self._lines()

    def final_lines(self) -> list[str]:
        """The counters since the last interval, whatever its length: what a stopping hub writes last."""
        self._last = self._monotonic()
        return self._lines()

    def _lines(self) -> list[str]:
        points = stats_points(
            self._stats.take_delta(), queue_depth=self._stats.queue_depth, spool_depth=self._stats.spool_depth
        )
        time_ns = self._wall_ns()
        return [point.line(time_ns, self._worker) for point in points]
