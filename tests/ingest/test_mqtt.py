"""The MQTT part against a real Mosquitto: the client factory's options, and the consumer's session.

What the consumer promises ingest: a persistent session (messages wait for it while it is away),
nothing acknowledged until ``ack``, and an identity (client id, topic filters) given by its caller,
so that several can share ``$share/<group>/<filter>`` side by side.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from pydantic import ValidationError

from hub.api.checks import check_mqtt
from hub.api.models import Check
from hub.devstack import Mosquitto, free_port
from hub.ingest.envelope import InboundMessage
from hub.ingest.mqtt import SESSION_EXPIRY_S, MqttConsumer, ReadAheadClient, make_client, paho_internals_missing
from hub.settings import MqttProtocol, MqttTarget, Settings
from tests.support.mqtt import publish_all
from tests.support.tls import running_tls_broker
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


class Inbox:
    """Collects what a consumer hands on; acks only when the test says so."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self._lock = threading.Lock()

    def __call__(self, message: InboundMessage) -> None:
        with self._lock:
            self.messages.append(message)

    @property
    def payloads(self) -> list[bytes]:
        with self._lock:
            return [message.payload for message in self.messages]


@contextmanager
def consuming(
    broker: Mosquitto,
    client_id: str,
    filters: list[str],
    *,
    protocol: MqttProtocol = "3.1.1",
    session_expiry_s: int = SESSION_EXPIRY_S,
) -> Iterator[tuple[MqttConsumer, Inbox]]:
    inbox = Inbox()
    consumer = MqttConsumer(
        MqttTarget.parse(broker.url),
        client_id=client_id,
        topic_filters=filters,
        on_message=inbox,
        protocol=protocol,
        session_expiry_s=session_expiry_s,
    )
    consumer.start()
    try:
        assert consumer.wait_connected(10), "no CONNACK and SUBACK"
        yield consumer, inbox
    finally:
        consumer.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_nothing_is_acknowledged_until_ack_and_the_session_outlives_the_client(
    broker: Mosquitto, protocol: MqttProtocol
) -> None:
    client_id, topic = unique("consumer"), unique("t")
    with consuming(broker, client_id, [f"{topic}/#"], protocol=protocol) as (consumer, inbox):
        publish_all(broker.port, [(f"{topic}/a", b"1"), (f"{topic}/b", b"2")])
        wait_until(lambda: len(inbox.messages) == 2, 10, "two messages")
        first = next(message for message in inbox.messages if message.payload == b"1")
        assert (first.topic, first.qos) == (f"{topic}/a", 1)
        assert first.received_ns > 0
        consumer.ack(first.mid, first.qos)  # only the first

    # Published while no client is connected: the persistent session keeps it.
    publish_all(broker.port, [(f"{topic}/c", b"3")])
    with consuming(broker, client_id, [f"{topic}/#"], protocol=protocol) as (consumer, inbox):
        wait_until(lambda: len(inbox.messages) == 2, 10, "the unacked and the queued message")
        assert sorted(inbox.payloads) == [b"2", b"3"]  # "1" was acked, so it is not redelivered
        for message in inbox.messages:
            consumer.ack(message.mid, message.qos)

    with consuming(broker, client_id, [f"{topic}/#"], protocol=protocol) as (_consumer, inbox):
        publish_all(broker.port, [(f"{topic}/d", b"4")])
        wait_until(lambda: inbox.payloads == [b"4"], 10, "only the new message")


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_ack_many_acknowledges_exactly_the_messages_it_is_given(broker: Mosquitto, protocol: MqttProtocol) -> None:
    client_id, topic = unique("batch-ack"), unique("t")
    with consuming(broker, client_id, [f"{topic}/+"], protocol=protocol) as (consumer, inbox):
        publish_all(broker.port, [(f"{topic}/{n}", str(n).encode()) for n in range(50)])
        wait_until(lambda: len(inbox.messages) == 50, 10, "50 messages")
        acked = [message for message in inbox.messages if int(message.payload) % 5]  # leave every fifth
        consumer.ack_many([(message.mid, message.qos) for message in acked])
    with consuming(broker, client_id, [f"{topic}/+"], protocol=protocol) as (consumer, inbox):
        wait_until(lambda: len(inbox.messages) == 10, 10, "the ten unacked messages, redelivered")
        assert sorted(int(p) for p in inbox.payloads) == list(range(0, 50, 5))
        consumer.ack_many([(message.mid, message.qos) for message in inbox.messages])
    with consuming(broker, client_id, [f"{topic}/+"], protocol=protocol) as (_consumer, inbox):
        publish_all(broker.port, [(f"{topic}/new", b"new")])
        wait_until(lambda: inbox.payloads == [b"new"], 10, "only the new message")


