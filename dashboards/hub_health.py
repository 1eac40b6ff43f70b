"""Hub health: the hub's own ``hub_stats`` points, as hub/ingest/hub_stats.py defines them.

Counter fields are deltas per stats interval, so every panel sums them per time bucket.
Tags: ``lab`` (a lab slug, ``unknown`` for messages no lab claims, or ``_hub`` for the
writer's own figures), ``reason`` (on the per-reason ``rejected`` points only) and ``worker``
(the MQTT client id of the pipeline that wrote the point). Sums over every point count every
worker (``citylab serve --workers N``, replicas on other machines); depths are a value per
worker at a time, so their panel shows one series per worker, stacked.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models

from dashboards.common import (
    CITIES_UID,
    DATASOURCE,
    HUB_HEALTH_UID,
    citylab_dashboard,
    dashboard_link,
    number_panels,
    query,
    thresholds,
)
from hub.ingest.hub_stats import MEASUREMENT, WRITER_LAB, LabField, ReasonField, Tag, WriterField

UID = HUB_HEALTH_UID
TITLE = "Hub health"

STATS = f'"{MEASUREMENT}"'
LAB = f'"{Tag.LAB}"'
REASON = f'"{Tag.REASON}"'
WORKER = f'"{Tag.WORKER}"'
PER_LAB = f"{LAB} != '{WRITER_LAB}'"
WRITER_POINTS = f"{LAB} = '{WRITER_LAB}'"


def _total(title: str, field: LabField, description: str, *, bad_above: float | None = None) -> stat.Panel:
    steps: list[tuple[float | None, str]] = [(None, "green")]
    if bad_above is not None:
        steps.append((bad_above, "red"))
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query(f'SELECT sum("{field}") FROM {STATS} WHERE {PER_LAB} AND $timeFilter'))
        .thresholds(thresholds(*steps))
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .span(6)
        .height(4)
    )


def _per_lab(title: str, field: LabField, description: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT sum("{field}") FROM {STATS} WHERE {PER_LAB} AND $timeFilter '
                f"GROUP BY time($__interval), {LAB} fill(0)"
            ).alias(f"$tag_{Tag.LAB}")
        )
        .draw_style(common_models.GraphDrawStyle.BARS)
        .fill_opacity(60)
        .stacking(_stacked())
        .span(12)
        .height(8)
    )


def _stacked() -> common_builders.StackingConfig:
    return common_builders.StackingConfig().mode(common_models.StackingMode.NORMAL)


def _dead_letters() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Dead letters per lab and reason")
        .description(
            "Messages or readings the hub refused, per lab and reason code; each is kept in the dead-letter "
            "store with its payload. Lab 'unknown' counts messages on topics no lab claims."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT sum("{ReasonField.REJECTED}") FROM {STATS} WHERE $timeFilter '
                f"GROUP BY time($__interval), {LAB}, {REASON} fill(0)"
            ).alias(f"$tag_{Tag.LAB}: $tag_{Tag.REASON}")
        )
        .draw_style(common_models.GraphDrawStyle.BARS)
        .fill_opacity(60)
        .stacking(_stacked())
        .span(12)
        .height(8)
    )


def _write_latency() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Write latency")
        .description(
            "Time one batch write to InfluxDB takes: the mean of each interval's mean (intervals that wrote "
            "nothing are left out) and the slowest single write."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT mean("{WriterField.WRITE_LATENCY_MS}") FROM {STATS} '
                f'WHERE {WRITER_POINTS} AND "{WriterField.BATCHES}" > 0 AND $timeFilter '
                "GROUP BY time($__interval) fill(null)"
            ).alias("mean")
        )
        .with_target(
            query(
                f'SELECT max("{WriterField.WRITE_LATENCY_MAX_MS}") FROM {STATS} '
                f'WHERE {WRITER_POINTS} AND "{WriterField.BATCHES}" > 0 AND $timeFilter '
                "GROUP BY time($__interval) fill(null)",
                "B",
            ).alias("max")
        )
        .unit("ms")
        .span(12)
        .height(8)
    )


def _writes() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Batches, lines and retries")
        .description("Batches written, line-protocol lines in them, and write attempts retried after a failure.")
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT sum("{WriterField.BATCHES}") AS "batches", sum("{WriterField.BATCH_LINES}") AS "lines", '
                f'sum("{WriterField.WRITE_RETRIES}") AS "retries" '
                f"FROM {STATS} WHERE {WRITER_POINTS} AND $timeFilter GROUP BY time($__interval) fill(0)"
            ).alias("$col")
        )
        .span(12)
        .height(8)
    )


def _depths() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Queue and spool depth per worker")
        .description(
            "Queue: envelopes waiting for the writer thread. Spool: readings held on disk (and already acked "
            "to MQTT) while InfluxDB is unreachable; it drains, oldest first, once InfluxDB answers again. "
            "One series per worker (MQTT client id), stacked: each worker's spool is on its own disk, in its "
            "own data directory."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT max("{WriterField.QUEUE_DEPTH}") AS "queue", max("{WriterField.SPOOL_DEPTH}") AS "spool" '
                f"FROM {STATS} WHERE {WRITER_POINTS} AND $timeFilter GROUP BY time($__interval), {WORKER} fill(null)"
            ).alias(f"$tag_{Tag.WORKER} $col")
        )
        .stacking(_stacked())
        .min(0)
        .span(12)
        .height(8)
    )


def _per_worker() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Messages per worker")
        .description(
            "MQTT messages each ingest pipeline (worker, by MQTT client id) handled per time bucket. Workers in "
            "one shared-subscription group split the messages between them; a worker whose share stops while "
            "the others go on is down, and the broker queues its share for it until it is back."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT sum("{LabField.MESSAGES}") FROM {STATS} WHERE {PER_LAB} AND $timeFilter '
                f"GROUP BY time($__interval), {WORKER} fill(0)"
            ).alias(f"$tag_{Tag.WORKER}")
        )
        .draw_style(common_models.GraphDrawStyle.BARS)
        .fill_opacity(60)
        .stacking(_stacked())
        .span(12)
        .height(8)
    )


def build() -> models.Dashboard:
    builder = citylab_dashboard(
        TITLE,
        UID,
        "What the hub received, wrote and refused, from its own hub_stats points.",
        time_from="now-6h",
        refresh="30s",
    ).link(dashboard_link("Nordic cities compared", CITIES_UID))
    panels = [
        _total("Messages received", LabField.MESSAGES, "MQTT messages routed to a lab over the range."),
        _total("Readings written", LabField.READINGS, "Readings written to InfluxDB over the range."),
        _total("Dead letters", LabField.DEAD_LETTERS, "Messages or readings refused over the range.", bad_above=1),
        _total(
            "Unmapped keys",
            LabField.UNMAPPED,
            "Payload keys no layer of the key resolver knows, so no reading (kept out of the store). Which keys:"
            " `citylab labs unmapped --lab <lab>` or GET /api/v1/unmapped?lab=<lab>.",
            bad_above=1,
        ),
        _per_lab("Messages received per lab", LabField.MESSAGES, "MQTT messages per lab per time bucket."),
        _per_lab("Readings written per lab", LabField.READINGS, "Readings written per lab per time bucket."),
        _per_lab(
            "Unmapped keys per lab",
            LabField.UNMAPPED,
            "Keys seen per lab per time bucket that neither the lab's mappings, a device profile nor an alias map."
            " Key names are not written to InfluxDB (they come from payloads: unbounded series); they are in the"
            " hub's unmapped-key store, with counts, a sample value, the device model and a snippet for the lab's"
            " YAML: `citylab labs unmapped --lab <lab>`, or GET /api/v1/unmapped?lab=<lab>. Keys read only by a"
            " guess (a device without a profile) are listed there too.",
        ),
        _dead_letters(),
        _per_worker(),
        _write_latency(),
        _writes(),
        _depths(),
    ]
    for panel in number_panels(panels):
        builder = builder.with_panel(panel)
    return builder.build()
