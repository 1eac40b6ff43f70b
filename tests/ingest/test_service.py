"""The ingest service against a real Mosquitto and a real InfluxDB (Debian's 1.6, v1 API).

First the wiring, in this process: two pipelines side by side, each with its own identity and
files. Then the real ``citylab serve`` as an operator runs it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.devstack import InfluxDB1, Mosquitto, free_port
from hub.ingest.service import IngestService
from hub.labs import load_labs
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from tests.conftest import LABS_DIR
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, COPENHAGEN_TOPIC, ngsi_notification, ttn_uplink
from tests.support.v2_compat_proxy import V2CompatProxy
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


def dead_letters(data_dir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data_dir / "deadletters.sqlite3") as db:
        return db.execute("SELECT lab, reason_code, reason FROM dead_letters ORDER BY id").fetchall()


def test_two_pipelines_in_one_process_keep_their_own_session_files_and_counters(
    broker: Mosquitto, influx: InfluxDB1, database: str, influxql: InfluxQLClient, tmp_path: Path
) -> None:
    """What a worker process does: build a service from its own settings, start it, stop it."""
    labs = load_labs(LABS_DIR)
    services = [
        IngestService(
            Settings(
                mqtt_url=broker.url,  # type: ignore[arg-type]
                mqtt_client_id=f"citylab-worker-{n}-{uuid.uuid4().hex[:6]}",
                influx_url=influx.url,
                influx_api="v1",
                influx_bucket=database,
                data_dir=tmp_path / f"worker-{n}",
                batch_linger_ms=20,
                stats_interval_s=0.2,
            ),
            labs=labs,
        )
        for n in (1, 2)
    ]
    for service in services:
        service.start()
    try:
        assert all(service.wait_connected(10) for service in services)
        publish_all(
            broker.port,
            [
                (COPENHAGEN_TOPIC, ngsi_notification("wired", "2026-03-01T10:00:00Z", 5, 3)),
                (AARHUS_TOPIC.format(device="wired"), b"not json"),
            ],
        )
        # Plain (not shared) subscriptions: each pipeline gets both messages and handles them on its own.
        for n in (1, 2):
            wait_until(lambda n=n: len(dead_letters(tmp_path / f"worker-{n}")) == 1, 10, "a dead letter each")
        rows = wait_for_rows(influxql, 'SELECT "value", device FROM pm25', 1)
        assert [(row["device"], row["value"]) for row in rows] == [("wired", 3.0)]  # one point: writes are idempotent
        wait_for_rows(influxql, "SELECT messages FROM hub_stats WHERE lab = 'copenhagen-street-lab'", 2)
    finally:
        for service in services:
            service.stop(10)
    for n, service in enumerate(services, start=1):
        assert service.stats.total.messages == {"copenhagen-street-lab": 1, "aarhus-city-lab": 1}
        assert service.stats.total.dead_letters == {("aarhus-city-lab", "decode_error"): 1}
        assert not service.connected
        assert [code for _, code, _ in dead_letters(tmp_path / f"worker-{n}")] == ["decode_error"]


def test_both_labs_native_payloads_land_as_exact_points(hub_factory, broker, influxql: InfluxQLClient):
    hub_factory()
    publish_all(
        broker.port,
        [
            (
                AARHUS_TOPIC.format(device="lamp-7"),
                ttn_uplink(
                    "lamp-7", {"temperature": 21.5, "humidity": 40, "pm2_5": 7.25}, "2026-03-01T10:00:00.123456789Z"
                ),
            ),
            (COPENHAGEN_TOPIC, ngsi_notification("hcab-1", "2026-03-01T11:00:00+01:00", 10.0, 12.5)),
        ],
    )
    rows = wait_for_rows(influxql, 'SELECT "value", city, lab, device FROM temperature, relativeHumidity, pm25, no2', 5)
    by_quantity = {(row["lab"], row["device"], row["value"], row["time"]) for row in rows}
    gateway_ns = 1772359200123456789  # 2026-03-01T10:00:00.123456789Z, full ns precision kept
    observed_ns = 1772359200000000000  # 11:00+01:00 == 10:00Z
    assert by_quantity == {
        ("aarhus-city-lab", "lamp-7", 21.5, gateway_ns),
        ("aarhus-city-lab", "lamp-7", 40.0, gateway_ns),
        ("aarhus-city-lab", "lamp-7", 7.25, gateway_ns),
        ("copenhagen-street-lab", "hcab-1", 19.1, observed_ns),  # 10 ppb NO2 x 1.91
        ("copenhagen-street-lab", "hcab-1", 12.5, observed_ns),
    }
    cities = {row["city"] for row in rows}
    assert cities == {"aarhus", "copenhagen"}
    tags = influxql.query("SHOW TAG KEYS")
    assert {key for series in tags for (key,) in series.values} == {"city", "device", "lab"}


def test_two_readings_within_one_second_are_both_kept(hub_factory, broker, influxql):
    hub_factory()
    topic = AARHUS_TOPIC.format(device="fast-1")
    publish_all(
        broker.port,
        [
            (topic, ttn_uplink("fast-1", {"temperature": 20.0}, "2026-03-01T10:00:00.100Z")),
            (topic, ttn_uplink("fast-1", {"temperature": 20.5}, "2026-03-01T10:00:00.600Z")),
        ],
    )
    rows = wait_for_rows(influxql, 'SELECT "value" FROM temperature', 2)
    assert [row["value"] for row in rows] == [20.0, 20.5]


def test_malformed_messages_go_to_dead_letters_while_good_ones_flow(hub_factory, broker, influxql, tmp_path):
    hub_factory()
    topic = AARHUS_TOPIC.format(device="lamp-1")
    messages = []
    for index in range(20):
        messages.append((topic, ttn_uplink("lamp-1", {"temperature": float(index)}, f"2026-03-01T10:00:{index:02d}Z")))
        if index % 5 == 0:
            messages.append((topic, b'{"uplink_message": {"decoded_payload": '))  # truncated
    messages.append((topic, ttn_uplink("lamp-1", {"temperature": 300.0}, "2026-03-01T11:00:00Z")))
    messages.append(("nobody/claims/this", b"{}"))
    publish_all(broker.port, messages)
    rows = wait_for_rows(influxql, 'SELECT "value" FROM temperature', 20)
    assert sorted(row["value"] for row in rows) == [float(i) for i in range(20)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(dead_letters(tmp_path / "data")) < 5:
        time.sleep(0.1)
    letters = dead_letters(tmp_path / "data")
    assert sorted(code for _, code, _ in letters) == ["decode_error"] * 4 + ["out_of_range"]
    assert all(lab == "aarhus-city-lab" for lab, _, _ in letters)
    assert "not valid JSON" in letters[0][2]
    assert "300" in next(reason for _, code, reason in letters if code == "out_of_range")
    # The topic that matches no lab is not subscribed to at all, so it never reaches the hub.


def test_device_id_cannot_inject_a_point(hub_factory, broker, influxql):
    hub_factory()
    evil = "evil,city=oslo lab=x"  # MQTT topic levels can hold commas, spaces and '='
    publish_all(
        broker.port,
        [
            (AARHUS_TOPIC.format(device=evil), ttn_uplink("x", {"temperature": 5.0}, "2026-03-01T10:00:00Z")),
            (AARHUS_TOPIC.format(device="plain"), ttn_uplink("x", {"temperature": 6.0}, "2026-03-01T10:00:00Z")),
        ],
    )
    rows = wait_for_rows(influxql, 'SELECT "value", city, lab, device FROM temperature', 2)
    assert sorted((row["device"], row["city"], row["value"]) for row in rows) == [
        ("evil,city=oslo lab=x", "aarhus", 5.0),
        ("plain", "aarhus", 6.0),
    ]
    assert [
        name for series in influxql.query("SHOW MEASUREMENTS") for (name,) in series.values if name != "hub_stats"
    ] == ["temperature"]


def test_transient_outage_retries_without_losing_or_acking(hub_factory, broker, tmp_path):
    """The database is down when messages arrive; once it is up, every reading lands.

    InfluxDB answers /ping before its database exists, and a write in that gap gets 404: an outage
    too, so nothing is dead-lettered and every reading lands once the database is there."""
    port = free_port()
    late_influx = InfluxDB1(port, tmp_path / "late-influx", database="late")
    hub = hub_factory(
        influx_url=late_influx.url, extra_env={"CITYLAB_INFLUX_BUCKET": "late", "CITYLAB_RETRY_MAX_BACKOFF_S": "0.5"}
    )
    topic = AARHUS_TOPIC.format(device="outage")
    publish_all(
        broker.port,
        [(topic, ttn_uplink("o", {"temperature": float(i)}, f"2026-03-01T10:00:{i:02d}Z")) for i in range(10)],
    )
    hub.wait_for_log("InfluxDB write failed; retrying with backoff")
    late_influx.start()
    try:
        client = InfluxQLClient(late_influx.url, "late")
        rows = wait_for_rows(client, 'SELECT "value" FROM temperature', 10, timeout_s=30)
        assert sorted(row["value"] for row in rows) == [float(i) for i in range(10)]
        assert not (tmp_path / "data" / "deadletters.sqlite3").exists() or dead_letters(tmp_path / "data") == []
    finally:
        hub.terminate()
        late_influx.stop()


def test_sigterm_flushes_and_nothing_is_lost_across_restart(hub_factory, broker, influxql):
    hub = hub_factory(extra_env={"CITYLAB_BATCH_LINGER_MS": "500"})
    topic = AARHUS_TOPIC.format(device="restart")
    count = 300
    publish_all(
        broker.port,
        [
            (topic, ttn_uplink("r", {"temperature": float(i % 50)}, f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z"))
            for i in range(count)
        ],
    )
    assert hub.terminate() == 0
    assert "stopped" in hub.log()
    # Whatever was not acked before the stop is redelivered to the same persistent session.
    hub_factory()
    rows = wait_for_rows(influxql, 'SELECT "value" FROM temperature', count, timeout_s=30)
    assert len(rows) == count


def test_v2_write_path_through_the_18_compatibility_mapping(hub_factory, broker, influx, database, influxql):
    """influxdb-client's /api/v2/write, mapped as InfluxDB 1.8 documents it onto the real 1.6 server."""
    with V2CompatProxy(influx.url) as proxy:
        hub_factory(
            influx_url=proxy.url,
            api="v2",
            extra_env={"CITYLAB_INFLUX_BUCKET": f"{database}/autogen", "CITYLAB_INFLUX_ORG": "-"},
        )
        publish_all(broker.port, [(COPENHAGEN_TOPIC, ngsi_notification("v2-box", "2026-03-01T10:00:00Z", 5, 3))])
        rows = wait_for_rows(influxql, 'SELECT "value", device FROM pm25', 1)
        assert rows[0]["device"] == "v2-box"
        assert rows[0]["value"] == 3.0
        assert proxy.requests >= 1


def test_hub_writes_its_own_stats(hub_factory, broker, influxql):
    hub_factory()
    publish_all(broker.port, [(COPENHAGEN_TOPIC, ngsi_notification("s", "2026-03-01T10:00:00Z", 5, 3))])
    rows = wait_for_rows(influxql, "SELECT sum(messages) FROM hub_stats WHERE lab = 'copenhagen-street-lab'", 1)
    assert rows[0]["sum"] == 1


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
