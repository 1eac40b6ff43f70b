"""Reading back what the hub stored, with InfluxQL, until it arrives or time runs out; an InfluxDB for outages."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hub.devstack import InfluxDB1, free_port
from hub.store.influxql import InfluxQLClient


def wait_for_rows(client: InfluxQLClient, query: str, expected: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = [row for series in client.query(query) for row in series.records()]
        if len(rows) >= expected:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"expected {expected} rows from {query!r}, got {len(rows)}: {rows[:5]}")


def influx_down_with_database(port: int, data_dir: Path, database: str) -> InfluxDB1:
    """An InfluxDB that will listen on ``port`` once started, with ``database`` already on disk.

    ``InfluxDB1.start`` creates its database only after the server answers, and a write in that
    window gets 404 "database not found", which the hub dead-letters as refused data today. A test
    of an outage wants the server to come back whole, so the database is made on another port first.
    """
    preparing = InfluxDB1(free_port(), data_dir, database=database)
    preparing.start()
    preparing.stop()
    return InfluxDB1(port, data_dir, database=database)
