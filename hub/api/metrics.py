"""Prometheus metrics: stored dead letters always; the ingest counters of the pipeline ``citylab serve`` runs
beside the API, or of every worker of ``citylab serve --workers N``.

A standalone ``citylab api`` has no ingest service in its process, so it exports only what it can see:
the dead letters stored in SQLite (every store under the data directory, workers' too). Under a
supervisor, each worker's own metrics (hub/ingest/prometheus.py), read from the status file it renews
every second (hub/ingest/workers.py), are served with a ``worker`` label (its MQTT client id): sum
over it for the whole hub. Only a worker's current process counts; its counters start again from 0
when it is restarted, which Prometheus treats as a counter reset.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from hub.api.state import DeadLetterAccess, WorkerGroup
from hub.ingest.prometheus import IngestCollector, observe_batches
from hub.ingest.workers import STALE_AFTER_S, read_status

if TYPE_CHECKING:
    from hub.ingest.service import IngestService

log = logging.getLogger(__name__)


class StoredDeadLetters(Collector):
    def __init__(self, dead_letters: DeadLetterAccess) -> None:
        self._dead_letters = dead_letters

    def collect(self) -> Iterator[Metric]:
        stored = GaugeMetricFamily(
            "citylab_dead_letters_stored",
            "Dead letters waiting in the stores (every worker's), by lab and reason",
            labels=["lab", "reason"],
        )
        try:
            with self._dead_letters.open() as store:
                counts = store.counts()
        except (sqlite3.Error, OSError) as exc:
            log.warning("metrics: can't read the dead-letter store: %s", exc)
            counts = {}
        for (lab, reason), count in sorted(counts.items(), key=lambda item: (item[0][0] or "", item[0][1])):
            stored.add_metric([lab or "unknown", reason], count)
        yield stored


class WorkersCollector(Collector):
    """Every worker's metrics with a ``worker`` label, and the supervisor's own view of each worker."""

    def __init__(self, workers: WorkerGroup) -> None:
        self._workers = workers

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "citylab_worker_up",
            "1 while the worker's process runs, renews its status and is connected to MQTT",
            labels=["worker"],
        )
        restarts = CounterMetricFamily(
            "citylab_worker_restarts", "Times the supervisor restarted the worker after it ended", labels=["worker"]
        )
        merged: dict[str, Metric] = {}
        for state in self._workers.states():
            client_id = state.identity.client_id
            status = read_status(state.identity.data_dir)
            current = status is not None and state.pid is not None and status.pid == state.pid
            fresh = current and status is not None and status.age_s() < STALE_AFTER_S
            up.add_metric([client_id], 1 if fresh and status is not None and status.connected else 0)
            restarts.add_metric([client_id], state.restarts)
            if current and status is not None:
                _merge_labelled(merged, status.metrics, client_id)
        yield up
        yield restarts
        yield from merged.values()


def _merge_labelled(merged: dict[str, Metric], text: str, worker: str) -> None:
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        log.warning("metrics: can't parse the status of %s: %s", worker, exc)
        return
    for family in families:
        target = merged.get(family.name)
        if target is None:
            target = merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
        for sample in family.samples:
            target.add_sample(sample.name, {**sample.labels, "worker": worker}, sample.value, sample.timestamp)


def make_registry(
    dead_letters: DeadLetterAccess, ingest: IngestService | None, workers: WorkerGroup | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if ingest is not None:
        registry.register(IngestCollector(ingest))
        observe_batches(ingest.stats, registry)
    if workers is not None:
        registry.register(WorkersCollector(workers))
    registry.register(StoredDeadLetters(dead_letters))
    return registry
