"""Mixed-format benchmark: every lab's simulated devices, all ten formats, through the real hub.

A backlog of ``--messages`` is queued at the broker for the hub's persistent session while
the hub is down (the load mode of the simulators: a stable round-robin mix of every lab's
devices), then the hub starts and drains it. Side by side in the same process tree, the
same messages go through the hub's decode+normalise+line-protocol path in-process, and the
report gives the end-to-end rate as a ratio of that CPU-only rate: how much of the hub's
speed the MQTT and InfluxDB round trips cost.

    .venv/bin/python -m benchmarks.mix --messages 20000
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.devstack import local_stack
from hub.labs import load_labs
from hub.pipeline import Pipeline
from hub.routing import Router
from hub.store.influxql import InfluxQLClient
from hub.store.line_protocol import reading_to_line
from simulators import SimMessage, build_fleet, publish

ROOT = Path(__file__).resolve().parent.parent


def in_process_rate(messages: list[SimMessage], router: Router) -> tuple[float, int]:
    """Messages per second through route, decode, normalise and line protocol; and the readings made."""
    pipeline = Pipeline()
    readings = 0
    began = time.perf_counter()
    for message in messages:
        route = router.route(message.topic)
        assert route is not None, message.topic
        processed = pipeline.process_routed(route, message.payload, topic=message.topic, received_ns=time.time_ns())
        readings += len([reading_to_line(reading) for reading in processed.result.readings])
    return len(messages) / (time.perf_counter() - began), readings


def stored_readings(client: InfluxQLClient) -> int:
    total = 0
    for series in client.query("SHOW MEASUREMENTS"):
        for (name,) in series.values:
            if name == "hub_stats":
                continue
            result = client.query(f'SELECT count("value") FROM "{name}"')
            total += int(result[0].values[0][1]) if result else 0
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    labs = load_labs(ROOT / "labs")
    fleet = build_fleet(labs, seed=7)
    start_ns = (time.time_ns() - 2 * 24 * 3600 * 1_000_000_000) // 1_000_000_000 * 1_000_000_000
    # 20 messages/s of simulated time: every device reports at distinct, whole-millisecond times.
    messages = list(fleet.load(start_ns, rate=20.0, seconds=args.messages / 20.0))
    cpu_rate, expected_readings = in_process_rate(messages, Router(labs))

    with tempfile.TemporaryDirectory() as tmp, local_stack(Path(tmp)) as (broker, influx):
        data_dir = Path(tmp) / "hub"
        env = {
            **os.environ,
            "CITYLAB_MQTT_URL": broker.url,
            "CITYLAB_INFLUX_URL": influx.url,
            "CITYLAB_INFLUX_API": "v1",
            "CITYLAB_INFLUX_BUCKET": influx.database,
            "CITYLAB_LABS": str(ROOT / "labs"),
            "CITYLAB_DATA_DIR": str(data_dir),
            "CITYLAB_MQTT_CLIENT_ID": "bench-mix",
            "CITYLAB_LOG_LEVEL": "WARNING",
        }
        # Create the persistent session, then stop: the backlog queues at the broker.
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve"], env=env)
        time.sleep(3)
        hub.terminate()
        hub.wait(30)
        report = publish(messages, broker.url, max_inflight=500)
        began = time.monotonic()
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve"], env=env)
        client = InfluxQLClient(influx.url, influx.database)
        stored, last_change = 0, time.monotonic()
        while time.monotonic() - last_change < 5 and stored < expected_readings:
            now = stored_readings(client)
            if now != stored:
                stored, last_change = now, time.monotonic()
            time.sleep(0.25)
        drain_s = last_change - began
        hub.terminate()
        hub.wait(30)
        with sqlite3.connect(data_dir / "deadletters.sqlite3") as db:
            dead = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]

    end_to_end = len(messages) / drain_s
    formats = sorted({source.format for lab in labs.values() for source in lab.sources})
    print(
        f"{len(messages)} messages from {len(fleet.devices)} devices in {len(fleet.labs)} labs, "
        f"{len(formats)} formats; published {report.acked}/{report.sent} while the hub was down"
    )
    print(f"in-process decode+normalise+line protocol: {cpu_rate:.0f} msg/s ({expected_readings} readings)")
    print(
        f"hub end to end (MQTT backlog -> InfluxDB): {stored}/{expected_readings} readings stored, "
        f"{dead} dead letters, {drain_s:.1f}s incl. start-up = {end_to_end:.0f} msg/s"
    )
    print(f"ratio end-to-end / in-process: {end_to_end / cpu_rate:.2f}")
    return 0 if stored == expected_readings and dead == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
