"""CPU time and peak memory of processes, read from /proc (Linux).

Peak RSS is the kernel's own high-water mark (``VmHWM``), so sampling only has to read it
before the process exits; CPU is ``utime + stime`` of every thread. A process tree (``citylab
serve --workers 2`` and its workers) is the process and its descendants, found through
``/proc/<pid>/task/<tid>/children``. The whole machine's busy time (``/proc/stat``) says how
much of the two shared cores other people's work took during a phase.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (all its threads); None once it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def _status_kib(pid: int, key: str) -> int | None:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def peak_rss_bytes(pid: int) -> int | None:
    """The most resident memory ``pid`` has had so far (VmHWM)."""
    kib = _status_kib(pid, "VmHWM")
    return None if kib is None else kib * 1024


def command_name(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    parts = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return " ".join(parts[:6])[:160]


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, depth first."""
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = list((PROC / str(parent) / "task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                found.append(int(child))
                stack.append(int(child))
    return found


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(member) or 0.0 for member in tree(pid))


@dataclass(frozen=True, slots=True)
class MachineBusy:
    """Busy and total CPU time of the whole machine, in seconds (all cores)."""

    busy_s: float
    total_s: float

    @classmethod
    def now(cls) -> MachineBusy:
        first = (PROC / "stat").read_text().splitlines()[0].split()
        ticks = [int(value) for value in first[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        # guest time is already counted in user time
        total = sum(ticks[:8])
        return cls((total - idle) / CLOCK_TICKS, total / CLOCK_TICKS)


@dataclass
class PeakSampler:
    """Samples the peak RSS of a process tree every ``interval_s`` until stopped.

    Peaks are kept per pid, so a worker that exits early still counts; ``sample()`` can be
    called once more just before the processes are stopped.
    """

    root_pid: int
    interval_s: float = 0.25
    peaks: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> PeakSampler:
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        for pid in tree(self.root_pid):
            peak = peak_rss_bytes(pid)
            if peak is None:
                continue
            if pid not in self.names:
                self.names[pid] = command_name(pid)
            self.peaks[pid] = max(peak, self.peaks.get(pid, 0))

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def max_mb(self) -> float | None:
        return round(max(self.peaks.values()) / 2**20, 1) if self.peaks else None

    def report(self) -> list[dict[str, object]]:
        """Per process: pid, command, peak RSS in MB (the root first)."""
        order = sorted(self.peaks, key=lambda pid: (pid != self.root_pid, pid))
        return [
            {"pid": pid, "command": self.names.get(pid, "?"), "peak_rss_mb": round(self.peaks[pid] / 2**20, 1)}
            for pid in order
        ]
