"""Fault injection, as faults come in life: InfluxDB killed, wiped, hung or refusing points, the broker crashing,
the hub stopped under load, a hostile client. Every test counts readings exactly: each one published must be in
InfluxDB or in the dead letters (with its original message), and nothing the hub acknowledged may be missing.

Each test runs its own InfluxDB (and broker, where it crashes one) on free ports, so a fault never reaches the
session's shared services. Outages are kept short (seconds) with short timeouts, to keep the suite fast.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.devstack import InfluxDB1, free_port
from hub.store.influxql import InfluxQLClient
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink

pytestmark = pytest.mark.integration

LAB = "aarhus-city-lab"
# Environment for a hub under fault: short timeouts and backoff, so seconds-long outages show every behaviour.
FAST_FAULTS = {
    "CITYLAB_INFLUX_WRITE_TIMEOUT_S": "1",
    "CITYLAB_SPOOL_AFTER_S": "0.5",
    "CITYLAB_RETRY_MAX_BACKOFF_S": "0.3",
}


@dataclass(frozen=True)
class Uplink:
    """One TTN uplink with two readings (temperature and PM2.5) at ``when``, from device ``device``."""

    device: str
    when: str
    temperature: float
    pm25: float

    @property
    def topic(self) -> str:
        return AARHUS_TOPIC.format(device=self.device)

    @property
    def payload(self) -> bytes:
        return ttn_uplink(self.device, {"temperature": self.temperature, "pm2_5": self.pm25}, self.when)

    def message(self) -> tuple[str, bytes]:
        return self.topic, self.payload


def uplinks(prefix: str, count: int, *, when: str = "2026-01-10T{hour:02d}:{minute:02d}:{second:02d}Z") -> list[Uplink]:
    """``count`` uplinks, one device each, at distinct times (so every reading is its own point)."""
    made = []
    for index in range(count):
        hour, rest = divmod(index, 3600)
        minute, second = divmod(rest, 60)
        stamp = when.format(hour=hour, minute=minute, second=second)
        made.append(Uplink(f"{prefix}-{index}", stamp, index % 40 + 0.5, index % 100 + 1.25))  # plausible values
    return made


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[InfluxDB1]:
    """An InfluxDB of this test's own, with database ``faults``: the test may kill, wipe or pause it."""
    server = InfluxDB1(free_port(), tmp_path / "influx", database="faults")
    server.start()
    yield server
    server.stop()


def count(client: InfluxQLClient, measurement: str) -> int:
    """Exact number of the hub's points in ``measurement`` (a missing database or measurement counts 0)."""
    series = client.query(f'SELECT count("value") FROM "{measurement}" WHERE "lab" = \'{LAB}\'')
    return int(series[0].values[0][1]) if series else 0


def dead_letters(data_dir: Path) -> list[dict[str, object]]:
    path = data_dir / "deadletters.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM dead_letters ORDER BY id")]


def spooled_messages(data_dir: Path) -> int:
    """MQTT messages whose readings wait in the disk spool (acked to the broker already)."""
    path = data_dir / "spool.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def spool_depth(data_dir: Path) -> int:
    path = data_dir / "spool.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return int(db.execute("SELECT COALESCE(SUM(line_count), 0) FROM batches").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def hub_stats_messages(client: InfluxQLClient) -> int:
    """MQTT messages the hub says it handled (``hub_stats``), summed over every run and interval."""
    series = client.query(f'SELECT sum("messages") FROM hub_stats WHERE "lab" = \'{LAB}\'')
    return int(series[0].values[0][1]) if series else 0


def unique_client_id() -> str:
    return f"citylab-faults-{uuid.uuid4().hex[:8]}"


def payload_of(letter: dict[str, object]) -> bytes:
    payload = letter["payload"]
    assert isinstance(payload, bytes)
    return payload


def decoded(payload: bytes) -> dict[str, object]:
    document = json.loads(payload)
    assert isinstance(document, dict)
    return document
