"""``citylab serve --workers N``: start N worker processes, keep them alive, stop them together.

Each worker is a separate OS process running one full pipeline with a stable identity
(hub/ingest/workers.py). The supervisor

- starts them (the same command with a hidden ``--worker <i>``), each in its own process group, so a
  terminal's Ctrl-C reaches the supervisor alone and the stop is the supervisor's;
- restarts one that dies, with the same identity (client id, data directory): its persistent session
  and whatever the broker holds for it, in flight or queued, resume; the first restart after
  ``first_delay_s``, doubling up to ``max_delay_s`` while it keeps dying, from the start again once it
  stayed up ``stable_after_s``; each death and restart is logged;
- gives up, stopping the others and exiting 1, when a worker died more than ``max_restarts`` times
  within ``window_s``, and at once (exiting 2) when a worker exits 2, a configuration error that a
  restart can't fix;
- on SIGTERM or SIGINT sends SIGTERM to every worker and waits for each to flush, ack and disconnect
  (``stop_timeout_s``, then SIGKILL: the broker redelivers what that one had not acked).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from hub.ingest.workers import WorkerIdentity

log = logging.getLogger(__name__)

# What `citylab serve` returns for a configuration it can't run with: restarting would not help.
CONFIG_ERROR_EXIT = 2
GAVE_UP_EXIT = 1


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    stable_after_s: float = 60.0  # a worker that ran this long starts its backoff afresh
    max_restarts: int = 5  # more deaths than this within window_s: give up
    window_s: float = 300.0
    stop_timeout_s: float = 60.0  # a worker's stop waits for its final writes and acks


@dataclass(frozen=True, slots=True)
class WorkerState:
    """The supervisor's view of one worker, at one moment."""

    identity: WorkerIdentity
    pid: int | None  # None while it waits to be restarted
    restarts: int
    last_exit: str | None  # how it last ended ("killed by SIGKILL", "exit 1")
    restart_in_s: float | None  # while it waits to be restarted


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


@dataclass(slots=True)
class _Worker:
    identity: WorkerIdentity
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    failures: int = 0  # consecutive short runs, for the backoff
    deaths: deque[float] = field(default_factory=deque)
    restarts: int = 0
    last_exit: str | None = None


class Supervisor:
    def __init__(
        self,
        workers: Sequence[WorkerIdentity],
        command: Callable[[WorkerIdentity], list[str]],
        *,
        env: Mapping[str, str] | None = None,
        policy: RestartPolicy = RestartPolicy(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._workers = [_Worker(identity) for identity in workers]
        self._command = command
        self._env = dict(env) if env is not None else None
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()  # the API's thread reads states while the main thread supervises
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for worker in self._workers:
            self._spawn(worker)

    def run(self, stop_requested: threading.Event, *, poll_s: float = 0.1) -> int:
        """Supervise until ``stop_requested`` is set (then stop every worker) or the supervisor gives up."""
        try:
            self.start()
            while not stop_requested.wait(poll_s):
                gave_up = self.poll()
                if gave_up is not None:
                    self.stop()
                    return gave_up
        except BaseException:
            self.stop()  # never leave workers behind
            raise
        return self.stop()

    def poll(self) -> int | None:
        """One round: notice workers that died and restart those whose wait is over. Returns an exit code when
        the supervisor gives up, else None."""
        now = self._clock()
        for worker in self._workers:
            process = worker.process
            if process is not None and process.poll() is not None:
                verdict = self._died(worker, process.returncode, now)
                if verdict is not None:
                    return verdict
            if worker.process is None and worker.restart_at is not None and now >= worker.restart_at:
                worker.restarts += 1
                self._spawn(worker)
        return None

    def stop(self) -> int:
        """SIGTERM to every worker, then wait for each; 0 when every running worker stopped cleanly."""
        with self._lock:
            self._stopping = True
            running = [worker for worker in self._workers if worker.process is not None]
            for worker in self._workers:
                worker.restart_at = None
        for worker in running:
            assert worker.process is not None
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = self._clock() + self.policy.stop_timeout_s
        clean = True
        for worker in running:
            assert worker.process is not None
            try:
                code = worker.process.wait(max(0.1, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                log.error(
                    "%s (pid %d) did not stop within %.0fs: killing it; the broker redelivers what it had not acked",
                    worker.identity.name,
                    worker.process.pid,
                    self.policy.stop_timeout_s,
                )
                worker.process.kill()
                code = worker.process.wait(10)
            if code != 0:
                clean = False
                log.error("%s stopped with %s", worker.identity.name, describe_exit(code))
            with self._lock:
                worker.last_exit = describe_exit(code)
                worker.process = None
        log.info("stopped %d workers%s", len(running), "" if clean else " (not all cleanly)")
        return 0 if clean else GAVE_UP_EXIT

    # --- what the API shows ----------------------------------------------------------------

    def states(self) -> list[WorkerState]:
        now = self._clock()
        with self._lock:
            return [
                WorkerState(
                    identity=worker.identity,
                    pid=worker.process.pid if worker.process is not None else None,
                    restarts=worker.restarts,
                    last_exit=worker.last_exit,
                    restart_in_s=max(0.0, worker.restart_at - now) if worker.restart_at is not None else None,
                )
                for worker in self._workers
            ]

    # --- internals -------------------------------------------------------------------------

    def _spawn(self, worker: _Worker) -> None:
        argv = self._command(worker.identity)
        process = subprocess.Popen(argv, env=self._env, stdin=subprocess.DEVNULL, start_new_session=True)
        with self._lock:
            worker.process = process
            worker.started_at = self._clock()
            worker.restart_at = None
        log.info(
            "started %s (pid %d) as MQTT client %s with data directory %s",
            worker.identity.name,
            process.pid,
            worker.identity.client_id,
            worker.identity.data_dir,
        )

    def _died(self, worker: _Worker, returncode: int, now: float) -> int | None:
        policy = self.policy
        how = describe_exit(returncode)
        assert worker.process is not None
        pid = worker.process.pid
        ran_s = now - worker.started_at
        with self._lock:
            worker.process = None
            worker.last_exit = how
        if returncode == CONFIG_ERROR_EXIT:
            log.error("%s (pid %d) can't run with this configuration (%s): giving up", worker.identity.name, pid, how)
            return CONFIG_ERROR_EXIT
        worker.deaths.append(now)
        while worker.deaths and now - worker.deaths[0] > policy.window_s:
            worker.deaths.popleft()
        if len(worker.deaths) > policy.max_restarts:
            log.error(
                "%s (pid %d) ended (%s) %d times within %.0fs: giving up and stopping the others",
                worker.identity.name,
                pid,
                how,
                len(worker.deaths),
                policy.window_s,
            )
            return GAVE_UP_EXIT
        worker.failures = 1 if ran_s >= policy.stable_after_s else worker.failures + 1
        delay = min(policy.first_delay_s * 2 ** (worker.failures - 1), policy.max_delay_s)
        with self._lock:
            worker.restart_at = now + delay
        log.error(
            "%s (pid %d, MQTT client %s) ended after %.1fs (%s); restarting it with the same identity in %.1fs, "
            "so its session and whatever the broker holds for it resume",
            worker.identity.name,
            pid,
            worker.identity.client_id,
            ran_s,
            how,
            delay,
        )
        return None
