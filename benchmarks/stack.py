"""The benchmark's own Mosquitto (queue limits set for the backlog) and InfluxDB, and the broker's log.

Every drain phase queues the same backlog at the broker for a consumer's persistent session
while it is offline. Mosquitto's defaults would lose most of it: at most 1000 queued QoS 1
messages per client (shared/reference-notes.md), silently dropped beyond that. Here the limits
are computed from the backlog itself: the message count and bytes every session may hold, with
room to spare, and a broker-wide memory limit above all the queues together (with
``persistence false`` the queues live in memory only, and no snapshot every 30 s adds noise to
a phase). Any "dropped" or "out of memory" line in the broker log is reported with the phase.

The broker log also tells, to within one poll of its file, when each consumer's session
connected and subscribed: the same clock for the bare client, the hub and Node-RED.
"""

from __future__ import annotations

import getpass
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.devstack import DevStackError, free_port

BROKER_CONF = """\
# Written by benchmarks/stack.py for one benchmark run.
user {user}
listener {port} 127.0.0.1
allow_anonymous true
# Sessions and their queues live in memory for the run: no snapshots in the middle of a phase.
persistence false
# Per client: the broker sends this many QoS 1 messages before it waits for PUBACKs
# (1000, as deploy/mosquitto/mosquitto.conf and hub/devstack.py; Mosquitto's own default is 20).
max_inflight_messages {max_inflight_messages}
# Per client, above those in flight: the whole backlog of every round, with room to spare.
max_queued_messages {max_queued_messages}
max_queued_bytes {max_queued_bytes}
# The whole broker: every session's queue at once, and more.
memory_limit {memory_limit}
message_size_limit 1048576
connection_messages true
log_dest file {log}
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
log_type unsubscribe
"""


@dataclass(frozen=True, slots=True)
class QueueLimits:
    max_queued_messages: int
    max_queued_bytes: int
    memory_limit: int
    max_inflight_messages: int = 1000

    @classmethod
    def for_backlog(cls, messages: int, payload_bytes: int, sessions: int, inflight: int = 1000) -> QueueLimits:
        """Room for twice the backlog in every session's queue; memory for all of them at once, twice over."""
        per_message_overhead = 512  # topic, ids and list entries per queued message
        queued_bytes = max(64 * 2**20, 2 * (payload_bytes + messages * per_message_overhead))
        return cls(
            max_queued_messages=max(10_000, 2 * messages),
            max_queued_bytes=queued_bytes,
            memory_limit=max(512 * 2**20, 2 * sessions * queued_bytes),
            max_inflight_messages=inflight,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "max_queued_messages": self.max_queued_messages,
            "max_queued_bytes": self.max_queued_bytes,
            "memory_limit": self.memory_limit,
            "max_inflight_messages": self.max_inflight_messages,
        }


@dataclass(frozen=True, slots=True)
class LogLine:
    at: float  # time.monotonic() when the watcher read it
    text: str


_CONNECTED = re.compile(r"New client connected from \S+ as (\S+) \(")
_SUBSCRIBED = re.compile(r"^\d+: (\S+) (\d) (\S+)$")
_TROUBLE = ("dropped", "out of memory", "Warning", "Error", "error")
# Mosquitto warns about this on every start as root; it says nothing about the run.
_BENIGN = ("should not be run as root",)


class BrokerLog:
    """Tails the broker's log file on a thread, stamping each line with the monotonic time it was read."""

    def __init__(self, path: Path, poll_s: float = 0.005) -> None:
        self.path = path
        self.poll_s = poll_s
        self.lines: list[LogLine] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-log", daemon=True)

    def start(self) -> BrokerLog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        position = 0
        pending = ""
        while not self._stop.is_set():
            try:
                with self.path.open("r", errors="replace") as handle:
                    handle.seek(position)
                    chunk = handle.read()
                    position = handle.tell()
            except FileNotFoundError:
                chunk = ""
            if chunk:
                now = time.monotonic()
                text = pending + chunk
                *complete, pending = text.split("\n")
                with self._lock:
                    self.lines.extend(LogLine(now, line) for line in complete if line)
            self._stop.wait(self.poll_s)

    def mark(self) -> int:
        """An index: later calls look only at lines after it."""
        with self._lock:
            return len(self.lines)

    def since(self, mark: int) -> list[LogLine]:
        with self._lock:
            return self.lines[mark:]

    def wait_for(
        self, predicate: Callable[[list[LogLine]], float | None], timeout_s: float, alive: Callable[[], bool]
    ) -> float:
        """Wait until ``predicate`` (given the lines so far) returns a time; raise on timeout or a dead process."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = predicate(self.since(0))
            if found is not None:
                return found
            if not alive():
                raise DevStackError("the consumer exited before the broker saw it connect")
            time.sleep(self.poll_s)
        raise DevStackError(f"timed out after {timeout_s:.0f}s waiting for the broker log")

    def connections(self, mark: int, client_prefix: str) -> list[LogLine]:
        return [
            line
            for line in self.since(mark)
            if (match := _CONNECTED.search(line.text)) and match.group(1).startswith(client_prefix)
        ]

    def subscriptions(self, mark: int, client_prefix: str) -> list[LogLine]:
        return [
            line
            for line in self.since(mark)
            if (match := _SUBSCRIBED.match(line.text)) and match.group(1).startswith(client_prefix)
        ]

    def trouble(self, mark: int) -> list[str]:
        """Warnings and errors since ``mark`` (queue drops, memory), for the phase's report."""
        return [
            line.text
            for line in self.since(mark)
            if any(word in line.text for word in _TROUBLE) and not any(word in line.text for word in _BENIGN)
        ]


@dataclass
class BenchBroker:
    """Mosquitto with queue limits for the benchmark's backlog (hub/devstack.py's binary lookup and wait)."""

    data_dir: Path
    limits: QueueLimits
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log: BrokerLog | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mosquitto.log"

    def start(self) -> BenchBroker:
        from hub.devstack import _binary, _port_open, _wait_for

        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(
            BROKER_CONF.format(user=getpass.getuser(), port=self.port, log=self.log_path, **self.limits.as_dict())
        )
        self.log_path.touch()
        self.log = BrokerLog(self.log_path).start()
        self.process = subprocess.Popen(
            [_binary("mosquitto", "mosquitto"), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "mosquitto.stderr").open("ab"),
        )
        _wait_for(lambda: _port_open(self.port), "mosquitto", self.process, self.log_path, 15)
        return self

    def stop(self) -> None:
        if self.log is not None:
            self.log.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def version_of(command: list[str]) -> str:
    """The first line a program prints about its version, or why it could not be asked."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"
