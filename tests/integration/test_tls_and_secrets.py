"""mqtts:// with a CA file against a real Mosquitto TLS listener, and secrets that never reach the log."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from hub.redaction import install_secret_scrubber
from hub.settings import Settings
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


def test_secrets_never_reach_the_log(hub_factory, broker, influx, influxql) -> None:
    mqtt_password = "mqtt-Secret-4711"
    influx_password = "influx-Secret-0815"
    url_password = "url-Secret-2342"
    hub = hub_factory(
        influx_url=influx.url.replace("http://", f"http://hub-writer:{url_password}@"),
        extra_env={
            # Debian's broker and InfluxDB run without auth here, so they accept any credentials.
            "CITYLAB_MQTT_URL": f"mqtt://hub-user:{mqtt_password}@127.0.0.1:{broker.port}",
            "CITYLAB_INFLUX_USERNAME": "hub-writer",
            "CITYLAB_INFLUX_PASSWORD": influx_password,
            "CITYLAB_LOG_LEVEL": "DEBUG",
        },
    )
    publish_all(broker.port, [(COPENHAGEN_TOPIC, ngsi_notification("secret-box", "2026-03-01T10:00:00Z", 5, 3))])
    wait_for_rows(influxql, 'SELECT "value" FROM pm25', 1)
    hub.terminate()
    log = hub.log()
    assert "mqtt://hub-user:***@127.0.0.1" in log
    assert "InfluxDB http://hub-writer:***@127.0.0.1" in log
    for secret in (mqtt_password, influx_password, url_password):
        assert secret not in log


def test_a_secret_that_slips_into_a_log_record_is_masked() -> None:
    """The net under the masking: whatever a library or an exception puts in a record, the secret is replaced."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.scrubbed")
    logger.addHandler(handler)
    logger.propagate = False
    settings = Settings(
        mqtt_url="mqtt://u:mqtt-Secret-1@b:1883",  # type: ignore[arg-type]
        influx_token="influx-Secret-2",  # type: ignore[arg-type]
        influx_url="http://w:url-Secret-3@h:8086",
        api_admin_token="admin-Secret-4",  # type: ignore[arg-type]
    )
    install_secret_scrubber(settings.secret_values(), logger)
    try:
        logger.warning("connecting with %s to %s", "influx-Secret-2", "http://w:url-Secret-3@h:8086")
        try:
            raise RuntimeError("server said: bad token admin-Secret-4 for mqtt-Secret-1")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "connecting with *** to http://w:***@h:8086" in text
    assert "bad token *** for ***" in text
    assert "Secret" not in text
