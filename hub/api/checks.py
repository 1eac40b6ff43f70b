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
    from hub.api.state import WorkerGroup
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


def check_workers(settings: Settings, workers: WorkerGroup) -> dict[str, Check]:
    """Under ``citylab serve --workers N``: ``mqtt`` is ok when every worker is connected, and each worker has its
    own check (``worker-<i>``): running, renewing its status file, connected; restarts and how it last ended."""
    from hub.ingest.workers import STALE_AFTER_S, read_status

    where = settings.mqtt().redacted()
    checks: dict[str, Check] = {}
    for state in workers.states():
        worker = state.identity
        history = f"; restarted {state.restarts}x, last {state.last_exit}" if state.restarts else ""
        status = read_status(worker.data_dir)
        if state.pid is None:
            waiting = f" in {state.restart_in_s:.1f}s" if state.restart_in_s is not None else ""
            detail = f"MQTT client {worker.client_id}: not running ({state.last_exit}), restarting{waiting}{history}"
            checks[worker.name] = Check(ok=False, detail=detail)
        elif status is None or status.pid != state.pid:
            checks[worker.name] = Check(ok=False, detail=f"MQTT client {worker.client_id}: starting (pid {state.pid})")
        elif status.age_s() >= STALE_AFTER_S:
            detail = f"MQTT client {worker.client_id} (pid {state.pid}): no status for {status.age_s():.0f}s{history}"
            checks[worker.name] = Check(ok=False, detail=detail)
        else:
            connected = "connected" if status.connected else "not connected"
            checks[worker.name] = Check(
                ok=status.connected,
                detail=f"MQTT client {worker.client_id} (pid {state.pid}) {connected} to {where}{history}",
            )
    up = sum(check.ok for check in checks.values())
    summary = Check(ok=up == len(checks), detail=f"{up} of {len(checks)} workers connected to {where}")
    return {"mqtt": summary, **checks}


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
