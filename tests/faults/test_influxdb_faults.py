"""InfluxDB breaking under the hub: killed while some points conflict, back with an empty data directory, hung.

Each scenario counts every reading: published = stored + dead-lettered, exactly, and every dead letter
holds its original message (so replay can store it once the cause is gone).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hub.api import create_app
from hub.devstack import InfluxDB1, Mosquitto
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from tests.conftest import LABS_DIR
from tests.faults.conftest import (
    FAST_FAULTS,
    LAB,
    count,
    dead_letters,
    payload_of,
    spool_depth,
    spooled_messages,
    uplinks,
)
from tests.support.mqtt import publish_all
from tests.support.wait import wait_until

# In the week of 2026-02-23 (one InfluxDB 1.x shard), someone wrote temperature as an integer: every float
# temperature of that week is refused with a field type conflict, while the rest of the batch is stored.
SEED = "temperature,city=aarhus,device=seed,lab=elsewhere value=1i 1772236800000000000"  # 2026-02-28T00:00Z
POISON_WEEK = "2026-03-01T10:{minute:02d}:{second:02d}Z"


def test_poison_points_during_an_outage_are_dead_lettered_exactly_and_replay_stores_them(
    own_influx: InfluxDB1, hub_factory, broker: Mosquitto, tmp_path: Path
) -> None:
    """The compound fault that lost 11-15 readings per run: points conflicting in field type meet an outage."""
    client = InfluxQLClient(own_influx.url, "faults")
    client_writes = httpx.post(f"{own_influx.url}/write", params={"db": "faults"}, content=SEED)
    assert client_writes.status_code == 204
    hub = hub_factory(influx_url=own_influx.url, extra_env={"CITYLAB_INFLUX_BUCKET": "faults", **FAST_FAULTS})
    data_dir = tmp_path / "data"

    before = uplinks("before", 10)
    publish_all(broker.port, [uplink.message() for uplink in before])
    wait_until(lambda: count(client, "pm25") == 10, 20, "the first 10 uplinks stored")

    own_influx.kill()
    during = uplinks("during", 60)
    poison = [
        index for index in range(60) if index % 10 == 3
    ]  # 6 uplinks in the poisoned week: their temperature is refused, their PM2.5 stored
    for index in poison:
        uplink = during[index]
        during[index] = type(uplink)(uplink.device, POISON_WEEK.format(minute=index, second=0), uplink.temperature, 1.0)
    publish_all(broker.port, [uplink.message() for uplink in during])
    wait_until(lambda: spooled_messages(data_dir) == 60, 20, "all 60 uplinks spooled (and acked)")

    own_influx.start(create_database=False)  # same data directory: the database and the conflict are back
    wait_until(lambda: spool_depth(data_dir) == 0, 30, "the spool drained")

    # 70 uplinks, 140 readings: 134 stored, 6 dead letters, none lost.
    assert count(client, "temperature") == 10 + 54
    assert count(client, "pm25") == 10 + 60
    letters = dead_letters(data_dir)
    assert len(letters) == 6
    assert [payload_of(letter) for letter in letters] == [during[index].payload for index in poison]
    assert [letter["topic"] for letter in letters] == [during[index].topic for index in poison]
    assert {(letter["lab"], letter["codec"], letter["reason_code"]) for letter in letters} == {
        (LAB, "ttn-v3", "store_rejected")
    }
    assert all("field type conflict" in str(letter["reason"]) for letter in letters)
    assert "6 refused by it and kept as dead letters" in hub.log()

    # The operator removes the conflicting shard (and the good points in it), then replays: all 140 stored.
    shards = client.query("SHOW SHARDS")
    (shard,) = [row[0] for series in shards for row in series.values if str(row[4]).startswith("2026-02-23")]
    client.execute(f"DROP SHARD {shard}")
    settings = Settings(
        influx_url=own_influx.url,
        influx_api="v1",
        influx_bucket="faults",
        labs=LABS_DIR,
        data_dir=data_dir,
        api_admin_token=SecretStr("admin-secret"),
    )
    with TestClient(create_app(settings)) as api:
        result = api.post(
            "/api/v1/deadletters/replay",
            json={"reason": "store_rejected"},
            headers={"Authorization": "Bearer admin-secret"},
        ).json()
    assert (result["selected"], result["decoded"], result["still_failing"]) == (6, 6, 0)
    assert (result["readings"], result["readings_written"]) == (12, 12)
    assert count(client, "temperature") == 70
    assert count(client, "pm25") == 70
    assert dead_letters(data_dir) == []
    client.close()


@pytest.mark.parametrize("create", [False, True], ids=["held until the database exists", "created by the hub"])
def test_influxdb_back_with_an_empty_data_directory_loses_nothing(
    own_influx: InfluxDB1, hub_factory, broker: Mosquitto, tmp_path: Path, create: bool
) -> None:
    """InfluxDB comes back empty: its database is gone, writes answer 404. That is an outage, not refused data."""
    env = {"CITYLAB_INFLUX_BUCKET": "faults", **FAST_FAULTS}
    if create:
        env["CITYLAB_INFLUX_CREATE_DATABASE"] = "true"
    hub = hub_factory(influx_url=own_influx.url, extra_env=env)
    data_dir = tmp_path / "data"
    client = InfluxQLClient(own_influx.url, "faults")
    publish_all(broker.port, [uplink.message() for uplink in uplinks("before", 5)])
    wait_until(lambda: count(client, "pm25") == 5, 20, "stored before the crash")

    own_influx.kill()
    shutil.rmtree(own_influx.data_dir)
    during = uplinks("during", 30)
    publish_all(broker.port, [uplink.message() for uplink in during])
    wait_until(lambda: spooled_messages(data_dir) == 30, 20, "all 30 uplinks spooled")
    own_influx.start(create_database=False)

    if not create:
        hub.wait_for_log("database not found")
        assert "held, never dropped" in hub.log()
        time.sleep(1.0)  # the hub keeps retrying; nothing may be dead-lettered meanwhile
        assert spooled_messages(data_dir) == 30
        assert dead_letters(data_dir) == []
        own_influx.create_database("faults")  # the operator's fix
    wait_until(lambda: spool_depth(data_dir) == 0, 30, "the spool drained")
    if create:
        assert "created the missing database 'faults'" in hub.log()
    # The 5 stored before went with the data directory (not the hub's loss); the 30 spooled are all there.
    assert count(client, "temperature") == 30
    assert count(client, "pm25") == 30
    assert dead_letters(data_dir) == []
    client.close()


def test_a_hung_influxdb_is_an_outage_logged_and_spooled(
    own_influx: InfluxDB1, hub_factory, broker: Mosquitto, tmp_path: Path
) -> None:
    """SIGSTOP: connections are accepted, nothing answers. The short write timeout turns it into an outage."""
    hub = hub_factory(influx_url=own_influx.url, extra_env={"CITYLAB_INFLUX_BUCKET": "faults", **FAST_FAULTS})
    data_dir = tmp_path / "data"
    client = InfluxQLClient(own_influx.url, "faults")
    publish_all(broker.port, [uplink.message() for uplink in uplinks("before", 5)])
    wait_until(lambda: count(client, "pm25") == 5, 20, "stored before the hang")

    own_influx.pause()
    try:
        hung_at = time.monotonic()
        publish_all(broker.port, [uplink.message() for uplink in uplinks("during", 20)])
        wait_until(lambda: spooled_messages(data_dir) == 20, 20, "all 20 spooled (and acked) during the hang")
        spooled_after = time.monotonic() - hung_at
        assert "InfluxDB did not answer within 1s" in hub.log()
        assert "hung or overloaded" in hub.log()
    finally:
        own_influx.resume()
    wait_until(lambda: spool_depth(data_dir) == 0, 30, "the spool drained")
    assert count(client, "temperature") == 25
    assert count(client, "pm25") == 25
    assert dead_letters(data_dir) == []
    assert spooled_after < 8  # a timeout (1 s), the spool threshold (0.5 s), and the batches' own pace
    client.close()
