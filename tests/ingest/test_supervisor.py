"""The supervisor's restart logic, with tiny real processes standing in for workers; worker identities."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.ingest.mqtt import shared_filters
from hub.ingest.supervisor import GAVE_UP_EXIT, RestartPolicy, Supervisor, describe_exit
from hub.ingest.workers import WorkerIdentity, identity, share_group, worker_settings
from hub.settings import Settings
from tests.support.wait import wait_until

# A worker that writes "<pid> <its client id>" to a file and runs until SIGTERM (then exits 0), or exits at once
# with EXIT_CODE when that is set.
FAKE_WORKER = """
import os, signal, sys, time
from pathlib import Path
code = os.environ.get("EXIT_CODE")
if code is not None:
    sys.exit(int(code))
Path(sys.argv[1]).write_text(f"{os.getpid()} {sys.argv[2]}")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.05)
"""

FAST = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, stable_after_s=60, max_restarts=3, window_s=60)


def identities(tmp_path: Path, count: int) -> list[WorkerIdentity]:
    return [WorkerIdentity(i, f"worker-{i}", f"hub-w{i}", tmp_path / f"worker-{i}") for i in range(1, count + 1)]


def supervisor(tmp_path: Path, count: int, *, exit_code: int | None = None, policy: RestartPolicy = FAST) -> Supervisor:
    env = dict(os.environ)
    if exit_code is not None:
        env["EXIT_CODE"] = str(exit_code)
    return Supervisor(
        identities(tmp_path, count),
        lambda worker: [sys.executable, "-c", FAKE_WORKER, str(tmp_path / f"{worker.name}.pid"), worker.client_id],
        env=env,
        policy=policy,
    )


def announced(tmp_path: Path, name: str) -> tuple[int, str] | None:
    path = tmp_path / f"{name}.pid"
    if not path.exists() or not path.read_text():
        return None
    pid, client_id = path.read_text().split()
    return int(pid), client_id


def run_in_background(sup: Supervisor) -> tuple[threading.Event, list[int], threading.Thread]:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sup.run(stop, poll_s=0.02)), daemon=True)
    thread.start()
    return stop, result, thread


def test_a_killed_worker_is_restarted_with_its_identity_and_sigterm_stops_all(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.ingest.supervisor")
    sup = supervisor(tmp_path, 2)
    stop, result, thread = run_in_background(sup)
    wait_until(lambda: announced(tmp_path, "worker-1") is not None and announced(tmp_path, "worker-2") is not None)
    first = announced(tmp_path, "worker-1")
    other = announced(tmp_path, "worker-2")
    assert first is not None and other is not None
    os.kill(first[0], signal.SIGKILL)
    wait_until(lambda: (now := announced(tmp_path, "worker-1")) is not None and now[0] != first[0], 5, "a new worker-1")
    second = announced(tmp_path, "worker-1")
    assert second is not None and second[1] == first[1] == "hub-w1"  # the same identity
    assert announced(tmp_path, "worker-2") == other  # the other one untouched
    states = {state.identity.name: state for state in sup.states()}
    assert (states["worker-1"].restarts, states["worker-1"].last_exit, states["worker-1"].pid) == (
        1,
        "killed by SIGKILL",
        second[0],
    )
    assert states["worker-2"].restarts == 0
    assert f"worker-1 (pid {first[0]}, MQTT client hub-w1) ended" in caplog.text
    assert "restarting it with the same identity" in caplog.text

    stop.set()
    thread.join(10)
    assert result == [0]
    assert not Path(f"/proc/{second[0]}").exists() and not Path(f"/proc/{other[0]}").exists()


def test_a_worker_that_keeps_dying_makes_the_supervisor_give_up(tmp_path: Path) -> None:
    sup = supervisor(tmp_path, 1, exit_code=1)
    started = time.monotonic()
    assert sup.run(threading.Event(), poll_s=0.01) == GAVE_UP_EXIT
    (state,) = sup.states()
    assert state.restarts == FAST.max_restarts
    assert state.last_exit == "exit 1"
    # Backoff doubled between the deaths: 0.05 + 0.1 + 0.2 s at least.
    assert time.monotonic() - started >= 0.35


def test_a_configuration_error_is_not_restarted(tmp_path: Path) -> None:
    sup = supervisor(tmp_path, 2, exit_code=2)
    assert sup.run(threading.Event(), poll_s=0.01) == 2
    assert all(state.restarts == 0 for state in sup.states())


def test_backoff_starts_afresh_after_a_stable_run(tmp_path: Path) -> None:
    """Deaths far apart are not a crash loop: each restart waits the first delay again."""
    clock = [1000.0]
    sup = Supervisor(
        identities(tmp_path, 1),
        lambda worker: [sys.executable, "-c", FAKE_WORKER, str(tmp_path / "w.pid"), worker.client_id],
        policy=RestartPolicy(first_delay_s=1, max_delay_s=8, stable_after_s=10, max_restarts=100, window_s=1),
        clock=lambda: clock[0],
    )
    sup.start()
    try:
        delays = []
        for ran_s in (1, 1, 1, 20, 1):
            clock[0] += ran_s
            (state,) = sup.states()
            assert state.pid is not None
            os.kill(state.pid, signal.SIGKILL)
            wait_until(lambda pid=state.pid: not Path(f"/proc/{pid}").exists() or _zombie(pid), 5, "the kill")
            assert sup.poll() is None
            (state,) = sup.states()
            assert state.restart_in_s is not None
            delays.append(state.restart_in_s)
            clock[0] += state.restart_in_s
            assert sup.poll() is None  # restarted
        assert delays == [1, 2, 4, 1, 2]
    finally:
        sup.stop()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_exits_are_described_for_people() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exit 3"


def test_worker_identities_and_their_group() -> None:
    settings = Settings(mqtt_client_id="citylab-hub", data_dir=Path("/srv/hub"))
    assert share_group(settings) == "citylab-hub"  # one deployment, one group
    second = identity(settings, 2)
    assert (second.name, second.client_id, second.data_dir) == ("worker-2", "citylab-hub-w2", Path("/srv/hub/worker-2"))
    own = worker_settings(settings.model_copy(update={"api_port": 8080}), second, "g")
    assert (own.mqtt_client_id, own.data_dir, own.mqtt_share_group, own.api_port) == (
        "citylab-hub-w2",
        Path("/srv/hub/worker-2"),
        "g",
        None,  # the API runs once, in the supervisor
    )
    assert share_group(settings.model_copy(update={"mqtt_share_group": "all-hubs"})) == "all-hubs"
    with pytest.raises(ValueError, match="CITYLAB_MQTT_SHARE_GROUP"):
        share_group(settings.model_copy(update={"mqtt_client_id": "hub/one"}))
    with pytest.raises(ValidationError):
        Settings(mqtt_share_group="a/b")
    shared = shared_filters(["v3/x@ttn/devices/+/up", "oslo/#"], "g")
    assert shared == ["$share/g/v3/x@ttn/devices/+/up", "$share/g/oslo/#"]
    assert shared_filters(["oslo/#"], None) == ["oslo/#"]