def test_the_consumer_stops_reading_while_it_holds_too_many_unacked_messages(broker: Mosquitto) -> None:
    """Mosquitto sends a session's whole queue once acks come back (max_inflight_messages bounds only the
    first burst), so the consumer bounds what it holds itself: past max_outstanding it leaves the socket
    unread until acks bring it back under, or half a keepalive has passed (so that pings are answered)."""
    client_id, topic = unique("bounded"), unique("t")
    inbox = Inbox()

    def consumer() -> MqttConsumer:
        return MqttConsumer(
            MqttTarget.parse(broker.url),
            client_id=client_id,
            topic_filters=[f"{topic}/+"],
            on_message=inbox,
            max_outstanding=20,
            keepalive_s=60,
        )

    first = consumer()
    first.start()
    assert first.wait_connected(10)
    first.close()
    payload = b"x" * 2000  # 32 messages fill a read-ahead chunk (64 KB)
    publish_all(broker.port, [(f"{topic}/{n}", payload) for n in range(300)])
    bounded = consumer()
    bounded.start()
    try:
        # (Its SUBACK may come after the queued messages, so it may not count as connected yet.)
        wait_until(lambda: len(inbox.messages) >= 20, 10, "the first messages")
        time.sleep(0.5)
        held = len(inbox.messages)
        assert held < 20 + 40, held  # the bound, and at most what one read brought in past it
        assert bounded.outstanding == held
        time.sleep(0.5)
        assert len(inbox.messages) == held  # nothing more is read while nothing is acked
        acked = 0
        while acked < 300:
            wait_until(lambda acked=acked: len(inbox.messages) > acked, 10, f"more than {acked} messages")
            batch = inbox.messages[acked:]
            bounded.ack_many([(message.mid, message.qos) for message in batch])
            acked += len(batch)
        assert acked == 300 and bounded.outstanding == 0
    finally:
        bounded.close()


