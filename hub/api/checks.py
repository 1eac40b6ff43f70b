"""Readiness checks: can the hub reach its broker and its database?"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from hub.api.models import Check
from hub.api.state import influx_database
from hub.ingest.mqtt import make_client
from hub.settings import Settings, redact_url
from hub.store.influxql import InfluxQLClient, InfluxQLError

if TYPE_CHECKING:
    from hub.ingest.service import IngestService

PROBE_TIMEOUT_S = 3.0


def check_influx(client: InfluxQLClient, settings: Settings) -> Check:
    where = redact_url(settings.influx_url)  # a URL may carry credentials: never shown
    try:
        client.query("SHOW MEASUREMENTS LIMIT 1")
    except InfluxQLError as exc:
        return Check(ok=False, detail=f"InfluxDB at {where}: {_without_secrets(str(exc), settings)}")
    return Check(ok=True, detail=f"database {influx_database(settings)} answers at {where}")


def _without_secrets(text: str, settings: Settings) -> str:
    for secret in settings.secret_values():
        text = text.replace(secret, "***")
    return text


def check_mqtt(settings: Settings, ingest: IngestService | None) -> Check:
    target = settings.mqtt()
    where = target.redacted()
    if ingest is not None:
        # Co-hosted with the ingest service: its own connection is what matters.
        if ingest.connected:
            return Check(ok=True, detail=f"ingest service connected to {where}")
        return Check(ok=False, detail=f"ingest service not connected to {where}")
    return _probe(settings, where)


def _probe(settings: Settings, where: str) -> Check:
    """Connect with a throwaway clean session and wait for the CONNACK."""
    target = settings.mqtt()
    answered = threading.Event()
    outcome: list[str] = []

    def on_connect(
        _client: mqtt.Client, _userdata: object, _flags: mqtt.ConnectFlags, reason: ReasonCode, _props: object
    ) -> None:
        outcome.append("" if not reason.is_failure else str(reason))
        answered.set()

    # MQTT 3.1.1 and a clean session whatever the ingest service uses: the probe leaves nothing behind.
    client = make_client(target, client_id=f"citylab-api-probe-{uuid.uuid4().hex[:8]}")
    client.on_connect = on_connect
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    try:
        client.connect(target.host, target.port, keepalive=10)
        while not answered.is_set() and time.monotonic() < deadline:
            client.loop(timeout=0.1)
    except (OSError, ValueError) as exc:
        return Check(ok=False, detail=f"MQTT broker {where}: {type(exc).__name__}: {exc}")
    finally:
        # Sends DISCONNECT and closes the socket; a probe must not leak connections.
        with contextlib.suppress(OSError, ValueError):
            client.disconnect()
            client.loop(timeout=0.05)
    if not answered.is_set():
        return Check(ok=False, detail=f"MQTT broker {where}: no CONNACK within {PROBE_TIMEOUT_S:.0f}s")
    if outcome[0]:
        return Check(ok=False, detail=f"MQTT broker {where} refused the connection: {outcome[0]}")
    return Check(ok=True, detail=f"connected to {where}")
