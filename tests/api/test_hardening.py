"""The API as a hostile client meets it: body limits and token order, secrets never shown, and SIGHUP reloads.

The real-process versions (a 189 MB upload against ``citylab api``, peak memory measured) are in
tests/faults/test_hostile_api.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hub.api import create_app
from hub.devstack import free_port
from hub.settings import redact_url
from tests.conftest import LABS_DIR
from tests.support.hub_process import HubProcess
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

ADMIN = "admin-Secret-31"
REPLAY = "/api/v1/deadletters/replay"


@pytest.fixture
def guarded(network):
    settings = network.settings.model_copy(update={"api_admin_token": SecretStr(ADMIN), "api_max_body_bytes": 4096})
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_body_over_the_limit_is_413_by_its_declared_length(guarded) -> None:
    response = guarded.post(REPLAY, content=b"{" + b" " * 5000 + b"}", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "4096 bytes" in response.json()["detail"]


def test_a_streamed_body_over_the_limit_is_413_once_it_passes_it(guarded) -> None:
    def chunks():
        for _ in range(10):
            yield b" " * 1000

    response = guarded.post(REPLAY, content=chunks(), headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 413


def test_the_token_is_checked_before_the_body(guarded) -> None:
    """A malformed body without the token is a 401, not a 400: the body was never read."""
    assert guarded.post(REPLAY, content=b"{not json").status_code == 401
    assert guarded.post(REPLAY, content=b"{not json", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 400


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "a JSON body is required"),
        (b"[]", "Input should be an object"),
        (b'{"limit": 0}', "limit: Input should be greater than or equal to 1"),
        (b'{"lab": "Not A Slug"}', "lab: String should match pattern"),
        (b'{"surprise": 1}', "surprise: Extra inputs are not permitted"),
    ],
)
def test_a_bad_replay_body_is_a_400_naming_the_field(guarded, body: bytes, detail: str) -> None:
    response = guarded.post(REPLAY, content=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_the_replay_body_is_still_documented(guarded) -> None:
    operation = guarded.get("/openapi.json").json()["paths"][REPLAY]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"lab", "reason", "since", "ids", "limit", "dry_run"} <= set(schema["properties"])
    assert "413" in operation["responses"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://writer:Secret-Pw-9@127.0.0.1:{port}", "http://writer:***@127.0.0.1:{port}"),
        ("http://Secret-Token-9@127.0.0.1:{port}", "http://***@127.0.0.1:{port}"),
        ("http://127.0.0.1:{port}/?u=writer&p=Secret-Pw-9", "http://127.0.0.1:{port}/?u=writer&p=***"),
    ],
)
def test_health_never_shows_credentials_in_the_influxdb_url(network, url: str, shown: str) -> None:
    for port in (network.settings.influx_url.rsplit(":", 1)[1], str(free_port())):  # answering, and refusing
        settings = network.settings.model_copy(update={"influx_url": url.format(port=port)})
        with TestClient(create_app(settings)) as client:
            text = client.get("/health").text
        assert "Secret-" not in text
        assert shown.format(port=port) in text


def test_redact_url_masks_every_kind_of_credential() -> None:
    assert redact_url("https://u:p%40ss@h.example:8443/x?db=a") == "https://u:***@h.example:8443/x?db=a"
    assert redact_url("https://tok@h.example") == "https://***@h.example"
    assert redact_url("http://h/?token=abc&db=x") == "http://h/?token=***&db=x"
    assert redact_url("http://h:8086") == "http://h:8086"
    assert redact_url("http://[::1]:notaport") == "(a URL that can't be parsed)"


def test_sighup_reloads_the_lab_configs_of_a_running_api(influx, database, tmp_path: Path) -> None:
    """An edit the change check can't see (same size, same mtime, same inode) applies on SIGHUP."""
    labs = tmp_path / "labs"
    shutil.copytree(LABS_DIR, labs)
    config = labs / "aarhus-city-lab.yaml"
    port = free_port()
    api = HubProcess(
        env={
            "CITYLAB_INFLUX_URL": influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": database,
            "CITYLAB_LABS": str(labs),
            "CITYLAB_DATA_DIR": str(tmp_path / "data"),
            "CITYLAB_API_PORT": str(port),
        },
        log_path=tmp_path / "api.log",
        command="api",
    )
    api.start(wait_connected=False)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/labs/aarhus-city-lab"
        wait_until(lambda: _status(url) == 200, 20, "the API up")
        assert httpx.get(url).json()["name"] == "Aarhus City Lab"
        stat = config.stat()
        text = config.read_text()
        assert "name: Aarhus City Lab\n" in text
        with config.open("r+") as handle:  # in place: same inode, same size
            handle.write(text.replace("name: Aarhus City Lab\n", "name: Aarhus City Lbb\n"))
        os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.utime(labs, ns=(labs.stat().st_atime_ns, labs.stat().st_mtime_ns))
        time.sleep(0.2)
        assert httpx.get(url).json()["name"] == "Aarhus City Lab"  # unseen by the fingerprint
        api.signal(signal.SIGHUP)
        wait_until(lambda: httpx.get(url).json()["name"] == "Aarhus City Lbb", 10, "reloaded on SIGHUP")
        assert api.process is not None and api.process.poll() is None  # SIGHUP no longer kills it
        assert "SIGHUP: reloading the lab configs" in api.log()
    finally:
        api.terminate()


def test_sighup_does_not_stop_citylab_serve(hub_factory) -> None:
    hub = hub_factory()
    hub.signal(signal.SIGHUP)
    hub.wait_for_log("SIGHUP: ingest keeps the lab configs it started with")
    assert hub.process is not None and hub.process.poll() is None
    assert hub.terminate() == 0


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return 0
