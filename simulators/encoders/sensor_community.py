"""Sensor.Community data API records, as a lab's harvester republishes them.

One record per sensor and report, the shape ``data.sensor.community/static/v1/data.json``
serves: string values, ``timestamp`` in UTC without a zone, the sensor's id and type, and
its location as decimal-degree text. Records carry their time, so a backfill lands in the
past; firmware pushes don't, which is why the simulator uses the lab's API source.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from hub.labs import LabConfig, Source
from simulators.devices import Device
from simulators.encoders import Encoder, Sample, fill_topic

_SENSOR_TYPES = {
    "pm": {"id": 14, "name": "SDS011", "manufacturer": "Nova Fitness"},
    "climate": {"id": 17, "name": "BME280", "manufacturer": "Bosch"},
}
_SENSOR_ID = re.compile(r"^sensor-(\d+)$")


class SensorCommunityEncoder(Encoder):
    format = "sensor-community"
    kinds = frozenset(_SENSOR_TYPES)
    # The firmware's value types (their units are the resolver's: hub/data/aliases/formats/sensor-community.yaml).
    default_keys: ClassVar[Mapping[str, str]] = {
        "pm10": "P1",
        "pm25": "P2",
        "relativeHumidity": "humidity",
        "atmosphericPressure": "pressure",
    }

    def fit(self, device: Device, source: Source) -> int | None:
        # Only the API source: its records carry times and sensor ids.
        if device.kind not in self.kinds or source.device_topic_level is not None or "+" in source.topic:
            return None
        if _SENSOR_ID.match(device.hub_id) is None:
            return None
        return 10

    def labels_units(self, source: Source) -> bool:
        return False  # units are fixed per value type by the firmware

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        match = _SENSOR_ID.match(device.hub_id)
        if match is None:
            raise ValueError(f"{device.hub_id}: Sensor.Community devices are named sensor-<id>")
        sensor_id = int(match[1])
        stamp = datetime.fromtimestamp(sample.time_ns // 1_000_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        reading_id = int.from_bytes(
            hashlib.blake2b(f"{sensor_id}:{sample.sequence}".encode(), digest_size=5).digest(), "little"
        )
        values: list[dict[str, Any]] = []
        for index, field in enumerate(self.fields(sample, source)):
            text = field.value if isinstance(field.value, str) else f"{field.value}"
            values.append({"id": reading_id * 10 + index, "value": text, "value_type": field.key})
        for key, value in sample.extras.items():
            values.append({"id": reading_id * 10 + len(values), "value": str(value), "value_type": key})
        record = {
            "id": reading_id,
            "sampling_rate": None,
            "timestamp": stamp,
            "location": {
                "id": sensor_id // 2,
                "latitude": f"{device.lat:.3f}",
                "longitude": f"{device.lon:.3f}",
                "altitude": "31.0",
                "country": lab.country,
                "exact_location": 0,
                "indoor": 0,
            },
            "sensor": {
                "id": sensor_id,
                "pin": "1" if device.kind == "pm" else "11",
                "sensor_type": _SENSOR_TYPES[device.kind],
            },
            "sensordatavalues": values,
        }
        return fill_topic(source, device.hub_id, device.hub_id), orjson.dumps([record])


ENCODER = SensorCommunityEncoder()