def test_messages_after_stop_accepting_are_left_for_the_next_session(broker: Mosquitto) -> None:
    client_id, topic = unique("closing"), unique("t")
    arrived: list[bytes] = []
    with consuming(broker, client_id, [f"{topic}/+"]) as (consumer, inbox):
        handler = consumer.client.on_message
        assert handler is not None

        def record(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            arrived.append(bytes(message.payload))
            handler(client, userdata, message)

        consumer.client.on_message = record
        consumer.stop_accepting()
        publish_all(broker.port, [(f"{topic}/late", b"late")])
        wait_until(lambda: arrived == [b"late"], 10, "delivery to the closing consumer")
    assert inbox.messages == []  # not handed on, so never acked
    with consuming(broker, client_id, [f"{topic}/+"]) as (consumer, inbox):
        wait_until(lambda: inbox.payloads == [b"late"], 10, "redelivery")
        consumer.ack(inbox.messages[0].mid, 1)


def test_workers_share_a_subscription_each_with_its_own_client_id(broker: Mosquitto) -> None:
    """Two consumers on $share/<group>/<filter>: every message reaches exactly one of them."""
    topic = unique("shared")
    shared = [f"$share/{unique('group')}/{topic}/+"]
    with (
        consuming(broker, unique("worker-1"), shared) as (one, first),
        consuming(broker, unique("worker-2"), shared) as (two, second),
    ):
        publish_all(broker.port, [(f"{topic}/{n}", str(n).encode()) for n in range(20)])
        wait_until(lambda: len(first.messages) + len(second.messages) == 20, 10, "all 20 messages")
        assert sorted(int(p) for p in first.payloads + second.payloads) == list(range(20))
        assert first.messages and second.messages  # shared, not duplicated: both got some
        assert all(message.topic.startswith(f"{topic}/") for message in first.messages)  # the real topic
        for consumer, inbox in ((one, first), (two, second)):
            for message in inbox.messages:
                consumer.ack(message.mid, message.qos)


def test_a_broker_that_is_not_there_yet_is_reported_with_its_cause_then_reached(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    consumer = MqttConsumer(
        MqttTarget.parse(f"mqtt://127.0.0.1:{port}"),
        client_id=unique("early"),
        topic_filters=["early/+"],
        on_message=Inbox(),
        reconnect_delay_s=(1, 1),
    )
    late = Mosquitto(port, tmp_path / "late-broker")
    with caplog.at_level(logging.INFO, logger="hub.ingest.mqtt"):
        consumer.start()
        try:
            assert "Connection refused; retrying" in caplog.text
            assert not consumer.connected
            late.start()
            assert consumer.wait_connected(15)
            assert "subscribed to 1 filters at QoS 1" in caplog.text
        finally:
            consumer.close()
            late.stop()


def test_client_options_differ_only_where_asked() -> None:
    target = MqttTarget.parse("mqtt://hub-user:s%40cret@127.0.0.1:1883")
    consumer = make_client(target, client_id="c", persistent_session=True, manual_ack=True, max_inflight=1000)
    probe = make_client(target, client_id="p")
    assert (consumer.username, consumer.password) == ("hub-user", "s@cret")
    assert consumer.max_inflight_messages == 1000
    assert probe.max_inflight_messages == 20
    assert consumer.protocol == probe.protocol == mqtt.MQTTv311
    assert make_client(target, client_id="v5", protocol="5").protocol == mqtt.MQTTv5


def test_the_health_probe_verifies_mqtts_against_the_configured_ca(tmp_path: Path) -> None:
    with running_tls_broker(tmp_path) as (_broker, tls):
        url = f"mqtts://127.0.0.1:{tls.port}"
        trusted = Settings(mqtt_url=url, mqtt_ca_file=tls.ca_file)  # type: ignore[arg-type]
        assert (trusted.mqtt().tls, trusted.mqtt().ca_file) == (True, tls.ca_file)
        assert check_mqtt(trusted, None) == Check(ok=True, detail=f"connected to mqtts://127.0.0.1:{tls.port}")

        untrusted = check_mqtt(Settings(mqtt_url=url), None)  # type: ignore[arg-type]
        assert not untrusted.ok
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.detail


def test_this_paho_has_every_private_part_the_read_ahead_client_relies_on() -> None:
    """ReadAheadClient and ack_many use private parts of paho-mqtt 2.x; a paho release that drops one makes
    the hub fall back to paho's plain client (slower). This test says so at the upgrade, not in production."""
    assert paho_internals_missing() == ()
    client = make_client(MqttTarget.parse("mqtt://127.0.0.1:1883"), client_id="probe", read_ahead=True)
    assert isinstance(client, ReadAheadClient)


def test_a_short_mqtt5_session_expiry_ends_the_session_and_what_it_would_have_queued(broker: Mosquitto) -> None:
    """CITYLAB_MQTT_SESSION_EXPIRY_S (MQTT 5): with a short expiry the broker forgets the session soon after the
    hub disconnects, so what is published later is not queued for it (the setting for a broker that moves a
    dead shared-subscription member's share on when its session ends); with the default, it is queued."""
    topic = unique("t")
    short, long = unique("short-session"), unique("long-session")
    for client_id, expiry in ((short, 1), (long, SESSION_EXPIRY_S)):
        with consuming(broker, client_id, [f"{topic}/+"], protocol="5", session_expiry_s=expiry):
            pass
    time.sleep(3)  # past the short expiry (Mosquitto checks expiries about once a second)
    publish_all(broker.port, [(f"{topic}/while-away", b"away")])
    with consuming(broker, long, [f"{topic}/+"], protocol="5") as (_consumer, inbox):
        wait_until(lambda: inbox.payloads == [b"away"], 10, "the message queued for the long session")
    with consuming(broker, short, [f"{topic}/+"], protocol="5", session_expiry_s=1) as (_consumer, inbox):
        publish_all(broker.port, [(f"{topic}/after", b"after")])
        wait_until(lambda: inbox.payloads == [b"after"], 10, "only what came after the new session began")


def test_the_session_expiry_setting_is_bounded_by_mqtt5(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().mqtt_session_expiry_s == SESSION_EXPIRY_S
    monkeypatch.setenv("CITYLAB_MQTT_SESSION_EXPIRY_S", "300")
    assert Settings().mqtt_session_expiry_s == 300
    for bad in ("0", str(0xFFFFFFFF + 1)):
        monkeypatch.setenv("CITYLAB_MQTT_SESSION_EXPIRY_S", bad)
        with pytest.raises(ValidationError, match="mqtt_session_expiry_s"):
            Settings()
