"""What one app instance holds: settings, read limits, the lab configs, the InfluxQL client, dead letters, metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry

from hub.deadletters.stores import DeadLetterStores
from hub.read import LabCatalog, Limits
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient

if TYPE_CHECKING:
    from hub.ingest.service import IngestService
    from hub.ingest.supervisor import WorkerState


class WorkerGroup(Protocol):
    """The workers of ``citylab serve --workers N``, as their supervisor sees them (hub/ingest/supervisor.py)."""

    def states(self) -> list[WorkerState]: ...


class DeadLetterAccess:
    """Every dead-letter store under the data directory as one: its own (a single ``citylab serve``) and each
    worker's (``worker-<i>/``, ``citylab serve --workers``), found again on every request, so a worker's store
    shows as soon as it exists. SQLite connections serve one thread at a time; requests run in a thread
    pool, so they take turns."""

    def __init__(self, settings: Settings) -> None:
        self._data_dir = settings.data_dir
        self._stores: DeadLetterStores | None = None
        self._lock = threading.Lock()

    @contextmanager
    def open(self) -> Iterator[DeadLetterStores]:
        with self._lock:
            if self._stores is None:
                self._stores = DeadLetterStores(self._data_dir)
            else:
                self._stores.refresh()
            yield self._stores

    def close(self) -> None:
        with self._lock:
            if self._stores is not None:
                self._stores.close()
                self._stores = None


def influx_database(settings: Settings) -> str:
    """InfluxQL addresses a database; a v2-style bucket "db/rp" names the database first."""
    return settings.influx_bucket.partition("/")[0]


def make_influxql(settings: Settings) -> InfluxQLClient:
    return InfluxQLClient(
        settings.influx_url,
        influx_database(settings),
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
        username=settings.influx_username,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
        timeout_s=settings.api_influx_timeout_s,
    )


@dataclass
class ApiState:
    settings: Settings
    limits: Limits
    labs: LabCatalog
    influx: InfluxQLClient
    dead_letters: DeadLetterAccess
    registry: CollectorRegistry
    ingest: IngestService | None = None
    workers: WorkerGroup | None = None
    closed: bool = False

    def reopen(self) -> None:
        """An app can run its lifespan more than once (each TestClient, schema loaders): start afresh."""
        if self.closed:
            self.influx = make_influxql(self.settings)
            self.closed = False

    def close(self) -> None:
        self.influx.close()
        self.dead_letters.close()
        self.closed = True
