"""Bearer tokens: reads need the read token once it is set; replay always needs the admin token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hub.api import create_app

pytestmark = pytest.mark.integration

READ, ADMIN = "read-secret", "admin-secret"
READ_PATHS = [
    "/api/v1/labs",
    "/api/v1/labs/aarhus-city-lab",
    "/api/v1/quantities",
    "/api/v1/devices",
    "/api/v1/readings?quantity=pm25",
    "/api/v1/compare?quantity=pm25&cities=aarhus",
    "/api/v1/deadletters",
    "/metrics",
]


@pytest.fixture(scope="module")
def guarded(network):
    tokens = {"api_read_token": SecretStr(READ), "api_admin_token": SecretStr(ADMIN)}
    settings = network.settings.model_copy(update=tokens)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer ", f"Basic {READ}", f"Bearer {READ}x"])
def test_missing_or_bad_token_is_401_without_detail(guarded, path, header):
    response = guarded.get(path, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"type": "about:blank", "title": "Unauthorized", "status": 401}


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("token", [READ, ADMIN])
def test_read_or_admin_token_reads(guarded, path, token):
    assert guarded.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_health_probes_stay_open(guarded):
    assert guarded.get("/health").status_code == 200
    assert guarded.get("/ready").status_code == 200


def test_replay_needs_the_admin_token_not_the_read_token(guarded):
    for header in ({}, {"Authorization": f"Bearer {READ}"}, {"Authorization": "Bearer nope"}):
        response = guarded.post("/api/v1/deadletters/replay", json={"dry_run": True}, headers=header)
        assert response.status_code == 401
        assert "detail" not in response.json()
    ok = guarded.post(
        "/api/v1/deadletters/replay", json={"dry_run": True}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert ok.status_code == 200
    assert ok.json()["dry_run"] is True


def test_reads_are_public_without_a_read_token(client):
    assert client.get("/api/v1/labs").status_code == 200
    assert client.get("/api/v1/labs", headers={"Authorization": "Bearer anything"}).status_code == 200
