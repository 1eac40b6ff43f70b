"""Devices seen in InfluxDB: when each last reported, where, and its latest value of each quantity."""

from __future__ import annotations

from dataclasses import dataclass

from hub.read.request import Filters
from hub.read.rows import (
    DeviceLocation,
    DeviceSeries,
    fetch_device_locations,
    fetch_device_series,
    fetch_measurements,
)
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class DeviceQuantity:
    quantity: str
    last_ns: int
    last_value: float
    unit: str


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    city: str
    lab: str
    device: str
    last_ns: int  # the newest reading of any quantity
    location: DeviceLocation | None  # the position sent with its newest reading, else the latest one it sent
    quantities: list[DeviceQuantity]  # by quantity name


def list_devices(client: InfluxQLClient, vocabulary: Vocabulary, filters: Filters) -> list[DeviceSummary]:
    """Every device with a reading that matches ``filters``, ordered by city, lab and device."""
    # Only measurements that are quantities: the hub's own hub_stats points are not devices.
    quantities = [name for name in fetch_measurements(client) if name in vocabulary.quantities]
    series = fetch_device_series(client, quantities, filters)
    locations = fetch_device_locations(client, quantities, filters)

    grouped: dict[tuple[str, str, str], list[DeviceSeries]] = {}
    for item in series:
        grouped.setdefault((item.city, item.lab, item.device), []).append(item)
    devices = []
    for key in sorted(grouped):
        items = sorted(grouped[key], key=lambda s: s.quantity)
        newest = max(items, key=lambda s: s.last_ns)
        where = locations.get((newest.quantity, *key)) or next(
            (locations[(s.quantity, *key)] for s in items if (s.quantity, *key) in locations), None
        )
        devices.append(
            DeviceSummary(
                city=key[0],
                lab=key[1],
                device=key[2],
                last_ns=newest.last_ns,
                location=where,
                quantities=[
                    DeviceQuantity(s.quantity, s.last_ns, s.last_value, vocabulary.quantities[s.quantity].unit)
                    for s in items
                ],
            )
        )
    return devices
