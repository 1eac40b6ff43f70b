"""Settings: CITYLAB_* from the environment, secrets from files, the broker URL, and secrets kept out of sight."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.settings import MqttTarget, Settings, redact_url


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CITYLAB_"):
            monkeypatch.delenv(name)


def test_values_come_from_citylab_prefixed_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITYLAB_MQTT_URL", "mqtt://127.0.0.1:1999")
    monkeypatch.setenv("CITYLAB_MQTT_CLIENT_ID", "worker-3")
    monkeypatch.setenv("CITYLAB_INFLUX_API", "v1")
    monkeypatch.setenv("CITYLAB_BATCH_SIZE", "10")
    monkeypatch.setenv("CITYLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INFLUX_URL", "http://not-ours:8086")  # no prefix: not ours
    settings = Settings()
    assert settings.mqtt().port == 1999
    assert (settings.mqtt_client_id, settings.influx_api, settings.batch_size) == ("worker-3", "v1", 10)
    assert settings.influx_url == "http://127.0.0.1:8086"
    assert settings.dead_letter_path == tmp_path / "deadletters.sqlite3"
    assert settings.spool_path == tmp_path / "spool.sqlite3"


def test_bad_values_are_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYLAB_INFLUX_API", "v3")
    with pytest.raises(ValidationError, match="influx_api"):
        Settings()
    monkeypatch.setenv("CITYLAB_INFLUX_API", "v2")
    monkeypatch.setenv("CITYLAB_API_PORT", "70000")
    with pytest.raises(ValidationError, match="api_port"):
        Settings()


def test_secrets_can_come_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token, password = tmp_path / "token", tmp_path / "password"
    token.write_text("s3cret-token\n")
    password.write_text("  pass word \n")
    monkeypatch.setenv("CITYLAB_INFLUX_TOKEN_FILE", str(token))
    monkeypatch.setenv("CITYLAB_INFLUX_PASSWORD_FILE", str(password))
    settings = Settings()
    assert settings.influx_token is not None and settings.influx_token.get_secret_value() == "s3cret-token"
    assert settings.influx_password is not None and settings.influx_password.get_secret_value() == "pass word"

    monkeypatch.setenv("CITYLAB_INFLUX_TOKEN", "from-env")  # a value set directly wins over its file
    explicit = Settings()
    assert explicit.influx_token is not None and explicit.influx_token.get_secret_value() == "from-env"


def test_a_missing_secret_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITYLAB_INFLUX_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError):
        Settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker.example", ("broker.example", 1883, False, None, None)),
        ("mqtts://broker.example", ("broker.example", 8883, True, None, None)),
        ("tcp://10.0.0.5:1884", ("10.0.0.5", 1884, False, None, None)),
        ("ssl://10.0.0.5", ("10.0.0.5", 8883, True, None, None)),
        ("mqtt://hub:p%40ss%3Aword@broker.example:1999", ("broker.example", 1999, False, "hub", "p@ss:word")),
        ("mqtt://", ("127.0.0.1", 1883, False, None, None)),
    ],
)
def test_broker_urls(url: str, expected: tuple[object, ...]) -> None:
    target = MqttTarget.parse(url)
    assert (target.host, target.port, target.tls, target.username, target.password) == expected


def test_a_broker_url_of_another_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with mqtt:// or mqtts://"):
        Settings(mqtt_url="http://broker.example").mqtt()  # type: ignore[arg-type]


def test_the_broker_target_carries_the_tls_files(tmp_path: Path) -> None:
    settings = Settings(
        mqtt_url="mqtts://broker.example",  # type: ignore[arg-type]
        mqtt_ca_file=tmp_path / "ca.pem",
        mqtt_cert_file=tmp_path / "client.pem",
        mqtt_key_file=tmp_path / "client.key",
    )
    target = settings.mqtt()
    assert (target.ca_file, target.cert_file, target.key_file) == (
        tmp_path / "ca.pem",
        tmp_path / "client.pem",
        tmp_path / "client.key",
    )


def test_secrets_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYLAB_MQTT_URL", "mqtts://hub:mqtt-Secret-1@broker.example:8883")
    monkeypatch.setenv("CITYLAB_INFLUX_TOKEN", "influx-Secret-2")
    monkeypatch.setenv("CITYLAB_INFLUX_PASSWORD", "influx-Secret-3")
    monkeypatch.setenv("CITYLAB_API_ADMIN_TOKEN", "admin-Secret-4")
    settings = Settings()
    target = settings.mqtt()
    shown = [repr(settings), str(settings), repr(target), str(target), target.redacted()]
    for secret in ("mqtt-Secret-1", "influx-Secret-2", "influx-Secret-3", "admin-Secret-4"):
        assert not any(secret in text for text in shown), secret
    assert target.redacted() == "mqtts://hub:***@broker.example:8883"
    assert MqttTarget.parse("mqtt://broker.example").redacted() == "mqtt://broker.example:1883"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8086", "http://127.0.0.1:8086"),
        ("https://writer:Secret-5@influx.example/prefix", "https://writer:***@influx.example/prefix"),
        ("http://writer:Secret-5@[::1]:8086", "http://writer:***@[::1]:8086"),
    ],
)
def test_urls_in_logs_lose_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
