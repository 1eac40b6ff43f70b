"""The JSON line ``citylab decode`` prints for each reading (the codec fixtures' expected readings too).

Not the API's shape: ``/api/v1/readings`` answers with one quantity and unit per page and, per
reading, ``time``, ``city``, ``lab``, ``device``, ``value``, ``unit``, ``lat`` and ``lon`` (null when
unknown); see hub/api/models.py. Here ``quantity`` sits on every line, and ``lat``/``lon`` appear
only when both are known.
"""

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
