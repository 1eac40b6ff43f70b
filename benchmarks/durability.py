"""What durability costs: dead letters committed with SQLite synchronous=FULL against NORMAL, and Mosquitto
saving its state after every change against every 30 s. Side by side in one run, reported as ratios.

    .venv/bin/python -m benchmarks.durability
    .venv/bin/python -m benchmarks.durability --dir /var/lib/citylab-bench   # on the disk the hub will use

1. Dead letters: commits of 1, 10 and 100 letters (the writer thread commits one batch's letters at once,
   before it acks) with each setting; commits per second, and what a commit costs.
2. Mosquitto (Debian's 2.0.11) with ``autosave_interval 30`` and with the shipped ``autosave_on_changes true``
   + ``autosave_interval 1``: QoS 1 publish rate with a consuming subscriber, with the subscriber's persistent
   session offline (a backlog growing), and how many acknowledged messages a SIGKILL in the middle loses.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.deadletters.store import DeadLetter, DeadLetterStore
from hub.devstack import Mosquitto, free_port

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
PAYLOAD = b'{"uplink_message": {"decoded_payload": {"temperature": 21.5, "humidity": 40}}}' * 3  # ~240 bytes


def shipped_persistence() -> str:
    return "\n".join(
        line.strip() for line in SHIPPED_CONF.read_text().splitlines() if line.strip().startswith("autosave_")
    )


# --- dead letters ----------------------------------------------------------------------------------------


def dead_letter_commits(directory: Path, synchronous: str, batch: int, commits: int) -> float:
    """Commits per second of ``batch`` letters each, with PRAGMA synchronous=``synchronous``."""
    store = DeadLetterStore(directory / f"dead-{synchronous}-{batch}-{uuid.uuid4().hex[:6]}.sqlite3")
    store._db.execute(f"PRAGMA synchronous={synchronous}")
    letters = [
        DeadLetter(
            time.time_ns(), "v3/lab@ttn/devices/d/up", "lab", "ttn-v3", "out_of_range", "humidity 140 %", PAYLOAD
        )
        for _ in range(batch)
    ]
    started = time.perf_counter()
    for _ in range(commits):
        store.add_many(letters)
    elapsed = time.perf_counter() - started
    store.close()
    return commits / elapsed


# --- Mosquitto -------------------------------------------------------------------------------------------


def _client(client_id: str, *, clean: bool = True) -> mqtt.Client:
    return mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)


def _subscribe(broker: Mosquitto, client_id: str) -> mqtt.Client:
    client = _client(client_id, clean=False)
    done = threading.Event()
    client.on_subscribe = lambda *_args: done.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.subscribe("bench/#", 1)
    done.wait(10)
    return client


def publish_rate(broker: Mosquitto, count: int) -> float:
    """QoS 1 messages per second, each acknowledged by the broker (max 100 in flight)."""
    client = _client(f"pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish(f"bench/{n}", PAYLOAD, qos=1) for n in range(count)]
    for info in infos:
        info.wait_for_publish(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def crash_loss(broker: Mosquitto, count: int) -> tuple[int, int]:
    """Publish to an offline persistent session, SIGKILL the broker halfway, restart it: (acknowledged, kept)."""
    session = f"sub-{uuid.uuid4().hex[:6]}"
    _subscribe(broker, session).disconnect()
    acked: list[int] = []
    client = _client(f"pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(20)
    client.max_queued_messages_set(0)
    client.on_publish = lambda _c, _u, mid, _rc, _p: acked.append(mid)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    for n in range(count):
        client.publish(f"bench/{n}", PAYLOAD, qos=1)
    while len(acked) < count // 2:
        time.sleep(0.001)
    broker.kill()
    client.loop_stop()
    acknowledged = len(acked)
    broker.start()
    received: set[str] = set()
    consumer = _client(session, clean=False)
    consumer.on_message = lambda _c, _u, message: received.add(message.topic)
    consumer.connect("127.0.0.1", broker.port)
    consumer.loop_start()
    time.sleep(1.5)
    consumer.loop_stop()
    consumer.disconnect()
    return acknowledged, len(received)


def broker_run(base: Path, persistence: str, *, live: int, backlog: int, crash: int) -> dict[str, float]:
    results: dict[str, float] = {}
    broker = Mosquitto(free_port(), base / f"mosquitto-{uuid.uuid4().hex[:6]}", persistence=persistence)
    broker.start()
    try:
        subscriber = _subscribe(broker, f"live-{uuid.uuid4().hex[:6]}")
        subscriber.on_message = lambda *_args: None
        results["live msg/s"] = publish_rate(broker, live)
        subscriber.loop_stop()
        subscriber.disconnect()
        _subscribe(broker, f"away-{uuid.uuid4().hex[:6]}").disconnect()  # an offline session: a backlog grows
        results[f"backlog msg/s ({backlog} queued)"] = publish_rate(broker, backlog)
        acknowledged, kept = crash_loss(broker, crash)
        results["crash: acknowledged"] = acknowledged
        results["crash: lost"] = acknowledged - kept
    finally:
        broker.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="where the SQLite files and broker data go (default: a temp dir)")
    parser.add_argument("--live", type=int, default=3000, help="messages published with a consumer online")
    parser.add_argument("--backlog", type=int, default=3000, help="messages queued for an offline session")
    parser.add_argument("--crash", type=int, default=2000, help="messages published around the crash")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="citylab-durability-", dir=args.dir))
    try:
        print("dead-letter commits per second (median of runs):")
        for batch in (1, 10, 100):
            rates = {
                sync: statistics.median(dead_letter_commits(base, sync, batch, 200) for _ in range(args.repeat))
                for sync in ("NORMAL", "FULL")
            }
            print(
                f"  {batch:>3} letters/commit: NORMAL {rates['NORMAL']:8.0f}/s  FULL {rates['FULL']:8.0f}/s"
                f"  (FULL costs {1000 / rates['FULL'] - 1000 / rates['NORMAL']:.2f} ms more per commit;"
                f" ratio {rates['FULL'] / rates['NORMAL']:.2f})"
            )
        print("Mosquitto 2.0 persistence:")
        runs = {
            label: broker_run(base, persistence, live=args.live, backlog=args.backlog, crash=args.crash)
            for label, persistence in (
                ("autosave_interval 30", "autosave_interval 30"),
                ("shipped", shipped_persistence()),
            )
        }
        for key in runs["shipped"]:
            old, new = runs["autosave_interval 30"][key], runs["shipped"][key]
            ratio = f"  ratio {new / old:.2f}" if "msg/s" in key and old else ""
            print(f"  {key:32s} every 30 s: {old:9.0f}   after every change: {new:9.0f}{ratio}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
