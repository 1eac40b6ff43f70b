"""mqtts:// with a CA file against a real Mosquitto TLS listener, and secrets that never reach the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.influx import wait_for_rows
from tests.support.mqtt import publish_all
from tests.support.payloads import COPENHAGEN_TOPIC, ngsi_notification
from tests.support.tls import running_tls_broker

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_broker(tmp_path: Path):
    with running_tls_broker(tmp_path) as running:
        yield running


def test_hub_subscribes_over_mqtts_with_the_configured_ca(hub_factory, tls_broker, influxql) -> None:
    broker, tls = tls_broker
    hub_factory(
        extra_env={
            "CITYLAB_MQTT_URL": f"mqtts://127.0.0.1:{tls.port}",
            "CITYLAB_MQTT_CA_FILE": str(tls.ca_file),
        }
    )
    publish_all(broker.port, [(COPENHAGEN_TOPIC, ngsi_notification("tls-box", "2026-03-01T10:00:00Z", 5, 2.5))])
    rows = wait_for_rows(influxql, 'SELECT "value", device FROM pm25', 1)
    assert (rows[0]["device"], rows[0]["value"]) == ("tls-box", 2.5)


def test_mqtts_without_the_ca_is_refused(hub_factory, tls_broker) -> None:
    _broker, tls = tls_broker
    hub = hub_factory(wait_connected=False, extra_env={"CITYLAB_MQTT_URL": f"mqtts://127.0.0.1:{tls.port}"})
    hub.wait_for_log("CERTIFICATE_VERIFY_FAILED")


def test_secrets_never_reach_the_log(hub_factory, broker, influxql) -> None:
    mqtt_password = "mqtt-Secret-4711"
    influx_password = "influx-Secret-0815"
    hub = hub_factory(
        extra_env={
            # Debian's broker and InfluxDB run without auth here, so they accept any credentials.
            "CITYLAB_MQTT_URL": f"mqtt://hub-user:{mqtt_password}@127.0.0.1:{broker.port}",
            "CITYLAB_INFLUX_USERNAME": "hub-writer",
            "CITYLAB_INFLUX_PASSWORD": influx_password,
            "CITYLAB_LOG_LEVEL": "DEBUG",
        }
    )
    publish_all(broker.port, [(COPENHAGEN_TOPIC, ngsi_notification("secret-box", "2026-03-01T10:00:00Z", 5, 3))])
    wait_for_rows(influxql, 'SELECT "value" FROM pm25', 1)
    hub.terminate()
    log = hub.log()
    assert "mqtt://hub-user:***@127.0.0.1" in log
    assert mqtt_password not in log
    assert influx_password not in log
