"""``citylab serve --workers 2`` as an operator runs it, against the real Mosquitto and InfluxDB.

The workers share the subscriptions ($share/<group>/<filter>); one is killed with SIGKILL in the
middle of a stream, the supervisor restarts it with the same identity, and every reading is
counted in InfluxDB. The supervisor's API reads every worker's dead letters, replays them into the
right store, and sums the workers' metrics.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hub.api import create_app
from hub.deadletters.stores import ID_STRIDE
from hub.devstack import InfluxDB1, Mosquitto, free_port
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from tests.conftest import LABS_DIR
from tests.faults.conftest import count, uplinks
from tests.support.hub_process import HubProcess
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

ADMIN = "admin-token-for-worker-tests"
CM_MAPPING = "level_cm: {quantity: waterLevel, unit: cm}"


class Workers:
    """A running ``citylab serve --workers 2`` and where it keeps things."""

    def __init__(self, hub: HubProcess, client_id: str, data_dir: Path) -> None:
        self.hub = hub
        self.client_id = client_id
        self.data_dir = data_dir

    def pids(self, name: str) -> list[int]:
        """Every pid the supervisor started ``name`` with, in order."""
        return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", self.hub.log())]

    def dead_letters(self) -> dict[str, int]:
        found = {}
        for path in sorted(self.data_dir.rglob("deadletters.sqlite3")):
            with sqlite3.connect(path) as db:
                found[path.parent.name] = int(db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
        return found


@pytest.fixture
def start_workers(broker: Mosquitto, influx: InfluxDB1, database: str, tmp_path: Path) -> Iterator:
    started: list[HubProcess] = []
    default_client_id = f"citylab-workers-{uuid.uuid4().hex[:8]}"

    def start(
        *,
        labs: Path = LABS_DIR,
        extra_env: dict[str, str] | None = None,
        count: int = 2,
        args: list[str] | None = None,
        client_id: str = default_client_id,
    ) -> Workers:
        data_dir = tmp_path / "data"
        hub = HubProcess(
            env={
                "CITYLAB_MQTT_URL": broker.url,
                "CITYLAB_MQTT_CLIENT_ID": client_id,
                "CITYLAB_INFLUX_URL": influx.url,
                "CITYLAB_INFLUX_API": "v1",
                "CITYLAB_INFLUX_BUCKET": database,
                "CITYLAB_LABS": str(labs),
                "CITYLAB_DATA_DIR": str(data_dir),
                "CITYLAB_STATS_INTERVAL_S": "1",
                "CITYLAB_BATCH_LINGER_MS": "20",
                **(extra_env or {}),
            },
            log_path=tmp_path / f"serve-{len(started)}.log",
            args=args if args is not None else ["--workers", str(count)],
        )
        started.append(hub)
        hub.start(wait_connected=False)
        if args is None:
            hub.wait_for_log("subscribed to", occurrences=count)
        return Workers(hub, client_id, data_dir)

    yield start
    for hub in started:
        hub.terminate()


def publish_steadily(port: int, messages: list[tuple[str, bytes]], *, chunk: int = 50, pause_s: float = 0.04) -> None:
    """A stream, not one burst: ``chunk`` messages, a pause, and again."""
    for start in range(0, len(messages), chunk):
        publish_all(port, messages[start : start + chunk])
        time.sleep(pause_s)


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_kill_9_of_a_worker_mid_stream_loses_no_reading_and_sigterm_stops_all(
    start_workers, broker: Mosquitto, influx: InfluxDB1, database: str
) -> None:
    client = InfluxQLClient(influx.url, database)
    workers = start_workers()
    (first_pid,) = workers.pids("worker-1")
    (other_pid,) = workers.pids("worker-2")
    total = 2400
    messages = [uplink.message() for uplink in uplinks("w", total)]
    publisher = threading.Thread(target=publish_steadily, args=(broker.port, messages), daemon=True)
    publisher.start()
    wait_until(lambda: count(client, "pm25") >= 300, 30, "both workers busy with the stream")
    os.kill(first_pid, signal.SIGKILL)
    killed_at = count(client, "pm25")
    wait_until(lambda: len(workers.pids("worker-1")) == 2, 15, "worker-1 restarted")
    publisher.join(120)
    assert not publisher.is_alive()
    assert killed_at < total  # the kill came in the middle of the stream
    wait_until(lambda: count(client, "pm25") >= total, 60, "every reading stored")
    time.sleep(0.5)  # nothing more, nothing less

    assert count(client, "pm25") == count(client, "temperature") == total
    assert workers.dead_letters() in ({}, {"worker-1": 0, "worker-2": 0})
    log = workers.hub.log()
    assert re.search(
        rf"worker-1 \(pid {first_pid}, MQTT client {workers.client_id}-w1\) ended .*killed by SIGKILL", log
    )
    # The same identity again: client id and data directory.
    restarted = re.findall(r"started worker-1 \(pid \d+\) as MQTT client (\S+) with data directory (\S+)", log)
    assert restarted == [(f"{workers.client_id}-w1", str(workers.data_dir / "worker-1"))] * 2
    assert workers.pids("worker-2") == [other_pid]  # the other one went on undisturbed

    second_pid = workers.pids("worker-1")[1]
    assert workers.hub.terminate() == 0
    log = workers.hub.log()
    assert "stopped 2 workers" in log
    assert len(re.findall(r"\[worker-\d\] hub\.ingest\.service: stopped after handling", log)) == 2
    assert not alive(second_pid) and not alive(other_pid)

    # Both shared the stream: each worker wrote hub_stats for the messages it handled (the last at its stop).
    # Mosquitto's strict round robin keeps a dead member in the rotation and queues its share for it: the
    # survivor handled exactly its half, and worker-1's half waited for it. (worker-1's own count is short of
    # its half by what its killed process had counted but not yet written to hub_stats.)
    survivor = f"{workers.client_id}-w2"
    wait_until(lambda: handled_per_worker(client).get(survivor) == total / 2, 10, "worker-2's final counts")
    assert handled_per_worker(client)[f"{workers.client_id}-w1"] > 0
    client.close()


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_supervisors_api_reads_replays_and_sums_every_worker(
    start_workers, broker: Mosquitto, influx: InfluxDB1, database: str, tmp_path: Path
) -> None:
    labs = tmp_path / "labs"
    shutil.copytree(LABS_DIR, labs)
    port = free_port()
    workers = start_workers(labs=labs, extra_env={"CITYLAB_API_PORT": str(port), "CITYLAB_API_ADMIN_TOKEN": ADMIN})
    workers.hub.wait_for_log("API listening on")
    api = f"http://127.0.0.1:{port}"
    topic = AARHUS_TOPIC.format(device="harbour-9")
    # 2500 cm is 25 m: out of range. The shared subscription hands them out in turn, two to each worker.
    refused = [(topic, ttn_uplink("h", {"level_cm": 2500 + n}, f"2026-03-02T0{n}:00:00Z")) for n in range(4)]
    publish_all(broker.port, refused)
    wait_until(lambda: sum(workers.dead_letters().values()) == 4, 20, "four dead letters")
    assert workers.dead_letters() == {"worker-1": 2, "worker-2": 2}

    listed = httpx.get(f"{api}/api/v1/deadletters", timeout=10).json()["dead_letters"]
    assert sorted(letter["worker"] for letter in listed) == ["worker-1", "worker-1", "worker-2", "worker-2"]
    assert {letter["id"] // ID_STRIDE for letter in listed} == {1, 2}
    assert {letter["reason_code"] for letter in listed} == {"out_of_range"}
    paged = httpx.get(f"{api}/api/v1/deadletters", params={"limit": 1, "offset": 2}, timeout=10).json()
    assert [letter["id"] for letter in paged["dead_letters"]] == [listed[2]["id"]]

    # A standalone `citylab api` on the parent data directory sees the same letters.
    standalone = Settings(
        mqtt_url=broker.url,  # type: ignore[arg-type]
        influx_url=influx.url,
        influx_api="v1",
        influx_bucket=database,
        labs=labs,
        data_dir=workers.data_dir,
    )
    with TestClient(create_app(standalone)) as alone:
        assert alone.get("/api/v1/deadletters").json()["dead_letters"] == listed

    def messages_per_worker() -> dict[str, float]:
        return {
            dict(labels)["worker"]: value
            for (name, labels), value in metric_samples(httpx.get(f"{api}/metrics", timeout=10).text).items()
            if name == "citylab_messages_total" and dict(labels)["lab"] == "aarhus-city-lab"
        }

    # Each worker renews its metrics every second.
    wait_until(lambda: sum(messages_per_worker().values()) == 4, 10, "both workers' metrics")
    assert messages_per_worker() == {f"{workers.client_id}-w1": 2, f"{workers.client_id}-w2": 2}
    found = metric_samples(httpx.get(f"{api}/metrics", timeout=10).text)
    dead_total = sum(value for (name, _), value in found.items() if name == "citylab_dead_letters_total")
    assert dead_total == 4
    assert found[("citylab_dead_letters_stored", (("lab", "aarhus-city-lab"), ("reason", "out_of_range")))] == 4
    assert {dict(labels)["worker"] for (name, labels), value in found.items() if name == "citylab_worker_up"} == {
        f"{workers.client_id}-w1",
        f"{workers.client_id}-w2",
    }
    assert all(value == 1 for (name, _), value in found.items() if name == "citylab_worker_up")
    ready = httpx.get(f"{api}/ready", timeout=10)
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["mqtt"]["detail"].startswith("2 of 2 workers connected")
    assert checks["worker-1"]["ok"] and checks["worker-2"]["ok"]
    assert f"{workers.client_id}-w2" in checks["worker-2"]["detail"]

    # The firmware sends millimetres: fix the lab config (the API reloads it) and replay across both stores.
    config = labs / "aarhus-city-lab.yaml"
    assert CM_MAPPING in config.read_text()
    config.write_text(config.read_text().replace(CM_MAPPING, "level_cm: {quantity: waterLevel, unit: mm}"))
    auth = {"Authorization": f"Bearer {ADMIN}"}
    done = httpx.post(f"{api}/api/v1/deadletters/replay", json={}, headers=auth, timeout=30).json()
    assert (done["selected"], done["decoded"], done["readings_written"], done["new_dead_letters"]) == (4, 4, 4, 0)
    assert workers.dead_letters() == {"worker-1": 0, "worker-2": 0}
    client = InfluxQLClient(influx.url, database)
    levels = client.query('SELECT "value" FROM "waterLevel"')[0].values
    assert sorted(row[1] for row in levels) == pytest.approx([2.5, 2.501, 2.502, 2.503])
    client.close()
    assert workers.hub.terminate() == 0


def test_workers_stop_cleanly_when_their_supervisor_is_killed(start_workers) -> None:
    """Orphans would keep the client ids a restarted supervisor's workers need, and take the sessions back and
    forth with them: a worker whose supervisor is gone stops as on SIGTERM (flush, ack, disconnect)."""
    workers = start_workers()
    pids = workers.pids("worker-1") + workers.pids("worker-2")
    workers.hub.signal(signal.SIGKILL)
    wait_until(lambda: not any(alive(pid) for pid in pids), 20, "both workers gone")
    log = workers.hub.log()
    assert log.count("is gone: stopping") == 2
    assert len(re.findall(r"\[worker-\d\] hub\.ingest\.service: stopped after handling", log)) == 2


def handled_per_worker(client: InfluxQLClient) -> dict[str, float]:
    return {
        series.tags["worker"]: series.values[0][1]
        for series in client.query('SELECT sum("messages") FROM hub_stats GROUP BY "worker"')
    }


def test_scaling_down_retires_the_left_worker_without_losing_its_share(
    start_workers, broker: Mosquitto, influx: InfluxDB1, database: str
) -> None:
    """From two workers to one: worker-2's session keeps its share of what arrives while no worker runs (and, with
    Mosquitto, of everything after). `citylab serve --retire` with its identity drains it and ends the session."""
    client = InfluxQLClient(influx.url, database)
    two = start_workers()
    assert two.hub.terminate() == 0  # both sessions stay at the broker, each queueing its share
    publish_all(broker.port, [uplink.message() for uplink in uplinks("away", 40)])

    one = start_workers(count=1)
    wait_until(lambda: count(client, "pm25") == 20, 20, "worker-1's share")
    one.hub.wait_for_log("worker-2 (MQTT client")
    assert f"CITYLAB_MQTT_CLIENT_ID={two.client_id}-w2 CITYLAB_DATA_DIR={two.data_dir / 'worker-2'}" in one.hub.log()

    retiring = start_workers(
        args=["--retire"],
        extra_env={
            "CITYLAB_MQTT_CLIENT_ID": f"{two.client_id}-w2",
            "CITYLAB_DATA_DIR": str(two.data_dir / "worker-2"),
            "CITYLAB_MQTT_SHARE_GROUP": two.client_id,
        },
    )
    assert retiring.hub.process is not None and retiring.hub.process.wait(30) == 0
    assert "retired MQTT client" in retiring.hub.log()
    assert count(client, "pm25") == 40  # worker-2's share, drained
    assert (two.data_dir / "worker-2" / "RETIRED").exists()

    # worker-2 has left the group: everything now goes to worker-1.
    publish_all(broker.port, [uplink.message() for uplink in uplinks("after", 10)])
    wait_until(lambda: count(client, "pm25") == 50, 20, "the ten after")
    assert one.hub.terminate() == 0
    wait_until(lambda: sum(handled_per_worker(client).values()) == 50, 10, "every hub_stats point")
    assert handled_per_worker(client) == {f"{two.client_id}-w1": 30, f"{two.client_id}-w2": 20}
    assert count(client, "temperature") == 50
    # Started again, the restarted supervisor doesn't warn about the retired worker any more.
    again = start_workers(count=1)
    time.sleep(0.5)
    assert "worker-2 (MQTT client" not in again.hub.log()
    client.close()
