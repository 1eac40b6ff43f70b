"""GET /devices (from InfluxDB), /labs (from the lab configs) and /quantities (the vocabulary)."""

from __future__ import annotations

import pytest

from hub.labs import load_labs
from tests.conftest import LABS_DIR

pytestmark = pytest.mark.integration


def test_devices_of_a_city_with_last_seen_location_and_quantities(client):
    body = client.get("/api/v1/devices", params={"city": "aarhus"}).json()
    assert body["total"] == 2
    assert body["next"] is None
    lamp1, lamp2 = body["devices"]
    assert (lamp1["device"], lamp1["lab"], lamp1["last_seen"]) == ("lamp-1", "aarhus-city-lab", "2026-03-01T06:00:00Z")
    assert lamp1["location"] == {"lat": 56.1572, "lon": 10.2107}
    assert lamp1["quantities"] == [
        {"quantity": "pm25", "last_seen": "2026-03-01T06:00:00Z", "last_value": 99.0, "unit": "ug/m3"},
        {"quantity": "temperature", "last_seen": "2026-03-01T00:10:00Z", "last_value": 5.0, "unit": "Cel"},
    ]
    assert (lamp2["device"], lamp2["last_seen"]) == ("lamp-2", "2026-03-01T04:59:59Z")
    # harbour-2 only sent a rejected reading: it never reached InfluxDB, so it is not listed.


def test_devices_of_a_lab_and_paging(client):
    body = client.get("/api/v1/devices", params={"lab": "copenhagen-street-lab"}).json()
    (hcab,) = body["devices"]
    assert hcab["location"] == {"lat": 55.6731, "lon": 12.565}
    assert [(q["quantity"], q["last_value"]) for q in hcab["quantities"]] == [("no2", 38.2), ("pm25", 5.0)]
    everything = client.get("/api/v1/devices", params={"limit": 2}).json()
    assert everything["total"] == 3
    assert [d["device"] for d in everything["devices"]] == ["lamp-1", "lamp-2"]
    rest = client.get(everything["next"]).json()
    assert [d["device"] for d in rest["devices"]] == ["hcab-1"]


def test_labs_come_from_the_configs_without_secrets(client):
    body = client.get("/api/v1/labs").json()
    configs = load_labs(LABS_DIR)
    assert [lab["lab"] for lab in body["labs"]] == sorted(configs)
    aarhus = client.get("/api/v1/labs/aarhus-city-lab").json()
    assert (aarhus["city"], aarhus["name"], aarhus["city_name"], aarhus["formats"]) == (
        "aarhus",
        "Aarhus City Lab",
        "Aarhus",
        ["ttn-v3"],
    )
    assert aarhus["sources"][0]["topic"] == "v3/aarhus-city-lab@ttn/devices/+/up"
    assert aarhus["sources"][0]["mapped_keys"]["level_cm"] == "waterLevel"
    assert "mqtt_username" not in aarhus and "options" not in aarhus["sources"][0]


def test_unknown_lab_is_a_404_problem(client):
    response = client.get("/api/v1/labs/no-such-lab")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "no lab 'no-such-lab'" in response.json()["detail"]


def test_quantities_with_units_and_who_references(client):
    quantities = {q["name"]: q for q in client.get("/api/v1/quantities").json()["quantities"]}
    assert quantities["temperature"]["unit"] == "Cel"
    assert quantities["temperature"]["references"] == []
    pm25 = quantities["pm25"]
    assert pm25["unit"] == "ug/m3"
    assert pm25["range"] == {"min": 0.0, "max": 2000.0, "unit": "ug/m3"}
    assert {"name": "WHO 2021 24 h guideline", "value": 15.0, "unit": "ug/m3", "period": "24h"} in pm25["references"]


def test_lab_configs_reload_on_change_and_a_broken_edit_keeps_the_last_good_ones(network, tmp_path):
    import os
    import shutil

    from fastapi.testclient import TestClient

    from hub.api import create_app

    labs = tmp_path / "labs"
    shutil.copytree(LABS_DIR, labs)
    config = labs / "aarhus-city-lab.yaml"

    def edit(text: str) -> None:
        config.write_text(text)
        stat = config.stat()  # a new mtime even on a coarse clock
        os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    with TestClient(create_app(network.settings.model_copy(update={"labs": labs}))) as api:
        assert api.get("/api/v1/labs/aarhus-city-lab").json()["name"] == "Aarhus City Lab"
        original = config.read_text()
        edit(original.replace("name: Aarhus City Lab", "name: Aarhus City Lab (renamed)"))
        assert api.get("/api/v1/labs/aarhus-city-lab").json()["name"] == "Aarhus City Lab (renamed)"

        edit("lab: [broken\n")
        assert api.get("/api/v1/labs/aarhus-city-lab").json()["name"] == "Aarhus City Lab (renamed)"
        health = api.get("/health").json()
        assert health["checks"]["labs"]["ok"] is True
        assert "can't be loaded, so these stay in use" in health["checks"]["labs"]["detail"]

    shutil.rmtree(labs)
    with TestClient(create_app(network.settings.model_copy(update={"labs": labs}))) as api:
        response = api.get("/api/v1/labs")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("lab configuration can't be loaded")
        assert api.get("/ready").status_code == 503
