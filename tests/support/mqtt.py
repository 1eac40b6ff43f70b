"""Publishing test messages to the real broker at QoS 1, waiting for every PUBACK."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


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
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout_s)
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()
