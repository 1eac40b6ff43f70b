"""Configuration from the environment (prefix ``CITYLAB_``); secrets may come from ``*_FILE`` paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MqttProtocol = Literal["3.1.1", "5"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLAB_", extra="ignore")

    mqtt_url: SecretStr = SecretStr("mqtt://127.0.0.1:1883")
    mqtt_client_id: str = "citylab-hub"
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    # MQTT 3.1.1 is about twice as fast as v5 with paho (see docs/architecture.md).
    mqtt_protocol: MqttProtocol = "3.1.1"

    influx_url: str = "http://127.0.0.1:8086"
    influx_api: Literal["v1", "v2"] = "v2"
    influx_bucket: str = "citylab"
    influx_org: str | None = None
    influx_token: SecretStr | None = None
    influx_token_file: Path | None = None
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_password_file: Path | None = None

    labs: Path = Path("labs")
    data_dir: Path = Path("var")

    batch_size: int = 5000
    batch_linger_ms: int = 100
    max_payload_bytes: int = 256 * 1024
    stats_interval_s: float = 5.0
    retry_max_backoff_s: float = 30.0
    # After this long failing, batches go to the disk spool (and are acked); 0 disables the spool.
    spool_after_s: float = 10.0

    # HTTP API (docs/api.md). `citylab serve` also hosts it when api_port is set.
    api_host: str = "127.0.0.1"
    api_port: int | None = Field(default=None, ge=1, le=65535)
    # Unset: read endpoints are public. The admin token guards replay; unset disables it.
    api_read_token: SecretStr | None = None
    api_admin_token: SecretStr | None = None
    # Limits that keep one request from exhausting the API or InfluxDB.
    api_max_range_days: int = Field(default=366, ge=1)
    api_max_page: int = Field(default=10_000, ge=1)
    api_max_csv_rows: int = Field(default=1_000_000, ge=1)
    api_max_buckets: int = Field(default=10_000, ge=1)
    api_max_cities: int = Field(default=20, ge=1)
    api_max_replay: int = Field(default=1_000, ge=1)
    api_influx_timeout_s: float = Field(default=30.0, gt=0)

    # The public page (docs/web.md). Its maps draw a basemap the hub ships; a raster tile URL
    # ({z}/{x}/{y}) is for online use only, since the browser then loads tiles from that host.
    web_tile_url: str | None = Field(default=None, pattern=r"^https?://[^\s\"'<>]*\{z\}[^\s\"'<>]*$")
    web_tile_attribution: str = "© OpenStreetMap contributors"

    @model_validator(mode="after")
    def _read_secret_files(self) -> Settings:
        if self.influx_token is None and self.influx_token_file is not None:
            self.influx_token = SecretStr(self.influx_token_file.read_text(encoding="utf-8").strip())
        if self.influx_password is None and self.influx_password_file is not None:
            self.influx_password = SecretStr(self.influx_password_file.read_text(encoding="utf-8").strip())
        return self

    @property
    def dead_letter_path(self) -> Path:
        return self.data_dir / "deadletters.sqlite3"

    @property
    def spool_path(self) -> Path:
        return self.data_dir / "spool.sqlite3"

    def mqtt(self) -> MqttTarget:
        """The broker ``CITYLAB_MQTT_URL`` names, with the TLS files of ``CITYLAB_MQTT_*_FILE``."""
        return MqttTarget.parse(
            self.mqtt_url.get_secret_value(),
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
        )


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where a broker is and how to log in: what every MQTT client of the hub needs (hub/ingest/mqtt.py)."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = field(default=None, repr=False)
    # mqtts only: None for the CA means the system's trust store; cert and key for client authentication.
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def parse(
        cls,
        url: str,
        *,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
    ) -> MqttTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError("CITYLAB_MQTT_URL must start with mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )

    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
