"""A small network of readings with known values, written to a real InfluxDB, read through the NGSI-LD API.

The readings go in as the hub writes them (hub/store/line_protocol.py); the API reads them back
through the app factory, so these tests see what a FIWARE client of the hub would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core.model import Reading
from core.timeutil import parse_iso_ns
from hub.api import create_app
from hub.devstack import InfluxDB1
from hub.settings import Settings
from hub.store.line_protocol import reading_to_line
from hub.vocabulary import load_vocabulary
from tests.conftest import LABS_DIR

TESTDATA = Path(__file__).parent / "testdata"
START = "2026-03-01T00:00:00Z"
END = "2026-03-02T00:00:00Z"
ODD_DEVICE = "lamp 2/ø#?%"  # every character a URN must encode


def reading(city: str, lab: str, device: str, quantity: str, value: float, when: str, lat=None, lon=None) -> Reading:
    unit = load_vocabulary().quantities[quantity].unit
    return Reading(city, lab, device, quantity, value, unit, parse_iso_ns(when, None), lat, lon)


def _series(city, lab, device, quantity, values, lat=None, lon=None, hour0=0):
    return [
        reading(city, lab, device, quantity, value, f"2026-03-01T{hour0 + i:02d}:00:00Z", lat, lon)
        for i, value in enumerate(values)
    ]


AARHUS = ("aarhus", "aarhus-city-lab")
CPH = ("copenhagen", "copenhagen-street-lab")
OSLO = ("oslo", "oslo-urban-lab")
BERGEN = ("bergen", "bergen-city-lab")

READINGS: list[Reading] = [
    # Aarhus lamp-1: PM2.5 hourly 00..05, temperature and humidity (an AirQualityObserved and a WeatherObserved).
    *_series(*AARHUS, "lamp-1", "pm25", [10.0, 20.0, 30.0, 4.0, 8.0, 16.0], 56.1572, 10.2107),
    *_series(*AARHUS, "lamp-1", "temperature", [1.5, 2.5, 3.5], 56.1572, 10.2107),
    *_series(*AARHUS, "lamp-1", "relativeHumidity", [81.0, 82.5, 90.0], 56.1572, 10.2107),
    # A device without a position of its own (the lab's is used) and with an id a URN must encode.
    *_series(*AARHUS, ODD_DEVICE, "pm25", [12.0, 14.0]),
    *_series(*AARHUS, ODD_DEVICE, "no2", [40.0, 50.0]),
    # Copenhagen: air, noise, traffic and a waste bin.
    *_series(*CPH, "hcab-1", "no2", [70.0, 65.0, 60.0], 55.6761, 12.5683),
    *_series(*CPH, "hcab-1", "pm10", [22.0, 24.0, 26.0], 55.6761, 12.5683),
    *_series(*CPH, "hcab-1", "o3", [50.0], 55.6761, 12.5683),
    *_series(*CPH, "hcab-1", "co", [0.4], 55.6761, 12.5683),
    *_series(*CPH, "noise-1", "LAeq", [55.0, 67.8], 55.6800, 12.5700),
    *_series(*CPH, "traffic-1", "intensity", [420.0, 610.0], 55.6790, 12.5650),
    *_series(*CPH, "bin-1", "fillingLevel", [35.0, 72.5], 55.6750, 12.5800),
    # Oslo: a weather station and an air box with every other pollutant.
    *_series(*OSLO, "met-1", "windSpeed", [3.2, 4.1], 59.9139, 10.7522),
    *_series(*OSLO, "met-1", "windDirection", [270.0, 290.0], 59.9139, 10.7522),
    *_series(*OSLO, "met-1", "atmosphericPressure", [1012.5, 1011.0], 59.9139, 10.7522),
    *_series(*OSLO, "met-1", "precipitation", [0.0, 1.2], 59.9139, 10.7522),
    *_series(*OSLO, "met-1", "illuminance", [0.0, 1500.0], 59.9139, 10.7522),
    *_series(*OSLO, "air-1", "pm1", [3.0], 59.9200, 10.7600),
    *_series(*OSLO, "air-1", "pm4", [6.0], 59.9200, 10.7600),
    *_series(*OSLO, "air-1", "so2", [2.0], 59.9200, 10.7600),
    *_series(*OSLO, "air-1", "no", [11.0], 59.9200, 10.7600),
    *_series(*OSLO, "air-1", "co2", [415.0], 59.9200, 10.7600),
    # Bergen: a harbour probe; water level and parking occupancy are not exposed over NGSI-LD.
    *_series(*BERGEN, "harbour-1", "waterTemperature", [6.5, 6.75], 60.3971, 5.3245),
    *_series(*BERGEN, "harbour-1", "waterLevel", [-0.4, 0.3], 60.3971, 5.3245),
    *_series(*BERGEN, "park-1", "occupancy", [55.0], 60.3900, 5.3300),
]


def write_readings(influx: InfluxDB1, database: str, readings: list[Reading]) -> None:
    body = "\n".join(reading_to_line(r) for r in readings)
    response = httpx.post(f"{influx.url}/write", params={"db": database, "precision": "ns"}, content=body, timeout=30)
    assert response.status_code == 204, response.text


@dataclass
class NgsiNetwork:
    database: str
    settings: Settings


def ngsi_settings(influx: InfluxDB1, database: str, data_dir: Path, **extra: object) -> Settings:
    return Settings(
        influx_url=influx.url,
        influx_api="v1",
        influx_bucket=database,
        labs=LABS_DIR,
        data_dir=data_dir,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="package")
def ngsi_network(influx: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> NgsiNetwork:
    database = f"ngsi_{uuid.uuid4().hex[:12]}"
    influx.create_database(database)
    write_readings(influx, database, READINGS)
    return NgsiNetwork(database, ngsi_settings(influx, database, tmp_path_factory.mktemp("ngsi-data")))


@pytest.fixture(scope="package")
def client(ngsi_network: NgsiNetwork) -> Iterator[TestClient]:
    with TestClient(create_app(ngsi_network.settings)) as test_client:
        yield test_client
