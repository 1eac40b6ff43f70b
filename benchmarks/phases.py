"""The drain phases: one consumer at a time empties the same backlog, queued for its session while it was offline.

Every consumer keeps a persistent MQTT session (its own client id). Before the backlog is
published, each one is started once, until the broker logs its subscriptions, and stopped, so
the broker queues every message for every session. Then, one phase at a time, a consumer is
started again and drains its queue: the same messages, the same broker, the same store, the
same method. The clock starts when the broker logs the session's connection (start-up of
Python, Node.js and their imports is not counted) and stops when the consumer has done the
last message: the bare client says when; for the others, the count in InfluxDB reaches what
is expected (the poll that first sees it, less half a poll interval).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks import nodered
from benchmarks.procstat import MachineBusy, PeakSampler, cpu_seconds, tree_cpu_seconds
from benchmarks.stack import BenchBroker, LogLine
from hub.devstack import DevStackError, InfluxDB1, free_port

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.1


@dataclass
class Context:
    broker: BenchBroker
    influx: InfluxDB1
    work_dir: Path
    stall_s: float = 30.0
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def count_points(self, database: str, measurements: list[str]) -> int:
        """Points with a ``value`` field in these measurements of ``database``."""
        if not measurements:
            return 0
        statement = 'SELECT count("value") FROM ' + ",".join(f'"{name}"' for name in measurements)
        response = self.http.post(f"{self.influx.url}/query", data={"db": database, "q": statement})
        response.raise_for_status()
        total = 0
        for result in response.json().get("results", []):
            for series in result.get("series", []) or []:
                total += int(series["values"][0][1])
        return total

    def drop_database(self, name: str) -> None:
        self.http.post(f"{self.influx.url}/query", data={"q": f'DROP DATABASE "{name}"'}).raise_for_status()


class Consumer:
    """One contender: how to start it, what it must deliver and how far it has got."""

    key = ""
    title = ""
    counted = "points in InfluxDB"

    def __init__(self, *, client_prefix: str, topic_filters: list[str], messages: int, expected: int) -> None:
        self.client_prefix = client_prefix
        self.topic_filters = topic_filters
        self.messages = messages  # in this consumer's queue
        self.expected = expected  # what `progress` reaches once every message is done
        self.sessions = 1
        self.measurements: list[str] = []
        self.log_path: Path | None = None

    def launch(self, ctx: Context, database: str, *, setup: bool) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def progress(self, ctx: Context, database: str) -> int:
        return ctx.count_points(database, self.measurements)

    def finished_at(self, polls: list[tuple[float, int]]) -> float | None:
        """When the last message was done: between the last poll short of ``expected`` and the first at it."""
        for index, (at, count) in enumerate(polls):
            if count >= self.expected:
                return (polls[index - 1][0] + at) / 2 if index > 0 else at
        return None

    def details(self, ctx: Context, database: str) -> dict[str, Any]:
        return {}

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        _terminate(process)

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-2000:]


class BareConsumer(Consumer):
    key = "ceiling"
    title = "bare paho ceiling"
    counted = "messages parsed"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._count = 0
        self._done: dict[str, Any] | None = None

    def launch(self, ctx: Context, database: str, *, setup: bool) -> subprocess.Popen[bytes]:
        self._count, self._done = 0, None
        argv = [
            sys.executable,
            "-m",
            "benchmarks.bare_client",
            "--url",
            ctx.broker.url,
            "--client-id",
            self.client_prefix,
            "--expect",
            str(10**12 if setup else self.expected),
        ]
        for topic in self.topic_filters:
            argv += ["--topic", topic]
        self.log_path = ctx.work_dir / f"{self.key}.log"
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL if setup else subprocess.PIPE,
            stderr=self.log_path.open("ab"),
        )
        if not setup:
            threading.Thread(target=self._read, args=(process,), name="bare-client-out", daemon=True).start()
        return process

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode().strip()
            if line.startswith("progress "):
                self._count = int(line.split()[1])
            elif line.startswith("done "):
                self._done = json.loads(line[5:])

    def progress(self, ctx: Context, database: str) -> int:
        # Done only once its summary (with the time of the last message) is in.
        return min(self._count, self.expected - 1) if self._done is None else int(self._done["count"])

    def finished_at(self, polls: list[tuple[float, int]]) -> float | None:
        return float(self._done["last_at"]) if self._done and self._done.get("last_at") else None

    def details(self, ctx: Context, database: str) -> dict[str, Any]:
        done = self._done or {}
        return {"not_json": done.get("not_json"), "client_connected_at": done.get("connected_at")}

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.stdin is not None:
            process.stdin.close()  # the client disconnects and exits
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            _terminate(process)


class HubConsumer(Consumer):
    """``citylab serve`` as an operator runs it (``--workers N`` when asked for more than one)."""

    def __init__(self, *, key: str, title: str, labs_dir: Path, workers: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.title = title
        self.labs_dir = labs_dir
        self.workers = workers
        self.sessions = workers

    def data_dir(self, ctx: Context) -> Path:
        return ctx.work_dir / self.key / "data"

    def launch(self, ctx: Context, database: str, *, setup: bool) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "CITYLAB_MQTT_URL": ctx.broker.url,
            "CITYLAB_MQTT_CLIENT_ID": self.client_prefix,
            "CITYLAB_INFLUX_URL": ctx.influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": database,
            "CITYLAB_LABS": str(self.labs_dir),
            "CITYLAB_DATA_DIR": str(self.data_dir(ctx)),
            "CITYLAB_LOG_LEVEL": "WARNING",
        }
        argv = [sys.executable, "-m", "hub.cli", "serve"]
        if self.workers > 1:
            argv += ["--workers", str(self.workers)]
            env["CITYLAB_MQTT_SHARE_GROUP"] = f"{self.client_prefix}-group"
        self.log_path = ctx.work_dir / f"{self.key}.log"
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=self.log_path.open("ab"))

    def details(self, ctx: Context, database: str) -> dict[str, Any]:
        dead = 0
        for path in self.data_dir(ctx).rglob("deadletters.sqlite3"):
            with sqlite3.connect(path) as db:
                dead += int(db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
        return {"dead_letters": dead}


class NodeRedConsumer(Consumer):
    """Node-RED running one of the two flows in benchmarks/nodered.py."""

    def __init__(self, *, key: str, title: str, batch_messages: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.title = title
        self.batch_messages = batch_messages
        self._log_offset = 0

    def launch(self, ctx: Context, database: str, *, setup: bool) -> subprocess.Popen[bytes]:
        user_dir = ctx.work_dir / self.key
        flow = nodered.NodeRedFlow(
            broker_port=ctx.broker.port,
            influx_port=ctx.influx.port,
            database=database,
            client_id=self.client_prefix,
            topic_filters=tuple(self.topic_filters),
            ui_port=free_port(),
            batch_messages=self.batch_messages,
        )
        flow.write(user_dir)
        self.log_path = ctx.work_dir / f"{self.key}.log"
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        return subprocess.Popen(nodered.command(user_dir), cwd=user_dir, stdout=log, stderr=subprocess.STDOUT)

    def details(self, ctx: Context, database: str) -> dict[str, Any]:
        text = self.log_path.read_bytes()[self._log_offset :].decode(errors="replace") if self.log_path else ""
        errors = [line for line in text.splitlines() if "[error]" in line]
        kinds = sorted({line.split("] ", 2)[-1][:80] for line in errors})
        return {
            "flow": nodered.flow_description(self.batch_messages),
            "write_errors_logged": len(errors),
            "error_kinds": kinds[:5],
        }


def _terminate(process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _connected(since: int, prefix: str, ctx: Context) -> float | None:
    assert ctx.broker.log is not None
    lines = ctx.broker.log.connections(since, prefix)
    return lines[0].at if lines else None


def create_session(ctx: Context, consumer: Consumer, database: str, timeout_s: float = 90) -> None:
    """Start the consumer until the broker has its subscriptions, then stop it: the backlog queues for it."""
    log = ctx.broker.log
    assert log is not None
    mark = log.mark()
    process = consumer.launch(ctx, database, setup=True)
    wanted = len(consumer.topic_filters) * consumer.sessions

    def subscribed(_lines: list[LogLine]) -> float | None:
        found = log.subscriptions(mark, consumer.client_prefix)
        return found[-1].at if len(found) >= wanted else None

    try:
        log.wait_for(subscribed, timeout_s, alive=lambda: process.poll() is None)
    except DevStackError as exc:
        raise DevStackError(f"{consumer.title}: {exc}\n{consumer.log_tail()}") from exc
    finally:
        consumer.stop(process)


def wait_quiet(pids: list[int], *, below_cores: float = 0.1, window_s: float = 1.0, timeout_s: float = 30.0) -> float:
    """Wait until these processes (the broker, InfluxDB compacting) use less than ``below_cores``; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        time.sleep(window_s)
        used = sum(cpu_seconds(pid) or 0.0 for pid in pids) - before
        if used / window_s < below_cores:
            break
    return time.monotonic() - started


