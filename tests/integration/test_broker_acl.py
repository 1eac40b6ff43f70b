"""A lab can publish only under its own topics: the generated ACL, enforced by a real Mosquitto."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker import mosquitto_acl, mosquitto_password_line
from hub.devstack import Mosquitto, free_port
from hub.labs import load_labs
from tests.support.mqtt import PublishError, publish_all

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
AARHUS_TOPIC = "v3/aarhus-city-lab@ttn/devices/lamp-1/up"
COPENHAGEN_TOPIC = "copenhagen-street-lab/ngsi-ld/AirQualityObserved"


@pytest.fixture
def secured_broker(tmp_path: Path):
    labs = load_labs(ROOT / "labs")
    acl = tmp_path / "acl"
    acl.write_text(mosquitto_acl(labs))
    passwords = tmp_path / "passwd"
    # The hub writes the password file itself (as compose.yaml's broker-config does);
    # one user comes from Debian's mosquitto_passwd, to show the two agree.
    users = ["citylab-hub", "aarhus-city-lab"]
    passwords.write_text("".join(mosquitto_password_line(user, f"secret-{user}") + "\n" for user in users))
    subprocess.run(
        ["mosquitto_passwd", "-b", str(passwords), "copenhagen-street-lab", "secret-copenhagen-street-lab"], check=True
    )
    broker = Mosquitto(free_port(), tmp_path / "broker")
    broker.start(password_file=passwords, acl_file=acl)
    yield broker
    broker.stop()


def test_a_lab_cannot_publish_on_another_labs_topics(secured_broker: Mosquitto) -> None:
    received: list[str] = []
    subscribed = threading.Event()
    hub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"hub-{uuid.uuid4().hex[:6]}")
    hub.username_pw_set("citylab-hub", "secret-citylab-hub")
    hub.on_message = lambda _c, _u, message: received.append(f"{message.topic}={message.payload.decode()}")
    hub.on_subscribe = lambda *_args: subscribed.set()
    hub.connect("127.0.0.1", secured_broker.port)
    hub.subscribe([(AARHUS_TOPIC, 1), (COPENHAGEN_TOPIC, 1)])
    hub.loop_start()
    try:
        assert subscribed.wait(10)
        publish_all(
            secured_broker.port,
            [(AARHUS_TOPIC, b"own"), (COPENHAGEN_TOPIC, b"forged")],
            username="aarhus-city-lab",
            password="secret-aarhus-city-lab",
        )
        publish_all(
            secured_broker.port,
            [(COPENHAGEN_TOPIC, b"own")],
            username="copenhagen-street-lab",
            password="secret-copenhagen-street-lab",
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(received) < 2:
            time.sleep(0.05)
        time.sleep(0.3)  # a forged message, if the broker let it through, would arrive by now
        assert sorted(received) == sorted([f"{AARHUS_TOPIC}=own", f"{COPENHAGEN_TOPIC}=own"])
    finally:
        hub.loop_stop()
        hub.disconnect()


def test_wrong_password_is_refused(secured_broker: Mosquitto) -> None:
    with pytest.raises(PublishError, match="refused"):
        publish_all(
            secured_broker.port, [(AARHUS_TOPIC, b"x")], username="aarhus-city-lab", password="guess", timeout_s=3
        )
