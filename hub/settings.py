"""Configuration from the environment (prefix ``CITYLAB_``); secrets may come from ``*_FILE`` paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MqttProtocol = Literal["3.1.1", "5"]
# A shared-subscription group name is one topic level without wildcards (MQTT 5.0, 4.8.2).
SHARE_GROUP_PATTERN = r"^[^/+#\s]{1,64}$"
# How long an MQTT 5 broker keeps the hub's session after a disconnect, unless CITYLAB_MQTT_SESSION_EXPIRY_S says.
DEFAULT_MQTT_SESSION_EXPIRY_S = 7 * 24 * 3600


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLAB_", extra="ignore")

    mqtt_url: SecretStr = SecretStr("mqtt://127.0.0.1:1883")
    mqtt_client_id: str = "citylab-hub"
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    # MQTT 3.1.1 is about twice as fast as v5 with paho (see docs/architecture.md).
    mqtt_protocol: MqttProtocol = "3.1.1"
    # Longest wait between reconnects to the broker: after a broker restart that lost its sessions, messages
    # published before the hub resubscribes are dropped by the broker, so the hub must come back promptly.
    mqtt_reconnect_max_s: int = Field(default=2, ge=1, le=60)
    # Set: subscribe as a member of this shared-subscription group ($share/<group>/<filter>), so that the
    # group's members (`citylab serve --workers N`, or replicas on other machines, each with its own client
    # id and data directory) split the messages between them. `--workers` defaults it to the client id.
    mqtt_share_group: str | None = Field(default=None, pattern=SHARE_GROUP_PATTERN)
    # MQTT 5 only: how long the broker keeps the hub's session (its subscriptions and queued messages) after a
    # disconnect. Long by default, so that an outage of the hub loses nothing. With a broker that hands a dead
    # shared-subscription member's messages to the others when its session ends (EMQX), a short expiry moves
    # them on sooner (docs/scaling.md). 4294967295 (0xFFFFFFFF): never expires. MQTT 3.1.1 sessions never do.
    mqtt_session_expiry_s: int = Field(default=DEFAULT_MQTT_SESSION_EXPIRY_S, ge=1, le=0xFFFFFFFF)

    influx_url: str = "http://127.0.0.1:8086"
    influx_api: Literal["v1", "v2"] = "v2"
    influx_bucket: str = "citylab"
    influx_org: str | None = None
    influx_token: SecretStr | None = None
    influx_token_file: Path | None = None
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_password_file: Path | None = None
    # A write InfluxDB has not answered within this long is an outage (a hang): retried, then spooled.
    influx_write_timeout_s: float = Field(default=5.0, gt=0)
    # When the database is missing (404 "database not found", e.g. InfluxDB came back with an empty data
    # directory), create it (v1 API) instead of holding the writes until an operator does.
    influx_create_database: bool = False

    labs: Path = Path("labs")
    data_dir: Path = Path("var")

    batch_size: int = 5000
    batch_linger_ms: int = 100
    max_payload_bytes: int = 256 * 1024
    stats_interval_s: float = 5.0
    retry_max_backoff_s: float = 30.0
    # After this long failing, batches go to the disk spool (and are acked); 0 disables the spool.
    spool_after_s: float = 10.0
    # Unmapped and guessed keys not seen for this long leave the unmapped-key store (hub/unmapped).
    unmapped_retention_days: float = Field(default=30.0, gt=0)

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
    # Largest request body the API reads (replay's); a larger one is refused before it is read.
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

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

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds, for scrubbing them from log lines (hub/logsafety.py)."""
        secrets = [
            secret.get_secret_value()
            for secret in (self.influx_token, self.influx_password, self.api_read_token, self.api_admin_token)
            if secret is not None
        ]
        try:
            mqtt_password = self.mqtt().password
        except ValueError:  # a broker URL of another scheme: refused where it is used
            mqtt_password = None
        if mqtt_password:
            secrets.extend((mqtt_password, quote(mqtt_password, safe="")))
        influx_password = urlsplit(self.influx_url).password
        if influx_password:
            secrets.extend((influx_password, unquote(influx_password)))
        return [secret for secret in secrets if secret]

    @property
    def dead_letter_path(self) -> Path:
        return self.data_dir / "deadletters.sqlite3"  # hub.deadletters.store.FILE_NAME

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


# Query parameters that carry credentials (InfluxDB 1.x takes ``u``/``p``; others take tokens).
_SECRET_PARAMS = frozenset(
    {"p", "password", "token", "access_token", "auth", "authorization", "secret", "key", "api_key"}
)


def redact_url(url: str) -> str:
    """``url`` fit for a log line or a response: a password, or a user name standing alone (a token), becomes
    ``***``, and so does every query parameter that carries a credential."""
    try:
        parts = urlsplit(url)
        username, password, port = parts.username, parts.password, parts.port
    except ValueError:
        return "(a URL that can't be parsed)"
    netloc = parts.netloc
    if username is not None or password is not None:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        user = f"{username}:***" if password is not None else "***"
        netloc = f"{user}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name.lower() in _SECRET_PARAMS for name, _ in pairs):
            masked = [(name, "***" if name.lower() in _SECRET_PARAMS else value) for name, value in pairs]
            query = urlencode(masked, safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))
