"""GET /deadletters from the hub's store, and POST /deadletters/replay after fixing a lab mapping."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from tests.api.conftest import TRUNCATED, api_settings, wait_for_dead_letters
from tests.conftest import LABS_DIR
from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import AARHUS_TOPIC, ttn_uplink

pytestmark = pytest.mark.integration

ADMIN = "admin-token-for-tests"


def test_lists_the_hubs_dead_letters_with_filters(client):
    body = client.get("/api/v1/deadletters").json()
    letters = body["dead_letters"]
    assert sorted(letter["reason_code"] for letter in letters) == ["decode_error", "out_of_range"]
    out_of_range = client.get("/api/v1/deadletters", params={"reason": "out_of_range"}).json()["dead_letters"]
    (letter,) = out_of_range
    assert letter["lab"] == "aarhus-city-lab"
    assert letter["codec"] == "ttn-v3"
    assert letter["topic"] == AARHUS_TOPIC.format(device="harbour-2")
    assert "waterLevel 25 m is outside -20..20" in letter["reason"]
    assert '"level_cm": 2500' in letter["payload_preview"]
    assert letter["received_at"].endswith("Z")
    assert client.get("/api/v1/deadletters", params={"lab": "copenhagen-street-lab"}).json()["dead_letters"] == []
    assert client.get("/api/v1/deadletters", params={"since": "2100-01-01T00:00:00Z"}).json()["dead_letters"] == []
    page = client.get("/api/v1/deadletters", params={"limit": 1}).json()
    assert len(page["dead_letters"]) == 1
    assert client.get(page["next"]).json()["next"] is None


def test_replay_is_disabled_without_an_admin_token(client):
    response = client.post("/api/v1/deadletters/replay", json={})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "CITYLAB_API_ADMIN_TOKEN" in response.json()["detail"]


def test_replay_after_a_mapping_fix_writes_what_now_decodes(hub_factory, broker, influx, database, influxql, tmp_path):
    labs = tmp_path / "labs"
    shutil.copytree(LABS_DIR, labs)
    hub_factory(labs=labs)
    harbour = AARHUS_TOPIC.format(device="harbour-1")
    publish_all(
        broker.port,
        [
            # The probe's firmware sends millimetres, but the lab config says centimetres: 25 m and 30 m, refused.
            (harbour, ttn_uplink("h", {"level_cm": 2500}, "2026-03-01T10:00:00Z")),
            (harbour, ttn_uplink("h", {"level_cm": 3000, "temp_water": 7.5}, "2026-03-01T11:00:00Z")),
            (harbour, TRUNCATED),
        ],
    )
    data_dir = tmp_path / "data"
    wait_for_dead_letters(data_dir, 3)
    wait_for_rows(influxql, 'SELECT "value" FROM waterTemperature', 1)

    config = labs / "aarhus-city-lab.yaml"
    config.write_text(
        config.read_text().replace(
            "level_cm: {quantity: waterLevel, unit: cm}", "level_cm: {quantity: waterLevel, unit: mm}"
        )
    )
    settings = api_settings(broker, influx, database, data_dir, api_admin_token=ADMIN).model_copy(update={"labs": labs})
    auth = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(settings)) as api:
        assert (
            api.post("/api/v1/deadletters/replay", json={}, headers={"Authorization": "Bearer wrong"}).status_code
            == 401
        )

        dry = api.post("/api/v1/deadletters/replay", json={"dry_run": True}, headers=auth).json()
        assert dry == {
            "selected": 3,
            "decoded": 2,
            "still_failing": 1,
            "readings": 3,
            "readings_written": 0,  # a dry run writes nothing
            "new_dead_letters": 0,
            "dry_run": True,
            "still_failing_reasons": {"decode_error": 1},
        }
        assert len(api.get("/api/v1/deadletters").json()["dead_letters"]) == 3
        assert influxql.query('SELECT "value" FROM "waterLevel"') == []

        done = api.post("/api/v1/deadletters/replay", json={"lab": "aarhus-city-lab"}, headers=auth).json()
        assert done == {**dry, "readings_written": 3, "dry_run": False}
        remaining = api.get("/api/v1/deadletters").json()["dead_letters"]
        assert [letter["reason_code"] for letter in remaining] == ["decode_error"]

        rows = wait_for_rows(influxql, 'SELECT "value", "device" FROM "waterLevel"', 2)
        assert [(row["time"], row["value"], row["device"]) for row in rows] == [
            (1772359200000000000, 2.5, "harbour-1"),  # 10:00Z, 2500 mm
            (1772362800000000000, 3.0, "harbour-1"),  # 11:00Z, 3000 mm
        ]
        water = influxql.query('SELECT "value" FROM "waterTemperature"')[0].values
        assert [row[1] for row in water] == [7.5]  # rewritten, not doubled

        again = api.post("/api/v1/deadletters/replay", json={}, headers=auth).json()
        assert (again["selected"], again["decoded"], again["still_failing"]) == (1, 0, 1)


def test_replay_keeps_a_new_rejection_as_a_dead_letter(hub_factory, broker, influx, database, influxql, tmp_path):
    """A message that failed as a whole may, once decodable, have a reading out of range: that is kept."""
    labs = tmp_path / "labs"
    shutil.copytree(LABS_DIR, labs)
    hub_factory(labs=labs)
    publish_all(
        broker.port,
        [
            (
                AARHUS_TOPIC.format(device="harbour-3"),
                ttn_uplink("h", {"level_cm": 9000, "temp_water": 6.0}, "2026-03-01T12:00:00Z"),
            )
        ],
    )
    data_dir = tmp_path / "data"
    wait_for_dead_letters(data_dir, 1)
    # A wrong fix: now metres, so 9000 m is still out of range, with a different reason.
    config = labs / "aarhus-city-lab.yaml"
    config.write_text(
        config.read_text().replace(
            "level_cm: {quantity: waterLevel, unit: cm}", "level_cm: {quantity: waterLevel, unit: m}"
        )
    )
    settings = api_settings(broker, influx, database, data_dir, api_admin_token=ADMIN).model_copy(update={"labs": labs})
    with TestClient(create_app(settings)) as api:
        result = api.post(
            "/api/v1/deadletters/replay", json={"reason": "out_of_range"}, headers={"Authorization": f"Bearer {ADMIN}"}
        ).json()
        assert (result["selected"], result["decoded"], result["new_dead_letters"]) == (1, 1, 1)
        (letter,) = api.get("/api/v1/deadletters").json()["dead_letters"]
        assert "waterLevel 9000 m" in letter["reason"]
