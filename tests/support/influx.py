"""Reading back what the hub stored, with InfluxQL, until it arrives or time runs out."""

from __future__ import annotations

import time
from typing import Any

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
