"""Burst benchmark: the hub and a naive MQTT→InfluxDB bridge, side by side, on one burst.

Both subscribe to the same Mosquitto and write to the same InfluxDB (separate
databases), so machine noise hits both alike; the report is a ratio. The naive bridge
is what peer systems' users complain about: auto-ack on receipt, one HTTP write per
message, and arrival time at one-second resolution.

    .venv/bin/python -m benchmarks.burst --messages 20000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.devstack import local_stack
from hub.store.influxql import InfluxQLClient

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "v3/aarhus-city-lab@ttn/devices/{device}/up"


def uplink(index: int, start_ns: int) -> bytes:
    # 1 ms apart: a burst of readings from a few devices within a few seconds.
    stamp = start_ns + index * 1_000_000
    seconds, frac = divmod(stamp, 1_000_000_000)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"
    return json.dumps(
        {
            "end_device_ids": {"device_id": f"dev-{index % 4}"},
            "uplink_message": {
                "decoded_payload": {"temperature": 10 + (index % 100) / 10, "humidity": 40 + index % 30},
                "rx_metadata": [{"time": iso}],
            },
        }
    ).encode()


class NaiveBridge:
    """Auto-acks on receipt, writes each message on its own, stamps arrival time in whole seconds."""

    def __init__(self, broker_port: int, influx_url: str, database: str) -> None:
        self.received = 0
        self._http = httpx.Client(base_url=influx_url, params={"db": database, "precision": "s"})
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"naive-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv311,
        )
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", broker_port)
        self._client.subscribe("v3/+/devices/+/up", qos=1)
        self._client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        body = json.loads(message.payload)
        device = body["end_device_ids"]["device_id"]
        fields = ",".join(f"{k}={float(v)}" for k, v in body["uplink_message"]["decoded_payload"].items())
        self._http.post("/write", content=f"uplink,device={device} {fields} {int(time.time())}")

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def publish_burst(port: int, payloads: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 as fast as the broker acknowledges; returns the seconds it took."""
    publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    publisher.max_inflight_messages_set(200)
    publisher.max_queued_messages_set(0)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    began = time.monotonic()
    infos = [publisher.publish(topic, payload, qos=1) for topic, payload in payloads]
    for info in infos:
        info.wait_for_publish(120)
    seconds = time.monotonic() - began
    publisher.loop_stop()
    publisher.disconnect()
    return seconds


def count(client: InfluxQLClient, query: str) -> int:
    series = client.query(query)
    return int(series[0].values[0][1]) if series and series[0].values else 0


def wait_until_stable(client: InfluxQLClient, query: str, expected: int, timeout_s: float) -> tuple[int, float]:
    started = time.monotonic()
    last, last_change = -1, started
    while time.monotonic() - started < timeout_s:
        now = count(client, query)
        if now != last:
            last, last_change = now, time.monotonic()
        if now >= expected or time.monotonic() - last_change > 5:
            break
        time.sleep(0.2)
    return last, last_change - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, local_stack(Path(tmp)) as (broker, influx):
        labs = Path(tmp) / "labs"
        labs.mkdir()
        (labs / "aarhus-city-lab.yaml").write_text((ROOT / "labs" / "aarhus-city-lab.yaml").read_text())
        influx.create_database("hub")
        influx.create_database("naive")
        env = {
            **os.environ,
            "CITYLAB_MQTT_URL": broker.url,
            "CITYLAB_INFLUX_URL": influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": "hub",
            "CITYLAB_LABS": str(labs),
            "CITYLAB_DATA_DIR": str(Path(tmp) / "hub"),
            "CITYLAB_MQTT_CLIENT_ID": "bench-hub",
            "CITYLAB_LOG_LEVEL": "WARNING",
        }
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve"], env=env)
        naive = NaiveBridge(broker.port, influx.url, "naive")
        time.sleep(3)  # both subscribed
        start_ns = time.time_ns() - 3_600_000_000_000
        payloads = [(TOPIC.format(device=f"dev-{i % 4}"), uplink(i, start_ns)) for i in range(args.messages)]
        began = time.monotonic()
        published_s = publish_burst(broker.port, payloads)
        expected_points = 2 * args.messages
        hub_client = InfluxQLClient(influx.url, "hub")
        naive_client = InfluxQLClient(influx.url, "naive")
        hub_stored, hub_s = wait_until_stable(hub_client, 'SELECT count("value") FROM temperature', args.messages, 300)
        hub_s += published_s
        deadline = time.monotonic() + 300
        while naive.received < args.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        naive_s = time.monotonic() - began
        naive_handled = naive.received
        naive_stored = count(naive_client, 'SELECT count("temperature") FROM uplink')
        naive.stop()

        # Backlog: the hub is down while a second burst arrives; its persistent session keeps
        # the messages at the broker, and on restart the hub drains them as fast as it can.
        hub.terminate()
        hub.wait(30)
        backlog = [(TOPIC.format(device=f"dev-{i % 4}"), uplink(i, start_ns + 10**12)) for i in range(args.messages)]
        publish_burst(broker.port, backlog)
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve"], env=env)
        drained, drain_s = wait_until_stable(
            hub_client, 'SELECT count("value") FROM temperature', 2 * args.messages, 300
        )
        hub.terminate()
        hub.wait(30)

    hub_rate, naive_rate = hub_stored / hub_s, naive_handled / naive_s
    print(f"burst of {args.messages} messages ({expected_points} readings), published in {published_s:.1f}s")
    print(
        f"hub:   stored {hub_stored}/{args.messages} temperature points; all stored after {hub_s:.1f}s "
        f"({hub_rate:.0f} msg/s)"
    )
    print(
        f"naive: handled {naive_handled} messages in {naive_s:.1f}s ({naive_rate:.0f} msg/s), "
        f"but only {naive_stored} distinct temperature points survive (arrival time in whole seconds)"
    )
    backlog_stored = drained - hub_stored
    print(
        f"backlog: {backlog_stored}/{args.messages} messages queued while the hub was down were stored "
        f"{drain_s:.1f}s after it restarted ({backlog_stored / max(drain_s, 1e-9):.0f} msg/s, start-up included)"
    )
    print(
        f"ratios hub/naive: points kept {hub_stored / max(naive_stored, 1):.1f}x, "
        f"throughput {hub_rate / max(naive_rate, 1e-9):.2f}x"
    )
    return 0 if hub_stored == args.messages and drained == 2 * args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
