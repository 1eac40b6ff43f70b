"""Publishing test messages to the real broker at QoS 1, waiting for every PUBACK."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class PublishError(RuntimeError):
    pass


def publish_all(
    port: int,
    messages: Iterable[tuple[str, bytes]],
    *,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 30.0,
) -> int:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"test-pub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    if username:
        client.username_pw_set(username, password)
    connected = threading.Event()
    refusal: list[str] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            refusal.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise PublishError("no CONNACK from the broker")
        if refusal:
            raise PublishError(f"broker refused the connection: {refusal[0]}")
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout_s)
            if not info.is_published():
                raise PublishError(f"message {info.mid} was not acknowledged within {timeout_s}s")
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()
