"""Device kinds, the fleet data file, and what each device measures at a given moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from hub.labs import LabConfig
from simulators import signals
from simulators.signals import CityClimate, Site

# What each kind of device measures, in the hub's quantity names.
KIND_QUANTITIES: dict[str, tuple[str, ...]] = {
    "air": ("temperature", "relativeHumidity", "atmosphericPressure", "pm25", "pm10", "no2", "LAeq"),
    "air_quality": ("no2", "pm25", "pm10", "temperature", "relativeHumidity"),
    "particulates": ("pm25", "pm10", "temperature", "relativeHumidity"),
    "climate": ("temperature", "relativeHumidity", "atmosphericPressure"),
    "weather": (
        "temperature",
        "relativeHumidity",
        "atmosphericPressure",
        "windSpeed",
        "windDirection",
        "precipitation",
    ),
    "noise": ("LAeq",),
    "traffic": ("intensity",),
    "parking": ("occupancy",),
    "waste": ("fillingLevel",),
    "water": ("waterTemperature", "waterLevel"),
    "pm": ("pm25", "pm10"),  # a particle sensor on its own (SDS011)
    "custom": (),  # what `measures` says
}

# How often each kind reports on its own, in seconds: battery devices save their radio.
KIND_INTERVAL_S: dict[str, float] = {
    "air": 600,
    "air_quality": 900,
    "particulates": 150,
    "climate": 900,
    "weather": 600,
    "noise": 300,
    "traffic": 300,
    "parking": 300,
    "waste": 1800,
    "water": 900,
    "pm": 150,
    "custom": 600,
}

# The resolution devices report at, in the hub's unit: what a correct decode can differ by.
RESOLUTION: dict[str, float] = {
    "temperature": 0.1,
    "relativeHumidity": 0.5,
    "atmosphericPressure": 0.1,
    "pm25": 0.1,
    "pm10": 0.1,
    "no2": 0.1,
    "LAeq": 0.1,
    "windSpeed": 0.1,
    "windDirection": 1.0,
    "precipitation": 0.1,
    "intensity": 4.0,
    "occupancy": 1.0,
    "fillingLevel": 1.0,
    "waterTemperature": 0.1,
    "waterLevel": 0.01,
}


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: str
    lat: float
    lon: float
    name: str = ""
    site: Site = field(default_factory=Site)
    # A payload flavour within a format, e.g. Decentlab objects or CayenneLPP.
    style: str = ""
    # The lab source format this device uses when the lab has several.
    format: str = ""
    # What the device measures when it is not its kind's usual set (e.g. one SensorThings datastream).
    measures: tuple[str, ...] = ()
    # The device id the hub stores, when several simulated streams belong to one device.
    stored_as: str = ""
    # A format-specific address within the device, e.g. a SensorThings datastream id.
    channel: str = ""

    @property
    def quantities(self) -> tuple[str, ...]:
        return self.measures or KIND_QUANTITIES[self.kind]

    @property
    def hub_id(self) -> str:
        return self.stored_as or self.id


@cache
def _fleet_data() -> dict[str, Any]:
    text = resources.files("simulators.data").joinpath("fleets.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("simulators/data/fleets.yaml: expected a mapping at the top level")
    return data


def climate_for(lab: LabConfig) -> CityClimate:
    city = _fleet_data().get("cities", {}).get(lab.city, {})
    mean, july, january = city.get("annual_mean_c"), city.get("july_mean_c"), city.get("january_mean_c")
    return CityClimate(
        key=lab.city,
        lat=lab.location.lat,
        zone=lab.zone,
        tide_m=float(city.get("tide_m", 0.2)),
        normal_mean_c=float(mean) if mean is not None else None,
        normal_amplitude_c=(float(july) - float(january)) / 2 if july is not None and january is not None else None,
    )


def devices_for(lab: LabConfig) -> list[Device]:
    """The lab's fleet from the data file: by lab, else by city, else probes around the lab's location.

    A lab whose SensorThings source maps its datastreams has exactly those: one simulated
    stream per datastream, stored under the device the map names.
    """
    mapped = _datastream_devices(lab)
    if mapped:
        return mapped
    data = _fleet_data()
    entries = data.get("labs", {}).get(lab.lab)
    if entries is None:
        entries = data.get("city_defaults", {}).get(lab.city)
    if entries is None:
        lat, lon = lab.location.lat, lab.location.lon
        entries = [
            {"id": f"{lab.city}-air-1", "kind": "air", "lat": lat + 0.002, "lon": lon - 0.003, "traffic": 0.8},
            {"id": f"{lab.city}-climate-1", "kind": "climate", "lat": lat - 0.004, "lon": lon + 0.002},
        ]
    devices = []
    for entry in entries:
        kind = entry["kind"]
        if kind not in KIND_QUANTITIES or kind == "custom":
            raise ValueError(f"simulators/data/fleets.yaml: {lab.lab}: unknown device kind {kind!r}")
        devices.append(
            Device(
                id=str(entry["id"]),
                kind=kind,
                lat=float(entry["lat"]),
                lon=float(entry["lon"]),
                name=str(entry.get("name", "")),
                style=str(entry.get("style", "")),
                format=str(entry.get("format", "")),
                site=Site(
                    traffic=float(entry.get("traffic", 0.5)),
                    road_capacity=float(entry.get("capacity", 1800.0)),
                    capacity_offset=float(entry.get("phase", 0.0)),
                ),
            )
        )
    return devices


def _datastream_devices(lab: LabConfig) -> list[Device]:
    devices = []
    for source in lab.sources:
        streams = source.options.get("datastreams") if source.format == "sensorthings" else None
        if not isinstance(streams, dict):
            continue
        for stream_id, spec in streams.items():
            quantity = spec.get("quantity")
            if quantity not in RESOLUTION:
                continue
            name = str(spec.get("device") or f"datastream-{stream_id}")
            devices.append(
                Device(
                    id=f"{name}-ds{stream_id}",
                    kind="custom",
                    measures=(quantity,),
                    stored_as=name,
                    channel=str(stream_id),
                    format="sensorthings",
                    lat=float(spec.get("lat", lab.location.lat)),
                    lon=float(spec.get("lon", lab.location.lon)),
                    site=Site(traffic=0.7),
                )
            )
    return devices


def measure(seed: int, climate: CityClimate, device: Device, time_ns: int) -> dict[str, float]:
    """What the device reads at ``time_ns``, in the hub's canonical units, unrounded."""
    c = signals.conditions(seed, climate, time_ns)
    t_s = time_ns / 1e9
    key = f"{climate.key}:{device.id}"
    # A device sits in its own microclimate: a fixed small offset per device.
    offset = 0.6 * signals.smooth_noise(seed, f"{key}:offset", 0.0, 1.0)
    world: dict[str, float] = {
        "temperature": c.temperature + offset,
        "relativeHumidity": min(100.0, max(0.0, c.relative_humidity - 2.0 * offset)),
        "atmosphericPressure": c.pressure,
        "windSpeed": c.wind_speed,
        "windDirection": c.wind_direction,
        "precipitation": c.precipitation,
    }
    needs = set(device.quantities)
    if needs & {"no2", "pm25", "pm10", "LAeq"}:
        world.update(signals.air_pollution(seed, key, climate, c, device.site, t_s))
    if "intensity" in needs:
        world["intensity"] = signals.traffic_intensity(seed, key, c, device.site, t_s)
    if "occupancy" in needs:
        world["occupancy"] = signals.parking_occupancy(seed, key, c, t_s)
    if "fillingLevel" in needs:
        world["fillingLevel"] = signals.filling_level(c, device.site, t_s)
    if needs & {"waterTemperature", "waterLevel"}:
        world.update(signals.water(seed, climate, c, t_s))
    return {quantity: world[quantity] for quantity in device.quantities}
