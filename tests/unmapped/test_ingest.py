"""Unmapped keys end to end: two ingest workers against a real Mosquitto and InfluxDB record what they
could not map, and ``citylab labs unmapped`` and ``GET /api/v1/unmapped`` list it, merged."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from hub.devstack import InfluxDB1, Mosquitto
from hub.ingest.service import IngestService
from hub.labs import load_labs
from hub.read.unmapped import find_stores, merge_rows
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from tests.conftest import LABS_DIR, ROOT
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

TIME = "2026-03-01T10:00:00Z"


def chirpstack_event(dev_eui: str, profile_name: str, decoded: dict[str, object]) -> bytes:
    info = {"devEui": dev_eui, "deviceProfileName": profile_name}
    return json.dumps({"time": TIME, "deviceInfo": info, "object": decoded}).encode()


def test_two_workers_record_and_the_cli_and_api_list_them_merged(
    broker: Mosquitto, influx: InfluxDB1, database: str, influxql: InfluxQLClient, tmp_path: Path
) -> None:
    labs = load_labs(LABS_DIR)
    base = tmp_path / "data"
    settings = [
        Settings(
            mqtt_url=broker.url,  # type: ignore[arg-type]
            mqtt_client_id=f"citylab-unmapped-{n}-{uuid.uuid4().hex[:6]}",
            influx_url=influx.url,
            influx_api="v1",
            influx_bucket=database,
            data_dir=base / f"worker-{n}",
            labs=LABS_DIR,
            batch_linger_ms=20,
        )
        for n in (1, 2)
    ]
    services = [IngestService(one, labs=labs) for one in settings]
    os2iot = "application/6d5d2b1e-3f0a-4c55-9a8e-0a1b2c3d4e5f/device/{dev}/event/up"
    eui = "24e1240000000001"
    vicki = {"sensorTemperature": 18.0, "motorPosition": 250}
    pipe = {"pressure": 310, "battery": 90, "newKey": 1}
    messages = [
        # A MClimate Vicki whose network names no model: one guessed key, the rest unmapped.
        (AARHUS_TOPIC.format(device="vicki-7"), ttn_uplink("v", vicki, TIME)),
        # A Milesight EM500-PP named by its ChirpStack profile: its pressure is a pipe's, never the air's.
        (os2iot.format(dev=eui), chirpstack_event(eui, "Milesight EM500-PP", pipe)),
    ]
    for service in services:
        service.start()
    try:
        assert all(service.wait_connected(10) for service in services)
        publish_all(broker.port, messages)
        # Both workers subscribe plainly, so each handles both messages and keeps its own store.
        for one in settings:
            path = one.data_dir / "unmapped.sqlite3"
            wait_until(lambda path=path: path.is_file() and len(merge_rows([path])[0]) == 3, 20, f"3 rows in {path}")
        rows = wait_for_rows(influxql, 'SELECT "value", device FROM gaugePressure', 1)
        assert [(row["device"], row["value"]) for row in rows] == [("24e1240000000001", 310.0)]
        assert wait_for_rows(influxql, 'SELECT "value" FROM temperature', 1)[0]["value"] == 18.0
    finally:
        for service in services:
            service.stop(10)

    assert len(find_stores([base])) == 2
    cli = subprocess.run(
        [sys.executable, "-m", "hub.cli", "labs", "unmapped", "--data-dir", str(base), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    listed = {entry["key"]: entry for entry in map(json.loads, cli.stdout.splitlines())}
    assert set(listed) == {"sensorTemperature", "motorPosition", "newKey"}
    assert listed["sensorTemperature"]["guessed_as"] == "temperature"
    assert listed["sensorTemperature"]["count"] == 2  # one sighting in each worker's store
    assert listed["newKey"]["profile"] == "milesight-iot/em500-pp"
    assert listed["newKey"]["device_model"] == "milesight-iot/em500-pp"
    assert listed["motorPosition"]["suggested_profiles"]
    text = subprocess.run(
        [sys.executable, "-m", "hub.cli", "labs", "unmapped", "--lab", "aarhus-os2iot", "--data-dir", str(base)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "newKey  [unmapped]  seen 2x" in text and "hub/data/profiles/milesight-iot/em500-pp.yaml" in text

    api_settings = settings[0].model_copy(update={"data_dir": base})
    with TestClient(create_app(api_settings)) as client:
        answer = client.get("/api/v1/unmapped", params={"lab": "aarhus-city-lab"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert {entry["key"]: entry["count"] for entry in body["unmapped"]} == {
            "sensorTemperature": 2,
            "motorPosition": 2,
        }
        assert "mappings:" in body["unmapped"][0]["snippet"]
        assert client.get("/api/v1/unmapped", params={"lab": "atlantis"}).status_code == 400
        everything = client.get("/api/v1/unmapped", params={"all": "true"}).json()
        assert len(everything["unmapped"]) == 3
