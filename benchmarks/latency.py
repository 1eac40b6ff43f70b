"""Latency at a steady rate: from publishing a message to its reading being queryable in InfluxDB.

The hub runs with a fresh session and nothing queued; the mix is published at a paced rate
(1,000 msg/s for 20 s by default) at QoS 1. Every ``probe_every``-th message is a probe: one of
its readings (measurement, city, device, lab and its own timestamp: unique in the run) is
looked for in InfluxDB every ``poll_s`` by a thread that asks for all outstanding probes in one
request. A probe's latency is the wall-clock time of the answer that first finds it, minus the
time just before it was handed to the MQTT client: conservative by up to one poll interval
plus one query. Nothing is read from the hub itself.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from benchmarks.mix import Expectation, MixMessage
from benchmarks.phases import Consumer, Context, wait_quiet
from benchmarks.procstat import MachineBusy, PeakSampler, cpu_seconds, tree_cpu_seconds
from benchmarks.stack import LogLine
from simulators import Publisher


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    for escaped in ("\\,", "\\=", "\\ "):
        text = text.replace(escaped, escaped[1])
    return text


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def probe_statement(line: str) -> str:
    """An InfluxQL statement that finds exactly the point of one line of the hub's line protocol."""
    series, _fields, stamp = line.rsplit(" ", 2)
    measurement, *tags = _split_unescaped(series, ",")
    conditions = []
    for tag in tags:
        key, value = _split_unescaped(tag, "=")
        conditions.append(f'"{_unescape(key)}"={_quote(_unescape(value))}')
    conditions.append(f"time = {int(stamp)}")
    name = _unescape(measurement).replace('"', '\\"')
    return f'SELECT count("value") FROM "{name}" WHERE ' + " AND ".join(conditions)


@dataclass
class Probe:
    statement: str
    published_ns: int | None = None
    found_ns: int | None = None


