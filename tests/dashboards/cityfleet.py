"""Four cities' devices in three native formats, with every value known in advance.

Each device reports temperature and the four air-quality pollutants once an hour, at
half past, for ``HOURS`` hours. Two faults make the dashboards' jobs visible:
Oslo sends nothing for ``OSLO_GAP`` hours (coverage), and Helsinki's second device goes
silent for the last ``SILENT_HOURS`` hours (last seen). Aarhus also gets two truncated
messages, so the health dashboard has dead letters to show.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LABS_DIR = Path(__file__).resolve().parents[2] / "labs"

HOURS = 48
OSLO_GAP = range(10, 16)
SILENT_HOURS = 12
QUANTITIES = ("temperature", "pm25", "pm10", "no2", "o3")
BAD_AARHUS_MESSAGES = 2

# city → (lab, devices, base level that sets every value of the city apart)
CITIES: dict[str, tuple[str, tuple[str, ...], float]] = {
    "aarhus": ("aarhus-city-lab", ("aar-1", "aar-2"), 10.0),
    "copenhagen": ("copenhagen-street-lab", ("hcab-1", "hcab-2"), 20.0),
    "oslo": ("oslo-urban-lab", ("osl-1", "osl-2"), 14.0),
    "helsinki": ("helsinki-city-lab", ("hel-1", "hel-2"), 30.0),
}

_EXTRA_LABS = {
    "oslo-urban-lab.yaml": """\
lab: oslo-urban-lab
city: oslo
name: Oslo Urban Lab
city_name: Oslo
country: "NO"
timezone: Europe/Oslo
location: {lat: 59.9139, lon: 10.7522}
sources:
  - topic: oslo-urban-lab/senml/+
    format: senml
""",
    "helsinki-city-lab.yaml": """\
lab: helsinki-city-lab
city: helsinki
name: Helsinki City Lab
city_name: Helsinki
country: FI
timezone: Europe/Helsinki
location: {lat: 60.1699, lon: 24.9384}
sources:
  - topic: v3/helsinki-city-lab@ttn/devices/+/up
    format: ttn-v3
    device_topic_level: 3
""",
}


def write_labs(directory: Path) -> Path:
    """The two real labs plus Oslo (SenML) and Helsinki (TTN v3), in a labs directory of their own."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("aarhus-city-lab.yaml", "copenhagen-street-lab.yaml"):
        shutil.copy(LABS_DIR / name, directory / name)
    for name, text in _EXTRA_LABS.items():
        (directory / name).write_text(text)
    return directory


def value(city: str, device: str, quantity: str, hour: int) -> float:
    """Every reading, known in advance: the city's level, a device offset and a daily cycle."""
    base = CITIES[city][2]
    offset = 1.0 if device.endswith("-2") else 0.0
    scale = {"temperature": 0.5, "pm25": 1.0, "pm10": 1.5, "no2": 2.0, "o3": 4.0}[quantity]
    return round(scale * base + offset + (hour % 24) / 4, 3)


def reports(city: str, device: str) -> list[int]:
    """The hours (0-based from the start) in which the device reports."""
    hours = range(HOURS)
    if city == "oslo":
        return [h for h in hours if h not in OSLO_GAP]
    if device == "hel-2":
        return [h for h in hours if h < HOURS - SILENT_HOURS]
    return list(hours)


@dataclass(frozen=True)
class Fleet:
    start_ns: int  # the start of the first hour (UTC, on the hour)

    def time_ns(self, hour: int) -> int:
        return self.start_ns + hour * 3_600_000_000_000 + 1_800_000_000_000

    def iso(self, hour: int) -> str:
        seconds = self.time_ns(hour) // 1_000_000_000
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def messages(self) -> list[tuple[str, bytes]]:
        out = []
        for city, (_lab, devices, _base) in CITIES.items():
            for device in devices:
                for hour in reports(city, device):
                    out.append(self._message(city, device, hour))
        out += [
            ("v3/aarhus-city-lab@ttn/devices/aar-1/up", b'{"uplink_message": {"decoded_payload": ')
        ] * BAD_AARHUS_MESSAGES
        return out

    def message_counts(self) -> dict[str, int]:
        """Messages each lab receives, as the hub counts them (truncated ones included)."""
        counts = {lab: sum(len(reports(city, d)) for d in devices) for city, (lab, devices, _) in CITIES.items()}
        counts["aarhus-city-lab"] += BAD_AARHUS_MESSAGES
        return counts

    def _message(self, city: str, device: str, hour: int) -> tuple[str, bytes]:
        values = {q: value(city, device, q, hour) for q in QUANTITIES}
        if city in ("aarhus", "helsinki"):
            lab = CITIES[city][0]
            return f"v3/{lab}@ttn/devices/{device}/up", _ttn(values, self.iso(hour))
        if city == "copenhagen":
            return "copenhagen-street-lab/ngsi-ld/AirQualityObserved", _ngsi(device, values, self.iso(hour))
        return f"oslo-urban-lab/senml/{device}", _senml(device, values, self.time_ns(hour) // 1_000_000_000)


def _ttn(values: dict[str, float], at: str) -> bytes:
    return json.dumps(
        {
            "end_device_ids": {"device_id": "ignored", "application_ids": {"application_id": "app"}},
            "received_at": at,
            "uplink_message": {
                "f_port": 1,
                "decoded_payload": values,
                "received_at": at,
                "rx_metadata": [{"gateway_ids": {"gateway_id": "gw1"}, "time": at}],
            },
        }
    ).encode()


_NGSI_UNITS = {"temperature": "CEL", "pm25": "GQ", "pm10": "GQ", "no2": "GQ", "o3": "GQ"}


def _ngsi(device: str, values: dict[str, float], at: str) -> bytes:
    entity: dict[str, object] = {
        "id": f"urn:ngsi-ld:AirQualityObserved:{device}",
        "type": "AirQualityObserved",
        "dateObserved": {"type": "Property", "value": at},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [12.565, 55.673]}},
    }
    for quantity, reading in values.items():
        entity[quantity] = {"type": "Property", "value": reading, "unitCode": _NGSI_UNITS[quantity]}
    return json.dumps(
        {
            "id": "urn:ngsi-ld:Notification:1",
            "type": "Notification",
            "subscriptionId": "urn:ngsi-ld:Subscription:1",
            "notifiedAt": at,
            "data": [entity],
        }
    ).encode()


_SENML_UNITS = {"temperature": "Cel", "pm25": "ug/m3", "pm10": "ug/m3", "no2": "ug/m3", "o3": "ug/m3"}


def _senml(device: str, values: dict[str, float], seconds: int) -> bytes:
    records: list[dict[str, object]] = [
        {"bn": f"{device}:", "bt": seconds, "n": "lat", "u": "lat", "v": 59.92},
        {"n": "lon", "u": "lon", "v": 10.75},
    ]
    records += [{"n": quantity, "u": _SENML_UNITS[quantity], "v": reading} for quantity, reading in values.items()]
    return json.dumps(records).encode()
