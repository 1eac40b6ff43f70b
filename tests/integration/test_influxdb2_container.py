"""The v2 write path against a real InfluxDB 2.7 in a container, where a Docker daemon exists.

Pinned to ``influxdb:2.7``: ``latest`` is InfluxDB 3 now. Readings written through
influxdb-client's /api/v2/write are read back with InfluxQL through the bucket's virtual
DBRP mapping (database = bucket), the same way the dashboards and the API query.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.store.influxql import InfluxQLClient
from tests.support.docker import docker_unavailable_reason
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import COPENHAGEN_TOPIC, ngsi_notification

pytestmark = [pytest.mark.integration, pytest.mark.docker]

TOKEN = "citylab-test-token-0123456789"  # a throwaway container's token
ORG = "citylab"
BUCKET = "citylab"


@pytest.fixture(scope="module")
def influxdb2() -> Iterator[str]:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    from testcontainers.community.influxdb.version2 import InfluxDb2Container

    container = InfluxDb2Container(
        image="influxdb:2.7",
        init_mode="setup",
        admin_token=TOKEN,
        username="admin",
        password="citylab-test-password",
        org_name=ORG,
        bucket=BUCKET,
    )
    with container:
        yield container.get_url()


def test_readings_written_with_v2_api_are_readable_with_influxql(influxdb2: str, hub_factory, broker) -> None:
    hub_factory(
        influx_url=influxdb2,
        api="v2",
        extra_env={"CITYLAB_INFLUX_BUCKET": BUCKET, "CITYLAB_INFLUX_ORG": ORG, "CITYLAB_INFLUX_TOKEN": TOKEN},
    )
    publish_all(broker.port, [(COPENHAGEN_TOPIC, ngsi_notification("box-2", "2026-03-01T10:00:00Z", 10.0, 4.5))])
    client = InfluxQLClient(influxdb2, BUCKET, token=TOKEN)
    rows = wait_for_rows(client, 'SELECT "value", city, device FROM pm25', 1)
    assert (rows[0]["city"], rows[0]["device"], rows[0]["value"]) == ("copenhagen", "box-2", 4.5)