class ProbePoller:
    """Asks InfluxDB for every outstanding probe (oldest first, at most ``batch``) every ``poll_s``."""

    def __init__(self, url: str, database: str, probes: list[Probe], poll_s: float, batch: int = 40) -> None:
        self.url = url
        self.database = database
        self.probes = probes
        self.poll_s = poll_s
        self.batch = batch
        self.queries = 0
        self.query_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-probes", daemon=True)

    def start(self) -> ProbePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def outstanding(self) -> int:
        return sum(1 for probe in self.probes if probe.found_ns is None)

    def _run(self) -> None:
        # http.client, not httpx: a poll every 10 ms must cost the shared cores as little as it can.
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port or 8086, timeout=10)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        first = 0  # probes before this one are all found
        try:
            while not self._stop.wait(self.poll_s):
                while first < len(self.probes) and self.probes[first].found_ns is not None:
                    first += 1
                waiting = [
                    p for p in self.probes[first : first + 4 * self.batch] if p.published_ns and p.found_ns is None
                ][: self.batch]
                if not waiting:
                    continue
                body = urlencode({"db": self.database, "q": ";".join(p.statement for p in waiting)})
                began = time.perf_counter()
                connection.request("POST", "/query", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                answered_ns = time.time_ns()
                self.queries += 1
                self.query_s += time.perf_counter() - began
                if response.status != 200:
                    continue
                for result in orjson.loads(payload).get("results", []):
                    if result.get("series"):
                        waiting[int(result["statement_id"])].found_ns = answered_ns
        finally:
            connection.close()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def run(
    ctx: Context,
    consumer: Consumer,
    database: str,
    messages: list[MixMessage],
    expectation: Expectation,
    *,
    rate: float,
    probe_every: int = 25,
    poll_s: float = 0.01,
) -> dict[str, Any]:
    """Publish ``messages`` at ``rate`` to a running hub and measure publish-to-queryable latency."""
    assert ctx.broker.log is not None and ctx.broker.process is not None and ctx.influx.process is not None
    broker_pid, influx_pid = ctx.broker.process.pid, ctx.influx.process.pid
    wait_quiet([broker_pid, influx_pid])
    log = ctx.broker.log
    mark = log.mark()
    process = consumer.launch(ctx, database, setup=False)
    sampler = PeakSampler(process.pid).start()
    result: dict[str, Any] = {
        "phase": "latency",
        "title": f"latency at a paced {rate:g} msg/s",
        "rate_target_msg_s": rate,
        "messages": len(messages),
        "expected": expectation.points,
        "counted": "points in InfluxDB",
        "probe_every": probe_every,
        "poll_s": poll_s,
    }

    def subscribed(_lines: list[LogLine]) -> float | None:
        found = log.subscriptions(mark, consumer.client_prefix)
        return found[-1].at if len(found) >= len(consumer.topic_filters) else None

    try:
        log.wait_for(subscribed, 120, alive=lambda: process.poll() is None)
    except Exception as exc:
        sampler.stop()
        consumer.stop(process)
        return {**result, "status": "failed", "error": f"{exc}\n{consumer.log_tail()}"}

    # A probe needs a reading stamped with its payload's own time (the hub would stamp others on arrival).
    stamped_on_arrival = f" {expectation.received_ns}"
    probes: dict[int, Probe] = {
        index: Probe(probe_statement(expectation.lines[index][0]))
        for index in range(0, len(messages), probe_every)
        if expectation.lines[index] and not expectation.lines[index][0].endswith(stamped_on_arrival)
    }
    poller = ProbePoller(ctx.influx.url, database, list(probes.values()), poll_s).start()
    own_pid = os.getpid()
    cpu_start = (
        tree_cpu_seconds(process.pid),
        cpu_seconds(broker_pid) or 0.0,
        cpu_seconds(influx_pid) or 0.0,
        cpu_seconds(own_pid) or 0.0,
    )
    busy_start = MachineBusy.now()
    began = time.monotonic()
    worst_lag = 0.0
    with Publisher(ctx.broker.url, client_id="bench-latency-publisher", max_inflight=1000) as publisher:
        began = time.monotonic()
        for index, item in enumerate(messages):
            due = began + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                worst_lag = max(worst_lag, -delay)
            probe = probes.get(index)
            if probe is not None:
                probe.published_ns = time.time_ns()
            publisher.publish(item.message)
        publish_s = time.monotonic() - began
    report = publisher.report
    deadline = time.monotonic() + ctx.stall_s
    while poller.outstanding() and time.monotonic() < deadline:
        time.sleep(0.05)
    poller.stop()
    # Every reading, not just the probes: nothing may be lost at a steady rate either.
    stored, last_change = 0, time.monotonic()
    while stored < expectation.points and time.monotonic() - last_change < ctx.stall_s:
        now = ctx.count_points(database, expectation.measurements)
        if now != stored:
            stored, last_change = now, time.monotonic()
        time.sleep(0.2)
    window = time.monotonic() - began
    cpu_end = (
        tree_cpu_seconds(process.pid),
        cpu_seconds(broker_pid) or 0.0,
        cpu_seconds(influx_pid) or 0.0,
        cpu_seconds(own_pid) or 0.0,
    )
    busy_end = MachineBusy.now()
    sampler.stop()
    consumer.stop(process)
    latencies_ms = [
        (p.found_ns - p.published_ns) / 1e6
        for p in probes.values()
        if p.found_ns is not None and p.published_ns is not None
    ]
    cpu = [end - start for start, end in zip(cpu_start, cpu_end, strict=True)]
    result.update(
        {
            "status": "ok" if latencies_ms and len(latencies_ms) == len(probes) else "incomplete",
            "published": report.acked,
            "publish_errors": report.errors,
            "rate_achieved_msg_s": round(len(messages) / publish_s, 1),
            "publisher_worst_lag_ms": round(worst_lag * 1000, 1),
            "probes": len(probes),
            "probes_found": len(latencies_ms),
            "latency_ms": {
                "p50": round(percentile(latencies_ms, 0.50), 1) if latencies_ms else None,
                "p90": round(percentile(latencies_ms, 0.90), 1) if latencies_ms else None,
                "p99": round(percentile(latencies_ms, 0.99), 1) if latencies_ms else None,
                "max": round(max(latencies_ms), 1) if latencies_ms else None,
                "min": round(min(latencies_ms), 1) if latencies_ms else None,
            },
            "poll_query_ms_mean": round(poller.query_s / max(poller.queries, 1) * 1000, 2),
            "stored": stored,
            "lost": max(0, expectation.points - stored),
            "extra": max(0, stored - expectation.points),
            "cpu_us_per_msg": {
                "consumer": round(cpu[0] / len(messages) * 1e6, 1),
                "broker": round(cpu[1] / len(messages) * 1e6, 1),
                "influxd": round(cpu[2] / len(messages) * 1e6, 1),
            },
            "cpu_cores": {
                "consumer": round(cpu[0] / window, 2),
                "broker": round(cpu[1] / window, 2),
                "influxd": round(cpu[2] / window, 2),
                "benchmark": round(cpu[3] / window, 2),
            },
            "other_load_cores": round(max(0.0, busy_end.busy_s - busy_start.busy_s - sum(cpu)) / window, 2),
            "processes": sampler.report(),
            "peak_rss_mb": sampler.max_mb(),
            "broker_warnings": log.trouble(mark)[:10],
            **consumer.details(ctx, database),
        }
    )
    return result
