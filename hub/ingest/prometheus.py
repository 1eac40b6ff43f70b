"""Prometheus metrics of one ingest pipeline: its counters, gauges and write histograms.

The API's ``/metrics`` serves them when ``citylab serve`` hosts the API beside its pipeline
(hub/api/metrics.py); a worker of ``citylab serve --workers N`` writes them to its status file
(hub/ingest/workers.py), and the supervisor's ``/metrics`` serves every worker's with a ``worker``
label. Nothing here imports the web stack, so a worker process stays light.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.ingest.stats import IngestStats
from hub.store.writers import HELD, Answer

if TYPE_CHECKING:
    from hub.ingest.service import IngestService

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000)


class IngestCollector(Collector):
    def __init__(self, ingest: IngestService) -> None:
        self._ingest = ingest

    def collect(self) -> Iterator[Metric]:
        yield from ingest_metrics(self._ingest)


def ingest_metrics(ingest: IngestService) -> Iterator[Metric]:
    stats = ingest.stats
    total = stats.total
    messages = CounterMetricFamily("citylab_messages", "MQTT messages handled, by lab", labels=["lab"])
    readings = CounterMetricFamily("citylab_readings", "Readings decoded and written, by lab", labels=["lab"])
    unmapped = CounterMetricFamily("citylab_unmapped_keys", "Payload keys no quantity maps to, by lab", labels=["lab"])
    for lab in sorted(total.messages):
        messages.add_metric([lab], total.messages[lab])
        readings.add_metric([lab], total.readings[lab])
        unmapped.add_metric([lab], total.unmapped[lab])
    dead = CounterMetricFamily(
        "citylab_dead_letters", "Messages or readings sent to dead letters, by lab and reason", labels=["lab", "reason"]
    )
    for (lab, reason), count in sorted(total.dead_letters.items()):
        dead.add_metric([lab, reason], count)
    retries = CounterMetricFamily("citylab_write_retries", "InfluxDB write attempts that failed and were retried")
    retries.add_metric([], total.write_retries)
    yield from (messages, readings, unmapped, dead, retries)
    yield GaugeMetricFamily("citylab_queue_depth", "Envelopes waiting for the writer thread", value=stats.queue_depth)
    yield GaugeMetricFamily(
        "citylab_spool_depth",
        "Readings (lines) held in the disk spool while InfluxDB is down",
        value=stats.spool_depth,
    )
    yield GaugeMetricFamily(
        "citylab_mqtt_connected", "1 while the ingest service is connected to MQTT", value=1 if ingest.connected else 0
    )
    failing = stats.write_failing
    yield GaugeMetricFamily(
        "citylab_write_failing", "1 while InfluxDB writes fail (retried, then spooled)", value=1 if failing else 0
    )
    # Held: InfluxDB refuses the hub's credentials, the database is missing, or the request is refused. Nothing
    # is dropped, but only an operator can fix it: alert on this one.
    held = failing is not None and Answer(failing) in HELD
    yield GaugeMetricFamily(
        "citylab_write_held",
        "1 while writes are held by an answer only an operator can fix (401/403, 404, another 4xx); see the log",
        value=1 if held else 0,
    )
    yield from _forwarding_metrics(ingest)


# ForwardStats counters, by lab: what the NGSI-LD forwarder was offered, what the city's broker took, and why not.
_FORWARD_COUNTERS = {
    "offered": "attribute values offered to the NGSI-LD forwarder",
    "sent": "attribute values the city's NGSI-LD broker accepted",
    "failed": "attribute values the city's NGSI-LD broker refused",
    "coalesced": "older values replaced by a newer one of the same attribute while the forward queue was full",
    "dropped": "values of new attributes refused while the forward queue was full of latest values",
    "retries": "forward batches retried after a transport error, 429 or 5xx",
}


def _forwarding_metrics(ingest: IngestService) -> Iterator[Metric]:
    forwarders = ingest.forwarding.forwarders
    if not forwarders:
        return
    for name, help_text in _FORWARD_COUNTERS.items():
        family = CounterMetricFamily(f"citylab_forward_{name}", help_text, labels=["lab"])
        for lab, forwarder in sorted(forwarders.items()):
            family.add_metric([lab], getattr(forwarder.stats, name))
        yield family
    depth = GaugeMetricFamily("citylab_forward_queue_depth", "Values waiting to be forwarded, by lab", labels=["lab"])
    for lab, forwarder in sorted(forwarders.items()):
        depth.add_metric([lab], forwarder.stats.queue_depth)
    yield depth


def observe_batches(stats: IngestStats, registry: CollectorRegistry) -> None:
    """Feed write latency and batch size histograms from every batch the writer reports."""
    latency = Histogram(
        "citylab_write_latency_seconds",
        "Time to write one batch to InfluxDB",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    sizes = Histogram(
        "citylab_batch_lines", "Lines per batch written to InfluxDB", buckets=BATCH_BUCKETS, registry=registry
    )

    def observe(lines: int, seconds: float) -> None:
        latency.observe(seconds)
        sizes.observe(lines)

    stats.observe_batches(observe)


def ingest_registry(ingest: IngestService) -> CollectorRegistry:
    """Everything one pipeline exports: what a worker writes to its status file."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngestCollector(ingest))
    observe_batches(ingest.stats, registry)
    return registry