def drain(ctx: Context, consumer: Consumer, database: str, *, round_number: int) -> dict[str, Any]:
    """Start the consumer on its queued backlog and measure it until it has done every message (or stalls)."""
    assert ctx.broker.log is not None and ctx.broker.process is not None and ctx.influx.process is not None
    broker_pid, influx_pid, own_pid = ctx.broker.process.pid, ctx.influx.process.pid, os.getpid()
    settled_s = wait_quiet([broker_pid, influx_pid])
    log_mark = ctx.broker.log.mark()
    process = consumer.launch(ctx, database, setup=False)
    sampler = PeakSampler(process.pid).start()
    result: dict[str, Any] = {
        "phase": consumer.key,
        "title": consumer.title,
        "round": round_number,
        "counted": consumer.counted,
        "messages": consumer.messages,
        "expected": consumer.expected,
        "settled_s": round(settled_s, 1),
    }
    try:
        started = ctx.broker.log.wait_for(
            lambda _lines: _connected(log_mark, consumer.client_prefix, ctx),
            120,
            alive=lambda: process.poll() is None,
        )
    except DevStackError as exc:
        sampler.stop()
        consumer.stop(process)
        return {**result, "status": "failed", "error": f"{exc}\n{consumer.log_tail()}"}
    cpu_start = {
        "consumer": tree_cpu_seconds(process.pid),
        "broker": cpu_seconds(broker_pid) or 0.0,
        "influxd": cpu_seconds(influx_pid) or 0.0,
        "benchmark": cpu_seconds(own_pid) or 0.0,
    }
    busy_start = MachineBusy.now()
    polls: list[tuple[float, int]] = [(started, 0)]
    last_change = started
    status = "ok"
    while True:
        sent = time.monotonic()
        count = consumer.progress(ctx, database)
        now = time.monotonic()
        polls.append(((sent + now) / 2, count))
        if count != polls[-2][1]:
            last_change = now
        if count >= consumer.expected:
            break
        if process.poll() is not None:
            status = "failed"
            result["error"] = f"exited with {process.returncode}\n{consumer.log_tail()}"
            break
        if now - last_change > ctx.stall_s:
            status = "stalled"
            break
        time.sleep(POLL_S)
    cpu_end = {
        "consumer": tree_cpu_seconds(process.pid),
        "broker": cpu_seconds(broker_pid) or 0.0,
        "influxd": cpu_seconds(influx_pid) or 0.0,
        "benchmark": cpu_seconds(own_pid) or 0.0,
    }
    busy_end = MachineBusy.now()
    finished = consumer.finished_at(polls)
    sampler.stop()
    if status == "ok" and finished is None:
        status = "failed"
        result["error"] = "the consumer reached its count but gave no finishing time"
    # A second look, a moment later: late or extra points show up here.
    time.sleep(0.5)
    stored = consumer.progress(ctx, database)
    consumer.stop(process)
    end = finished if finished is not None else last_change
    seconds = max(end - started, 1e-9)
    done_messages = consumer.messages * min(stored, consumer.expected) / max(consumer.expected, 1)
    cpu = {name: cpu_end[name] - cpu_start[name] for name in cpu_start}
    window = max(time.monotonic() - started, 1e-9)  # the CPU figures cover up to the last poll
    ours = sum(cpu.values())
    result.update(
        {
            "status": status,
            "stored": stored,
            "lost": max(0, consumer.expected - stored),
            "extra": max(0, stored - consumer.expected),
            "seconds": round(seconds, 3),
            "rate_msg_s": round(done_messages / seconds, 1),
            "rate_counted_s": round(min(stored, consumer.expected) / seconds, 1),
            "cpu_s": {name: round(value, 2) for name, value in cpu.items()},
            "cpu_us_per_msg": {
                name: round(value / max(done_messages, 1) * 1e6, 1)
                for name, value in cpu.items()
                if name != "benchmark"
            },
            "cpu_cores": {name: round(value / window, 2) for name, value in cpu.items()},
            "other_load_cores": round(max(0.0, (busy_end.busy_s - busy_start.busy_s) - ours) / window, 2),
            "processes": sampler.report(),
            "peak_rss_mb": sampler.max_mb(),
            "broker_warnings": ctx.broker.log.trouble(log_mark)[:10],
            **consumer.details(ctx, database),
        }
    )
    return result
