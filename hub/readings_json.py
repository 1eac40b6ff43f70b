"""The JSON shape of a reading, as ``citylab decode`` prints it and the API serves it."""

from __future__ import annotations

from typing import Any

from core.model import Reading
from core.timeutil import ns_to_rfc3339


def reading_to_dict(reading: Reading) -> dict[str, Any]:
    out: dict[str, Any] = {
        "city": reading.city,
        "lab": reading.lab,
        "device": reading.device,
        "quantity": reading.quantity,
        "value": reading.value,
        "unit": reading.unit,
        "time": ns_to_rfc3339(reading.time_ns),
    }
    if reading.lat is not None and reading.lon is not None:
        out["lat"] = reading.lat
        out["lon"] = reading.lon
    return out
