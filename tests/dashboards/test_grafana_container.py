"""The provisioning in a real Grafana, where a Docker daemon exists (skipped, with the reason, otherwise).

Grafana (pinned) and InfluxDB 2.7 (never ``latest``: that is InfluxDB 3) share a Docker
network; Grafana gets dashboards/provisioning mounted exactly as compose mounts it. Then,
through grafana-client: the datasource health check passes, every dashboard exists, the
home dashboard is the cities comparison, a panel query through /api/ds/query returns one
series per city, and anonymous viewers can read. A second, bare Grafana receives the same
through `citylab dashboards push`, twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dashboards import build, cities
from dashboards.common import DATASOURCE_UID, FOLDER_UID, GRAFANA_IMAGE
from dashboards.push import InfluxTarget, connect, push
from hub.store.writers import make_writer
from tests.dashboards import walk
from tests.support.docker import docker_unavailable_reason

pytestmark = [pytest.mark.integration, pytest.mark.docker]

INFLUX_IMAGE = "influxdb:2.7"
TOKEN = "citylab-grafana-test-token-0123456789"  # a throwaway container's token
ORG = BUCKET = "citylab"
ADMIN = ("admin", "citylab-test-admin")
CITY_POINTS = {"aarhus": 8.0, "copenhagen": 12.0, "oslo": 15.0, "helsinki": 21.0}


@dataclass(frozen=True)
class Stack:
    grafana_url: str  # provisioned from dashboards/provisioning
    bare_grafana_url: str  # nothing provisioned: what `citylab dashboards push` is for
    influx_url: str  # from the host
    influx_internal_url: str  # from Grafana, on the Docker network


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    # Containers are created only now: creating one already talks to Docker.
    from testcontainers.community.influxdb.version2 import InfluxDb2Container
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    def grafana(network: Network) -> DockerContainer:
        return (
            DockerContainer(GRAFANA_IMAGE)
            .with_network(network)
            .with_exposed_ports(3000)
            .with_envs(GF_SECURITY_ADMIN_USER=ADMIN[0], GF_SECURITY_ADMIN_PASSWORD=ADMIN[1])
        )

    with Network() as network:
        influx = InfluxDb2Container(
            image=INFLUX_IMAGE,
            init_mode="setup",
            admin_token=TOKEN,
            username="admin",
            password="citylab-test-password",
            org_name=ORG,
            bucket=BUCKET,
        )
        influx.with_network(network).with_network_aliases("influxdb")
        provisioned = (
            grafana(network)
            .with_envs(
                CITYLAB_INFLUX_URL="http://influxdb:8086",
                CITYLAB_INFLUX_BUCKET=BUCKET,
                CITYLAB_INFLUX_TOKEN=TOKEN,
                GF_AUTH_ANONYMOUS_ENABLED="true",
                GF_AUTH_ANONYMOUS_ORG_ROLE="Viewer",
                GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH=f"{build.CONTAINER_JSON_DIR}/{build.HOME_UID}.json",
            )
            .with_volume_mapping(
                str(build.PROVISIONING_DIR / "datasources"), "/etc/grafana/provisioning/datasources", "ro"
            )
            .with_volume_mapping(
                str(build.PROVISIONING_DIR / "dashboards"), "/etc/grafana/provisioning/dashboards", "ro"
            )
        )
        bare = grafana(network)
        with influx, provisioned, bare:
            urls = [f"http://{c.get_container_host_ip()}:{c.get_exposed_port(3000)}" for c in (provisioned, bare)]
            for url in urls:
                _wait_healthy(url)
            yield Stack(urls[0], urls[1], influx.get_url(), "http://influxdb:8086")


def _wait_healthy(url: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"Grafana at {url} never became healthy")


@pytest.fixture(scope="module")
def filled(stack: Stack) -> Stack:
    """pm25 for four cities and a hub_stats point, written the way the hub writes (v2 API)."""
    writer = make_writer(api="v2", url=stack.influx_url, bucket=BUCKET, org=ORG, token=TOKEN)
    now = time.time_ns()
    lines = [
        f"pm25,city={city},device={city}-1,lab={city}-lab lat=60.0,lon=15.0,value={level + minute} "
        f"{now - minute * 60_000_000_000}"
        for city, level in CITY_POINTS.items()
        for minute in range(30)
    ]
    lines.append(
        f"hub_stats,lab=_hub batches=1,batch_lines=120,write_latency_ms=3.5,write_latency_max_ms=4,"
        f"write_retries=0,queue_depth=0,spool_depth=0 {now}"
    )
    writer.write(lines)
    writer.close()
    return stack


def _admin(stack: Stack) -> Any:
    return connect(stack.grafana_url, ADMIN)


def test_provisioned_datasource_is_healthy(filled: Stack):
    api = _admin(filled)
    datasource = api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    assert datasource["jsonData"]["dbName"] == BUCKET
    health = api.client.GET(f"/datasources/uid/{DATASOURCE_UID}/health")
    assert health["status"] == "OK", health


def test_every_dashboard_is_provisioned_and_the_home_is_the_comparison(filled: Stack):
    api = _admin(filled)
    for uid in build.DASHBOARDS:
        found = api.dashboard.get_dashboard(uid)
        assert found["dashboard"]["uid"] == uid
        assert found["meta"]["folderUid"] == FOLDER_UID
    home = httpx.get(f"{filled.grafana_url}/api/dashboards/home", timeout=10).json()  # anonymous Viewer
    assert home.get("dashboard", {}).get("uid") == cities.UID or cities.UID in home.get("redirectUri", ""), home


def test_a_panel_query_returns_one_frame_per_city(filled: Stack):
    api = _admin(filled)
    panel = next(t for t in walk.targets(cities.UID, walk.load(cities.UID)) if t.panel["title"] == "$quantity by city")
    raw = next(t for t in panel.panel["targets"] if t["refId"] == panel.ref_id)
    # Grafana's frontend fills in dashboard variables; the backend expands $timeFilter and $__interval.
    query = {**raw, "query": raw["query"].replace("$quantity", "pm25"), "intervalMs": 60_000, "maxDataPoints": 500}
    answer = api.client.POST("/ds/query", json={"queries": [query], "from": "now-1h", "to": "now"})
    frames = answer["results"][panel.ref_id]["frames"]
    names = {field.get("labels", {}).get("city") for frame in frames for field in frame["schema"]["fields"]}
    assert names - {None} == set(CITY_POINTS)
    assert all(any(v is not None for v in frame["data"]["values"][1]) for frame in frames)


def test_push_into_a_bare_grafana_is_idempotent(filled: Stack):
    target = InfluxTarget(filled.influx_internal_url, BUCKET, TOKEN)
    assert push(filled.bare_grafana_url, target, ADMIN) == list(build.DASHBOARDS)
    assert push(filled.bare_grafana_url, target, ADMIN) == list(build.DASHBOARDS)
    api = connect(filled.bare_grafana_url, ADMIN)
    assert api.client.GET(f"/datasources/uid/{DATASOURCE_UID}/health")["status"] == "OK"
    for uid in build.DASHBOARDS:
        assert api.dashboard.get_dashboard(uid)["meta"]["folderUid"] == FOLDER_UID
    assert [f["uid"] for f in api.folder.get_all_folders()].count(FOLDER_UID) == 1
