"""When InfluxDB stays down, batches go to the disk spool, their messages are acked, and the spool
drains once InfluxDB is back. Real InfluxDB, real Mosquitto, real refused connections."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.devstack import InfluxDB1, Mosquitto, free_port
from hub.ingest.batcher import BatchWriter, Envelope
from hub.ingest.stats import IngestStats
from hub.store.deadletters import DeadLetterStore
from hub.store.influxql import InfluxQLClient
from hub.store.spool import Spool
from hub.store.writers import V1Writer
from tests.integration.test_ingest import AARHUS_TOPIC, ttn_uplink
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all

pytestmark = pytest.mark.integration


def wait_until(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_batches_are_spooled_acked_and_drained(tmp_path: Path) -> None:
    port = free_port()  # nothing listens yet: every write is refused
    acks: list[int] = []
    stats = IngestStats()
    spool = Spool(tmp_path / "spool.sqlite3")
    batcher = BatchWriter(
        writer=V1Writer(f"http://127.0.0.1:{port}", "late"),
        dead_letters=DeadLetterStore(tmp_path / "dead.sqlite3"),
        ack=lambda mid, _qos: acks.append(mid),
        stats=stats,
        linger_s=0.01,
        max_backoff_s=0.3,
        spool=spool,
        spool_after_s=0.3,
    )
    batcher.start()
    for mid in range(1, 11):
        batcher.submit(Envelope(mid, 1, "t", "lab", lines=[f"temperature,city=c,device=d,lab=l value={mid}.0 {mid}"]))
    wait_until(lambda: len(acks) == 10)
    assert acks == list(range(1, 11))  # in arrival order, each only after its line is on disk
    assert stats.spool_depth == 10

    influx = InfluxDB1(port, tmp_path / "influx", database="late")
    influx.start()
    try:
        wait_until(lambda: stats.spool_depth == 0, timeout_s=30)
        rows = wait_for_rows(InfluxQLClient(influx.url, "late"), 'SELECT "value" FROM temperature', 10)
        assert [row["value"] for row in rows] == [float(i) for i in range(1, 11)]
        assert spool.depth == 0
    finally:
        batcher.stop(5)
        influx.stop()


def test_hub_acks_spooled_messages_and_drains_them_after_a_restart(hub_factory, broker: Mosquitto, tmp_path):
    port = free_port()
    late = InfluxDB1(port, tmp_path / "late-influx", database="late")
    client_id = f"citylab-spool-{uuid.uuid4().hex[:6]}"
    env = {
        "CITYLAB_INFLUX_BUCKET": "late",
        "CITYLAB_SPOOL_AFTER_S": "0.5",
        "CITYLAB_RETRY_MAX_BACKOFF_S": "0.3",
        "CITYLAB_MQTT_CLIENT_ID": client_id,
    }
    hub = hub_factory(influx_url=late.url, extra_env=env)
    topic = AARHUS_TOPIC.format(device="spooled")
    publish_all(
        broker.port,
        [(topic, ttn_uplink("s", {"temperature": float(i)}, f"2026-03-01T10:00:{i:02d}Z")) for i in range(10)],
    )
    hub.wait_for_log("spooled")
    time.sleep(1.5)  # the stats lines spool too; give the last batches time
    assert hub.terminate() == 0

    # The broker holds nothing more for the hub's session: every message was acked once spooled.
    redelivered: list[str] = []
    connected = threading.Event()
    session = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=False,
        manual_ack=True,
    )
    session.on_connect = lambda *_args: connected.set()
    session.on_message = lambda _c, _u, message: redelivered.append(message.topic)
    session.connect("127.0.0.1", broker.port)
    session.loop_start()
    assert connected.wait(10)
    time.sleep(1.0)
    session.loop_stop()
    session.disconnect()
    assert redelivered == []

    late.start()
    try:
        hub_factory(influx_url=late.url, extra_env=env)
        rows = wait_for_rows(InfluxQLClient(late.url, "late"), 'SELECT "value" FROM temperature', 10, timeout_s=30)
        assert sorted(row["value"] for row in rows) == [float(i) for i in range(10)]
    finally:
        late.stop()
