"""Shared fixtures: a real Mosquitto and a real InfluxDB, started once per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from hub.devstack import InfluxDB1, Mosquitto, local_stack
from hub.store.influxql import InfluxQLClient
from tests.support.hub_process import HubProcess

ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = ROOT / "labs"

# Property tests (Hypothesis, and Schemathesis on top of it) run under one of two profiles:
# - "ci" (the default, scripts/test and CI): derandomized, so every run on any clone generates the
#   same examples and a failure reproduces; no example database, so nothing carries over between runs.
# - "explore" (scripts/test --explore): random, and EXPLORE_FACTOR times the examples, to find new
#   failures. Each failure it finds becomes a pinned example (a plain test, or @example) before it is fixed.
HYPOTHESIS_PROFILE_ENV = "CITYLAB_HYPOTHESIS_PROFILE"
EXPLORE_FACTOR = 10
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "explore", derandomize=False, max_examples=100 * EXPLORE_FACTOR, deadline=None, print_blob=True
)
HYPOTHESIS_PROFILE = os.environ.get(HYPOTHESIS_PROFILE_ENV, "ci")
settings.load_profile(HYPOTHESIS_PROFILE)


def example_budget(ci_examples: int) -> int:
    """For a test that sets its own max_examples: as given under "ci", EXPLORE_FACTOR times that when exploring."""
    return ci_examples * EXPLORE_FACTOR if HYPOTHESIS_PROFILE == "explore" else ci_examples


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mosquitto, InfluxDB1]]:
    with local_stack(tmp_path_factory.mktemp("stack")) as services:
        yield services


@pytest.fixture(scope="session")
def broker(stack: tuple[Mosquitto, InfluxDB1]) -> Mosquitto:
    return stack[0]


@pytest.fixture(scope="session")
def influx(stack: tuple[Mosquitto, InfluxDB1]) -> InfluxDB1:
    return stack[1]


@pytest.fixture
def database(influx: InfluxDB1) -> Iterator[str]:
    """A database of its own for each test, so tests never see each other's points."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    influx.create_database(name)
    yield name


@pytest.fixture
def influxql(influx: InfluxDB1, database: str) -> Iterator[InfluxQLClient]:
    client = InfluxQLClient(influx.url, database)
    yield client
    client.close()


HubFactory = Callable[..., HubProcess]


@pytest.fixture
def hub_factory(broker: Mosquitto, influx: InfluxDB1, database: str, tmp_path: Path) -> Iterator[HubFactory]:
    """Start ``citylab serve`` against the real broker and database; stopped with SIGTERM after the test."""
    started: list[HubProcess] = []
    client_id = f"citylab-test-{uuid.uuid4().hex[:8]}"

    def start(
        *,
        labs: Path = LABS_DIR,
        influx_url: str | None = None,
        api: str = "v1",
        extra_env: dict[str, str] | None = None,
        wait_connected: bool = True,
    ) -> HubProcess:
        env = {
            "CITYLAB_MQTT_URL": broker.url,
            "CITYLAB_MQTT_CLIENT_ID": client_id,
            "CITYLAB_INFLUX_URL": influx_url or influx.url,
            "CITYLAB_INFLUX_API": api,
            "CITYLAB_INFLUX_BUCKET": database,
            "CITYLAB_LABS": str(labs),
            "CITYLAB_DATA_DIR": str(tmp_path / "data"),
            "CITYLAB_STATS_INTERVAL_S": "1",
            "CITYLAB_BATCH_LINGER_MS": "20",
            **(extra_env or {}),
        }
        hub = HubProcess(env=env, log_path=tmp_path / f"hub-{len(started)}.log")
        started.append(hub)
        return hub.start(wait_connected=wait_connected)

    yield start
    for hub in started:
        hub.terminate()
