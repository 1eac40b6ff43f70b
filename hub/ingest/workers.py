"""Workers of ``citylab serve --workers N``: who each one is, and what it tells the supervisor.

Worker ``i`` (1-based) is a full ingest pipeline in a process of its own, with a stable identity:

- MQTT client id ``<CITYLAB_MQTT_CLIENT_ID>-w<i>``, a persistent session subscribed to
  ``$share/<group>/<filter>`` for every lab filter, so the broker splits the messages between the
  workers and keeps each one's share (and its un-acked messages) while it is away;
- data directory ``<CITYLAB_DATA_DIR>/worker-<i>``: its own dead letters, disk spool and unmapped keys.

A restarted worker gets the same identity, so it resumes its session and its spool.

Every second or so a worker writes ``status.json`` to its data directory (atomically: a new file
renamed over the old): its client id, pid, whether it is connected, and its Prometheus metrics as
text. The supervisor's API reads these files for ``/metrics``, ``/health`` and ``/ready``; a file that
has not been renewed for ``STALE_AFTER_S`` belongs to a worker that is gone or stuck.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.deadletters.stores import worker_dir_name
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.ingest.service import IngestService

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
# Left in a data directory by `citylab serve --retire` (hub/ingest/retire.py): its session is ended.
RETIRED_MARK = "RETIRED"
STATUS_SCHEMA = "citylab-worker-status/1"
STATUS_INTERVAL_S = 1.0
STALE_AFTER_S = 5.0
MAX_WORKERS = 64


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    index: int  # 1-based
    name: str  # worker-<i>: also its data directory's name
    client_id: str
    data_dir: Path


def share_group(settings: Settings) -> str:
    """The group the workers share: ``CITYLAB_MQTT_SHARE_GROUP``, else the client id (one deployment, one group).

    Raises ValueError when the client id can't name a group (it holds ``/``, ``+``, ``#`` or spaces)."""
    if settings.mqtt_share_group is not None:
        return settings.mqtt_share_group
    client_id = settings.mqtt_client_id
    if not client_id or len(client_id) > 64 or any(char in client_id for char in "/+# \t\n"):
        raise ValueError(
            f"CITYLAB_MQTT_CLIENT_ID {client_id!r} can't name a shared-subscription group: set CITYLAB_MQTT_SHARE_GROUP"
        )
    return client_id


def identity(settings: Settings, index: int) -> WorkerIdentity:
    name = worker_dir_name(index)
    return WorkerIdentity(index, name, f"{settings.mqtt_client_id}-w{index}", settings.data_dir / name)


def identities(settings: Settings, count: int) -> list[WorkerIdentity]:
    return [identity(settings, index) for index in range(1, count + 1)]


def worker_settings(settings: Settings, worker: WorkerIdentity, group: str) -> Settings:
    """The settings of one worker's pipeline: its identity, the group, and no API of its own."""
    return settings.model_copy(
        update={
            "mqtt_client_id": worker.client_id,
            "data_dir": worker.data_dir,
            "mqtt_share_group": group,
            "api_port": None,
        }
    )


# --- the status file ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """What a worker last wrote about itself."""

    client_id: str
    pid: int
    connected: bool
    updated_ns: int
    metrics: str  # Prometheus text exposition

    def age_s(self, now_ns: int | None = None) -> float:
        return max(0.0, ((now_ns if now_ns is not None else time.time_ns()) - self.updated_ns) / 1e9)


def write_status(path: Path, status: WorkerStatus) -> None:
    document = {
        "schema": STATUS_SCHEMA,
        "client_id": status.client_id,
        "pid": status.pid,
        "connected": status.connected,
        "updated_ns": status.updated_ns,
        "metrics": status.metrics,
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document), encoding="utf-8")
    temporary.replace(path)  # readers see the old file or the new one, never half of one


def read_status(data_dir: Path) -> WorkerStatus | None:
    """The worker's last status, or None when it has written none (yet) or it can't be read."""
    try:
        document: dict[str, Any] = json.loads((data_dir / STATUS_FILE).read_text(encoding="utf-8"))
        if document.get("schema") != STATUS_SCHEMA:
            return None
        return WorkerStatus(
            client_id=str(document["client_id"]),
            pid=int(document["pid"]),
            connected=bool(document["connected"]),
            updated_ns=int(document["updated_ns"]),
            metrics=str(document["metrics"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class StatusWriter:
    """A worker's thread that renews its status file every ``interval_s``, and once more when it stops."""

    def __init__(self, service: IngestService, *, interval_s: float = STATUS_INTERVAL_S) -> None:
        from prometheus_client import generate_latest

        from hub.ingest.prometheus import ingest_registry

        self._service = service
        self._registry = ingest_registry(service)
        self._generate = generate_latest
        self._path = service.settings.data_dir / STATUS_FILE
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-status", daemon=True)

    def start(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self.write()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.write()

    def write(self) -> None:
        try:
            write_status(
                self._path,
                WorkerStatus(
                    client_id=self._service.settings.mqtt_client_id,
                    pid=os.getpid(),
                    connected=self._service.connected,
                    updated_ns=time.time_ns(),
                    metrics=self._generate(self._registry).decode("utf-8"),
                ),
            )
        except OSError as exc:
            log.warning("can't write the worker status file %s: %s", self._path, exc)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.write()


class ParentWatch:
    """Stops a worker whose supervisor is gone (killed with SIGKILL, say): SIGTERM to itself, so it flushes
    and acks as on any stop. Otherwise it would keep the client id a restarted supervisor's worker needs,
    and the two would take the session from each other."""

    def __init__(self, *, interval_s: float = 0.5) -> None:
        self._parent = os.getppid()
        self._interval_s = interval_s
        self._thread = threading.Thread(target=self._run, name="parent-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import signal

        while True:
            time.sleep(self._interval_s)
            if os.getppid() != self._parent:
                log.error("the supervisor (pid %d) is gone: stopping", self._parent)
                os.kill(os.getpid(), signal.SIGTERM)
                return
