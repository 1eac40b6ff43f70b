"""The NGSI-LD test network's readings, published as open data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from hub.devstack import InfluxDB1
from hub.opendata.settings import OpenDataSettings
from hub.settings import Settings
from tests.ngsi.conftest import READINGS, ngsi_settings, write_readings

SHAPES = Path(__file__).parent / "testdata" / "dcat-ap-3.0.1"
# The readings are on 2026-03-01; a year's window keeps that day published.
OPEN_DATA = OpenDataSettings(days=366, public_url="https://hub.example.org")


@pytest.fixture(scope="package")
def open_data_settings(influx: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    database = f"open_{uuid.uuid4().hex[:12]}"
    influx.create_database(database)
    write_readings(influx, database, READINGS)
    return ngsi_settings(influx, database, tmp_path_factory.mktemp("open-data"))


@pytest.fixture(scope="package")
def client(open_data_settings: Settings) -> Iterator[TestClient]:
    app = create_app(open_data_settings)
    app.state.open_data_settings = OPEN_DATA
    with TestClient(app) as test_client:
        yield test_client
