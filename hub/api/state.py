"""What one app instance holds: settings, read limits, the lab configs, the InfluxQL client, dead letters, metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from hub.deadletters.store import DeadLetterStore
from hub.read import LabCatalog, Limits
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient

if TYPE_CHECKING:
    from hub.ingest.service import IngestService


class DeadLetterAccess:
    """The SQLite store serves one thread at a time; requests run in a thread pool, so they take turns."""

    def __init__(self, settings: Settings) -> None:
        self._path = settings.dead_letter_path
        self._store: DeadLetterStore | None = None
        self._lock = threading.Lock()

    @contextmanager
    def open(self) -> Iterator[DeadLetterStore]:
        with self._lock:
            if self._store is None:
                self._store = DeadLetterStore(self._path)
            yield self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


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
