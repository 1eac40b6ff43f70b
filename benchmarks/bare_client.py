"""The ceiling: the hub's MQTT client doing the minimum with each message.

A paho-mqtt 2.x subscriber made by the hub's own factory (``make_client``: MQTT 3.1.1, a
persistent session, manual acks, the ingest consumer's in-flight window) that parses each
payload with orjson, counts it and acks it at once. Whatever the hub does beyond this
(routing, decoding, normalising, batching, writing to InfluxDB, acking after the write) is
what separates the hub's rate from this one.

Run by ``python -m benchmarks`` as a child process, so that its CPU and memory are its own::

    python -m benchmarks.bare_client --url mqtt://127.0.0.1:1883 --client-id bench-bare \
        --topic 'v3/+/devices/+/up' --expect 100000

It prints ``progress <count> <monotonic>`` lines while it drains, then one ``done {json}``
line when it has seen ``--expect`` messages, and then waits for its stdin to close (so the
benchmark can read its CPU time and peak RSS from /proc) before it disconnects.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import orjson
import paho.mqtt.client as mqtt

from hub.ingest.mqtt import CONSUMER_MAX_INFLIGHT, make_client
from hub.settings import MqttTarget


class BareCounter:
    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.count = 0
        self.not_json = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.done = threading.Event()

    def on_message(self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            self.not_json += 1  # UltraLight and other non-JSON formats: counted, as the hub would handle them
        client.ack(message.mid, message.qos)
        now = time.monotonic()
        if self.first_at is None:
            self.first_at = now
        self.count += 1
        self.last_at = now
        if self.count >= self.expect:
            self.done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--topic", action="append", required=True, help="a topic filter (repeat for several)")
    parser.add_argument("--expect", type=int, required=True, help="messages to wait for")
    args = parser.parse_args(argv)

    counter = BareCounter(args.expect)
    target = MqttTarget.parse(args.url)
    client = make_client(
        target, client_id=args.client_id, persistent_session=True, manual_ack=True, max_inflight=CONSUMER_MAX_INFLIGHT
    )
    connected_at: list[float] = []

    def on_connect(client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        connected_at.append(time.monotonic())
        client.subscribe([(topic, 1) for topic in args.topic])

    client.on_connect = on_connect
    client.on_message = counter.on_message
    client.connect(target.host, target.port, keepalive=30)
    client.loop_start()
    while not counter.done.wait(0.2):
        print(f"progress {counter.count} {time.monotonic():.6f}", flush=True)
    summary = {
        "count": counter.count,
        "not_json": counter.not_json,
        "connected_at": connected_at[0] if connected_at else None,
        "first_at": counter.first_at,
        "last_at": counter.last_at,
    }
    print(f"progress {counter.count} {time.monotonic():.6f}", flush=True)
    print("done " + json.dumps(summary), flush=True)
    sys.stdin.read()  # until the benchmark has read /proc and closes our stdin
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
