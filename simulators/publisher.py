"""Publishing simulated messages to MQTT at QoS 1: bounded in-flight, every PUBACK awaited.

The bound matters: a generator of a week of history must not be turned into one
in-memory queue, and a broker should never have to drop what we send.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from core.timeutil import NS_PER_S
from hub.ingest.mqtt import make_client
from hub.settings import MqttTarget
from simulators.message import SimMessage


class PublishError(RuntimeError):
    """The broker could not be reached, or refused us."""


@dataclass(slots=True)
class PublishReport:
    """What a run sent: messages handed to the broker, PUBACKs back, errors, time taken."""

    sent: int = 0
    acked: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    by_lab: Counter[str] = field(default_factory=Counter)
    error_messages: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def unacked(self) -> int:
        return self.sent - self.acked

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "acked": self.acked,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "rate_per_s": round(self.rate, 1),
            "by_lab": dict(sorted(self.by_lab.items())),
            "error_messages": self.error_messages[:10],
        }


class Publisher:
    """One MQTT connection that publishes at QoS 1 with at most ``max_inflight`` unacknowledged messages."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        max_inflight: int = 200,
        connect_timeout_s: float = 10.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.target = MqttTarget.parse(url)
        self.stop = stop  # set to give up waiting for a broker that stopped acknowledging
        self.max_inflight = max_inflight
        self.connect_timeout_s = connect_timeout_s
        self.report = PublishReport()
        self._slots = threading.BoundedSemaphore(max_inflight)
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._written_off = 0  # unacknowledged messages already counted as errors
        self._refused: str | None = None
        self._started = time.monotonic()
        # A clean session: a publisher has nothing for the broker to keep. mqtts uses the system's CAs.
        self.client = make_client(
            self.target,
            client_id=client_id or f"citylab-sim-{uuid.uuid4().hex[:8]}",
            max_inflight=max_inflight,
            reconnect_delay_s=(1, 10),
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish

    # --- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def connect(self) -> None:
        try:
            self.client.connect(self.target.host, self.target.port, keepalive=30)
        except OSError as exc:
            raise PublishError(f"can't reach MQTT broker {self.target.redacted()}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(self.connect_timeout_s):
            self.client.loop_stop()
            reason = self._refused or "no CONNACK"
            raise PublishError(f"MQTT broker {self.target.redacted()} did not accept the connection: {reason}")
        self._started = time.monotonic()

    def close(self, timeout_s: float = 30.0) -> None:
        self.flush(timeout_s)
        self.client.disconnect()
        self.client.loop_stop()
        self.report.elapsed_s = time.monotonic() - self._started

    # --- publishing --------------------------------------------------------------------

    def publish(self, message: SimMessage) -> None:
        """Hand one message to the broker; blocks while ``max_inflight`` messages await their PUBACK."""
        while not self._slots.acquire(timeout=1.0):
            # The broker is slow or gone; paho resends in-flight messages itself after a reconnect.
            if self.stop is not None and self.stop.is_set():
                self._error(f"{message.topic}: not sent, stopped while the broker was not acknowledging")
                return
        try:
            # Not under our lock: paho calls on_publish holding its own, which would deadlock.
            info = self.client.publish(message.topic, message.payload, qos=1)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                raise ValueError(mqtt.error_string(info.rc))
        except (ValueError, RuntimeError) as exc:
            self._slots.release()
            self._error(f"{message.topic}: {exc}")
            return
        with self._lock:
            self.report.sent += 1
            self.report.by_lab[message.lab] += 1

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every published message is acknowledged; count the rest as errors."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.report.acked >= self.report.sent:
                    return True
            time.sleep(0.01)
        missing = self.report.sent - self.report.acked - self._written_off
        if missing > 0:
            self._written_off += missing
            self._error(f"{missing} messages were not acknowledged within {timeout_s:.0f}s")
            self.report.errors += missing - 1
        return False

    def _error(self, text: str) -> None:
        self.report.errors += 1
        if len(self.report.error_messages) < 100:
            self.report.error_messages.append(text)

    # --- paho callbacks (network thread) -------------------------------------------------

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            return
        self._connected.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, reason: ReasonCode, _properties: Properties | None
    ) -> None:
        # Every QoS 1 publish gets exactly one PUBACK, so counting them suffices.
        with self._lock:
            self.report.acked += 1
        self._slots.release()


Progress = Callable[[PublishReport], None]


def publish(
    messages: Iterable[SimMessage],
    url: str,
    *,
    pace: bool = False,
    rate: float | None = None,
    max_inflight: int = 200,
    client_id: str | None = None,
    on_progress: Progress | None = None,
    progress_every_s: float = 0.5,
    stop: threading.Event | None = None,
) -> PublishReport:
    """Publish ``messages`` at QoS 1 and wait for every PUBACK.

    ``pace``: send each message at its ``send_at_ns`` (live mode). ``rate``: at most this
    many messages per second (load mode). Neither: as fast as the broker acknowledges.
    ``stop`` ends the run early (Ctrl-C in live mode).
    """
    with Publisher(url, client_id=client_id, max_inflight=max_inflight, stop=stop) as publisher:
        started = time.monotonic()
        last_progress = started
        for index, message in enumerate(messages):
            if stop is not None and stop.is_set():
                break
            if pace:
                _sleep_until_wall(message.send_at_ns, stop)
            elif rate:
                _sleep_until_monotonic(started + index / rate, stop)
            if stop is not None and stop.is_set():
                break
            publisher.publish(message)
            now = time.monotonic()
            if on_progress is not None and now - last_progress >= progress_every_s:
                publisher.report.elapsed_s = now - started
                on_progress(publisher.report)
                last_progress = now
        publisher.flush()
        publisher.report.elapsed_s = time.monotonic() - started
    if on_progress is not None:
        on_progress(publisher.report)
    return publisher.report


def _sleep_until_wall(target_ns: int, stop: threading.Event | None) -> None:
    delay = (target_ns - time.time_ns()) / NS_PER_S
    if delay > 0:
        if stop is not None:
            stop.wait(delay)
        else:
            time.sleep(delay)


def _sleep_until_monotonic(target: float, stop: threading.Event | None) -> None:
    delay = target - time.monotonic()
    if delay > 0:
        if stop is not None:
            stop.wait(delay)
        else:
            time.sleep(delay)
