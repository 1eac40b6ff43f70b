"""A small city network with known readings, ingested once for tests/api through the real hub.

The hub (``citylab serve``) also hosts the API in its own process (CITYLAB_API_PORT), so
/metrics there sees the ingest counters. Tests mostly use TestClient against create_app()
wired to the same database, labs and data directory.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from hub.devstack import InfluxDB1, Mosquitto, free_port
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from tests.conftest import LABS_DIR
from tests.support.hub_process import HubProcess
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, COPENHAGEN_TOPIC, ngsi_notification, ttn_uplink

START = "2026-03-01T00:00:00Z"
END = "2026-03-01T06:00:00Z"  # exclusive: the 06:00 reading below falls outside

# Aarhus (TTN v3; the device comes from the topic): pm2_5 is PM2.5 in µg/m³.
AARHUS_PM25 = [
    ("lamp-1", "2026-03-01T00:10:00Z", 10.0),
    ("lamp-2", "2026-03-01T00:20:00Z", 20.0),
    ("lamp-1", "2026-03-01T01:00:00Z", 30.0),
    ("lamp-1", "2026-03-01T03:30:00Z", 4.0),
    ("lamp-2", "2026-03-01T03:45:00Z", 8.0),
    ("lamp-2", "2026-03-01T04:59:59Z", 16.0),
    ("lamp-1", "2026-03-01T06:00:00Z", 99.0),
]
# Copenhagen (NGSI-LD): local times, NO₂ in ppb (x 1.91 → µg/m³), PM2.5 in µg/m³.
COPENHAGEN = [
    ("hcab-1", "2026-03-01T01:30:00+01:00", 10.0, 40.0),  # 00:30Z
    ("hcab-1", "2026-03-01T06:00:00+01:00", 20.0, 5.0),  # 05:00Z
]
TRUNCATED = b'{"uplink_message": {"decoded_payload": '


def dataset() -> list[tuple[str, bytes]]:
    messages = []
    for device, when, value in AARHUS_PM25:
        decoded: dict[str, object] = {"pm2_5": value}
        if when == "2026-03-01T00:10:00Z":
            decoded["temperature"] = 5.0
        messages.append((AARHUS_TOPIC.format(device=device), ttn_uplink(device, decoded, when)))
    for device, when, no2, pm25 in COPENHAGEN:
        messages.append((COPENHAGEN_TOPIC, ngsi_notification(device, when, no2, pm25)))
    # 2500 cm of water level is 25 m: outside -20..20 m, so a dead letter.
    messages.append(
        (AARHUS_TOPIC.format(device="harbour-2"), ttn_uplink("h", {"level_cm": 2500}, "2026-03-01T02:00:00Z"))
    )
    messages.append((AARHUS_TOPIC.format(device="lamp-1"), TRUNCATED))
    return messages


def dead_letter_count(data_dir: Path) -> int:
    path = data_dir / "deadletters.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])


def wait_for_dead_letters(data_dir: Path, expected: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while dead_letter_count(data_dir) < expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {expected} dead letters, have {dead_letter_count(data_dir)}")
        time.sleep(0.05)


def api_settings(broker: Mosquitto, influx: InfluxDB1, database: str, data_dir: Path, **extra: object) -> Settings:
    return Settings(
        mqtt_url=broker.url,  # type: ignore[arg-type]
        influx_url=influx.url,
        influx_api="v1",
        influx_bucket=database,
        labs=LABS_DIR,
        data_dir=data_dir,
        **extra,  # type: ignore[arg-type]
    )


@dataclass
class Network:
    database: str
    data_dir: Path
    api_url: str
    hub: HubProcess
    settings: Settings


@pytest.fixture(scope="package")
def network(influx: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    base = tmp_path_factory.mktemp("api-network")
    # A broker of its own: other tests publish to the shared one, and this hub must see only the dataset.
    broker = Mosquitto(free_port(), base / "mosquitto")
    broker.start()
    database = f"api_{uuid.uuid4().hex[:12]}"
    influx.create_database(database)
    data_dir = base / "data"
    port = free_port()
    hub = HubProcess(
        env={
            "CITYLAB_MQTT_URL": broker.url,
            "CITYLAB_MQTT_CLIENT_ID": f"citylab-api-{uuid.uuid4().hex[:8]}",
            "CITYLAB_INFLUX_URL": influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": database,
            "CITYLAB_LABS": str(LABS_DIR),
            "CITYLAB_DATA_DIR": str(data_dir),
            "CITYLAB_BATCH_LINGER_MS": "20",
            "CITYLAB_API_PORT": str(port),
        },
        log_path=base / "hub.log",
    )
    try:
        hub.start()
        hub.wait_for_log("API listening on")
        publish_all(broker.port, dataset())
        client = InfluxQLClient(influx.url, database)
        wait_for_rows(client, 'SELECT "value" FROM pm25', len(AARHUS_PM25) + len(COPENHAGEN))
        wait_for_rows(client, 'SELECT "value" FROM no2', len(COPENHAGEN))
        wait_for_rows(client, 'SELECT "value" FROM temperature', 1)
        client.close()
        wait_for_dead_letters(data_dir, 2)
        yield Network(
            database, data_dir, f"http://127.0.0.1:{port}", hub, api_settings(broker, influx, database, data_dir)
        )
    finally:
        exit_code = hub.terminate()
        broker.stop()
    assert exit_code == 0


@pytest.fixture(scope="package")
def client(network: Network) -> Iterator[TestClient]:
    with TestClient(create_app(network.settings)) as test_client:
        yield test_client
