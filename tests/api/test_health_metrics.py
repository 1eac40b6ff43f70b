"""/health, /ready and /metrics: the API alone, and hosted by `citylab serve` beside ingest."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hub.api import create_app
from hub.devstack import free_port

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_health_and_ready_when_everything_answers(client, network):
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["checks"]["mqtt"]["ok"] is True
    assert health["checks"]["influxdb"] == {
        "ok": True,
        "detail": f"database {network.database} answers at {network.settings.influx_url}",
    }
    assert client.get("/ready").status_code == 200


def test_ready_is_503_when_broker_and_database_are_gone(network, tmp_path):
    closed = free_port()
    settings = network.settings.model_copy(update={"influx_url": f"http://127.0.0.1:{closed}"})
    settings = settings.model_copy(update={"mqtt_url": type(settings.mqtt_url)(f"mqtt://127.0.0.1:{closed}")})
    with TestClient(create_app(settings)) as api:
        ready = api.get("/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["checks"]["mqtt"]["ok"] is False
        assert "Connection refused" in body["checks"]["mqtt"]["detail"]
        assert body["checks"]["influxdb"]["ok"] is False
        health = api.get("/health")
        assert (health.status_code, health.json()["status"]) == (200, "degraded")
        readings = api.get("/api/v1/readings", params={"quantity": "pm25"})
        assert readings.status_code == 503
        assert readings.headers["content-type"] == "application/problem+json"
        assert readings.json()["detail"].startswith("InfluxDB query failed")


def test_standalone_api_exports_stored_dead_letters(client):
    found = samples(client.get("/metrics").text)
    assert found[("citylab_dead_letters_stored", (("lab", "aarhus-city-lab"), ("reason", "decode_error")))] == 1
    assert found[("citylab_dead_letters_stored", (("lab", "aarhus-city-lab"), ("reason", "out_of_range")))] == 1
    assert not any(name == "citylab_messages_total" for name, _ in found)  # no ingest in this process


def test_serve_hosts_the_api_and_its_metrics_see_ingest(network):
    response = httpx.get(f"{network.api_url}/metrics", timeout=10)
    assert response.status_code == 200
    found = samples(response.text)
    aarhus, copenhagen = (("lab", "aarhus-city-lab"),), (("lab", "copenhagen-street-lab"),)
    # Aarhus: 7 PM2.5 uplinks (one with temperature too), one out-of-range harbour uplink, one truncated.
    assert found[("citylab_messages_total", aarhus)] == 9
    assert found[("citylab_readings_total", aarhus)] == 8
    assert found[("citylab_messages_total", copenhagen)] == 2
    assert found[("citylab_readings_total", copenhagen)] == 4
    assert found[("citylab_dead_letters_total", (("lab", "aarhus-city-lab"), ("reason", "decode_error")))] == 1
    assert found[("citylab_dead_letters_total", (("lab", "aarhus-city-lab"), ("reason", "out_of_range")))] == 1
    assert found[("citylab_spool_depth", ())] == 0
    assert found[("citylab_mqtt_connected", ())] == 1
    assert found[("citylab_write_failing", ())] == 0
    assert found[("citylab_write_held", ())] == 0
    batches = found[("citylab_write_latency_seconds_count", ())]
    assert batches >= 1
    assert found[("citylab_batch_lines_count", ())] == batches
    assert found[("citylab_batch_lines_sum", ())] >= 12  # every reading was in some batch
    ready = httpx.get(f"{network.api_url}/ready", timeout=10).json()
    assert ready["checks"]["mqtt"]["detail"].startswith("ingest service connected")


def test_serve_refuses_to_start_when_the_api_port_is_taken(hub_factory, network):
    port = network.api_url.rsplit(":", 1)[1]
    with pytest.raises(AssertionError, match="could not start"):
        hub_factory(extra_env={"CITYLAB_API_PORT": port})


def test_citylab_api_command_serves_and_stops_on_sigterm(network, influx, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    port = free_port()
    env = {
        **os.environ,
        "CITYLAB_MQTT_URL": network.settings.mqtt().redacted(),
        "CITYLAB_INFLUX_URL": influx.url,
        "CITYLAB_INFLUX_API": "v1",
        "CITYLAB_INFLUX_BUCKET": network.database,
        "CITYLAB_LABS": str(network.settings.labs),
        "CITYLAB_DATA_DIR": str(network.data_dir),
    }
    log = tmp_path / "api.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/readings",
                    params={
                        "quantity": "pm25",
                        "city": "copenhagen",
                        "from": "2026-03-01T00:00:00Z",
                        "to": "2026-03-02T00:00:00Z",
                    },
                    timeout=5,
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert [r["value"] for r in response.json()["readings"]] == [40.0, 5.0]
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught, as supervisors expect.
        assert process.wait(15) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log.read_text()
