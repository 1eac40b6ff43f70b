"""The simulated world: weather, traffic and pollution as deterministic functions of place and time.

Every value is a pure function of (seed, city, time), so the same seed gives the same
numbers no matter in which order or from which start a stream asks for them. Slow
weather comes from value noise: seeded random knots every few hours, smoothly
interpolated, so neighbouring devices in one city see the same front pass.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_NS_PER_S = 1_000_000_000
_HOUR_S = 3600.0
# The M2 lunar semidiurnal tide: the main tide on Nordic coasts.
_M2_PERIOD_S = 12.4206 * _HOUR_S


@lru_cache(maxsize=65536)
def _knot(seed: int, channel: str, index: int) -> float:
    """A random number in [-1, 1] for one knot, stable across processes (not ``hash()``)."""
    digest = hashlib.blake2b(f"{seed}:{channel}:{index}".encode(), digest_size=8).digest()
    (number,) = struct.unpack("<Q", digest)
    return float(number) / 2**63 - 1.0


def smooth_noise(seed: int, channel: str, t_s: float, period_s: float) -> float:
    """Value noise in [-1, 1], with knots ``period_s`` apart and cosine interpolation between them."""
    position = t_s / period_s
    index = math.floor(position)
    fraction = position - index
    weight = (1 - math.cos(math.pi * fraction)) / 2
    return _knot(seed, channel, index) * (1 - weight) + _knot(seed, channel, index + 1) * weight


def _bump(x: float, centre: float, width: float) -> float:
    return math.exp(-(((x - centre) / width) ** 2))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


@dataclass(frozen=True, slots=True)
class CityClimate:
    """What makes one city's weather its own: its climate normals, else its latitude, set the seasonal baseline.

    Latitude alone is wrong on a coast: the Gulf Stream keeps west-coast Bergen and Stavanger
    milder in winter than Oslo further east, with a smaller swing between summer and winter.
    So a city's own normals (``simulators/data/fleets.yaml``) win over the latitude rule.
    """

    key: str  # seeds the city's weather, so two cities never share a front by accident
    lat: float
    zone: ZoneInfo
    tide_m: float = 0.2  # half range of the astronomical tide at the city's harbour
    normal_mean_c: float | None = None  # the city's annual mean temperature
    normal_amplitude_c: float | None = None  # half the difference between July and January means

    @property
    def annual_mean_c(self) -> float:
        if self.normal_mean_c is not None:
            return self.normal_mean_c
        # About 8 °C at 56° N (Aarhus), 5 °C at 64° N (Reykjavik), 3 °C at 70° N (Tromsø).
        return 30.0 - 0.39 * self.lat

    @property
    def seasonal_amplitude_c(self) -> float:
        if self.normal_amplitude_c is not None:
            return self.normal_amplitude_c
        return 7.5 + 0.08 * (self.lat - 55.0)


@dataclass(frozen=True, slots=True)
class Conditions:
    """The state of the world at one place and time, in the hub's canonical units."""

    temperature: float  # Cel
    relative_humidity: float  # %
    pressure: float  # hPa
    wind_speed: float  # m/s
    wind_direction: float  # deg
    precipitation: float  # mm in the last hour
    traffic: float  # 0..1, share of the road's rush-hour peak
    office_hours: float  # 0..1, how much of the working day is under way
    local_hour: float
    weekday: int  # Monday is 0
    day_of_year: int


def day_length_hours(lat: float, day_of_year: int) -> float:
    """Hours of daylight: 0 in Tromsø's polar night, 24 under its midnight sun."""
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
    cos_hour_angle = -math.tan(math.radians(lat)) * math.tan(declination)
    if cos_hour_angle <= -1:
        return 24.0
    if cos_hour_angle >= 1:
        return 0.0
    return 2 * math.degrees(math.acos(cos_hour_angle)) / 15


def traffic_share(local_hour: float, weekday: int) -> float:
    """Road traffic relative to the weekday rush-hour peak: morning and afternoon peaks on workdays."""
    h = local_hour
    night = 0.05 + 0.04 * _bump(h, 23.0, 2.0)
    if weekday < 5:
        # Friday's afternoon peak comes earlier and the morning one is lower.
        friday = weekday == 4
        morning = (0.8 if friday else 0.95) * _bump(h, 7.8, 1.1)
        afternoon = 0.9 * _bump(h, 15.3 if friday else 16.3, 1.4)
        daytime = 0.5 * _bump(h, 12.0, 3.5)
        return _clamp(night + morning + afternoon + daytime, 0.0, 1.0)
    peak = 0.55 if weekday == 5 else 0.4
    return _clamp(night + peak * _bump(h, 13.5, 3.8), 0.0, 1.0)


def office_share(local_hour: float, weekday: int) -> float:
    def rise(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    day = rise((local_hour - 7.8) * 2.5) * rise((17.0 - local_hour) * 2.0)
    return day if weekday < 5 else 0.3 * day


def conditions(seed: int, climate: CityClimate, time_ns: int) -> Conditions:
    t_s = time_ns / _NS_PER_S
    local = datetime.fromtimestamp(t_s, climate.zone)
    hour = local.hour + local.minute / 60 + local.second / 3600
    doy = local.timetuple().tm_yday
    weekday = local.weekday()
    key = climate.key

    # Warmest around 19 July, coldest around 18 January.
    season = math.cos(2 * math.pi * (doy - 200) / 365)
    daylight = day_length_hours(climate.lat, doy)
    diurnal_amplitude = 0.5 + 4.0 * daylight / 24
    weather_anomaly = 4.0 * smooth_noise(seed, f"{key}:temp", t_s, 14 * _HOUR_S) + 1.0 * smooth_noise(
        seed, f"{key}:temp-fast", t_s, 3 * _HOUR_S
    )
    daily_mean = climate.annual_mean_c + climate.seasonal_amplitude_c * season + weather_anomaly
    temperature = daily_mean + diurnal_amplitude * math.cos(2 * math.pi * (hour - 15.0) / 24)

    wind = 4.5 + 3.5 * smooth_noise(seed, f"{key}:wind", t_s, 10 * _HOUR_S)
    wind += 1.2 * smooth_noise(seed, f"{key}:gust", t_s, 0.75 * _HOUR_S) + 0.8 * _bump(hour, 14.0, 4.0)
    wind = _clamp(wind, 0.2, 30.0)
    direction = (230.0 + 100.0 * smooth_noise(seed, f"{key}:dir", t_s, 16 * _HOUR_S)) % 360

    pressure = 1012.0 + 14.0 * smooth_noise(seed, f"{key}:pressure", t_s, 36 * _HOUR_S)
    wetness = smooth_noise(seed, f"{key}:rain", t_s, 5 * _HOUR_S)
    precipitation = max(0.0, wetness - 0.35) * 4.0
    humidity = 76.0 - 3.0 * (temperature - daily_mean) + 12.0 * smooth_noise(seed, f"{key}:hum", t_s, 9 * _HOUR_S)
    humidity = _clamp(humidity + 15.0 * min(precipitation, 1.0), 22.0, 99.0)

    return Conditions(
        temperature=temperature,
        relative_humidity=humidity,
        pressure=pressure,
        wind_speed=wind,
        wind_direction=direction,
        precipitation=precipitation,
        traffic=traffic_share(hour, weekday),
        office_hours=office_share(hour, weekday),
        local_hour=hour,
        weekday=weekday,
        day_of_year=doy,
    )


@dataclass(frozen=True, slots=True)
class Site:
    """What is particular to one device's spot: how busy its road is, how big its car park."""

    traffic: float = 0.5  # the nearest road's weight, 0 for a park, 1 for a boulevard
    road_capacity: float = 1800.0  # vehicles per hour at the rush-hour peak
    capacity_offset: float = 0.0  # a per-device phase, e.g. when a waste bin is emptied


def air_pollution(
    seed: int, device_key: str, climate: CityClimate, c: Conditions, site: Site, t_s: float
) -> dict[str, float]:
    """NO2, PM2.5, PM10 (µg/m³) and LAeq (dBA): traffic drives NO2 and noise; calm cold air holds PM."""
    calm = _clamp(1.0 - c.wind_speed / 5.0, 0.0, 1.0)
    cold = _clamp((6.0 - c.temperature) / 12.0, 0.0, 1.0)
    dispersion = 1.8 / (1.0 + c.wind_speed / 2.5)
    road = c.traffic * site.traffic
    wobble = smooth_noise(seed, f"{device_key}:air", t_s, 2 * _HOUR_S)

    no2 = 5.0 + 70.0 * road * dispersion * (1.0 + 0.4 * cold) + 3.0 * wobble
    # Wood stoves in the evening and inversions in calm, cold weather hold particles near the ground.
    evening = _bump(c.local_hour, 20.0, 2.5)
    pm25 = 3.5 + 5.0 * road * dispersion + 16.0 * calm * cold + 7.0 * cold * evening
    pm25 += 2.0 * smooth_noise(seed, f"{climate.key}:pm", t_s, 20 * _HOUR_S) + 1.0 * wobble
    # Studded tyres grind road dust from February to April: dry spring days lift PM10.
    spring_dust = _bump(c.day_of_year, 85.0, 30.0) * (1.0 if c.precipitation < 0.1 else 0.2)
    pm10 = 1.5 * pm25 + 4.0 + 30.0 * road * spring_dust + 2.0 * wobble
    laeq = 41.0 + 10.0 * math.log10(1.0 + 400.0 * road) + 0.4 * c.wind_speed + 1.5 * wobble
    return {
        "no2": max(0.5, no2),
        "pm25": max(0.5, pm25),
        "pm10": max(1.0, pm10),
        "LAeq": laeq,
    }


def traffic_intensity(seed: int, device_key: str, c: Conditions, site: Site, t_s: float) -> float:
    """Vehicles per hour past a counter."""
    jitter = 1.0 + 0.06 * smooth_noise(seed, f"{device_key}:count", t_s, 0.5 * _HOUR_S)
    return max(0.0, site.road_capacity * c.traffic * jitter)


def parking_occupancy(seed: int, device_key: str, c: Conditions, t_s: float) -> float:
    """Percent of a car park in use: full in office hours, lighter at night and at weekends."""
    base = 18.0 + 70.0 * c.office_hours + 12.0 * _bump(c.local_hour, 19.0, 2.0)
    return _clamp(base + 6.0 * smooth_noise(seed, f"{device_key}:park", t_s, 1.5 * _HOUR_S), 0.0, 100.0)


def filling_level(c: Conditions, site: Site, t_s: float) -> float:
    """Percent full of a waste container emptied every few days, filling faster in the daytime."""
    cycle_s = 4 * 24 * _HOUR_S
    phase = ((t_s / cycle_s) + site.capacity_offset) % 1.0
    daytime = 0.05 * math.sin(2 * math.pi * (c.local_hour - 9.0) / 24)
    return _clamp(3.0 + 92.0 * phase + 100.0 * daytime * phase, 0.0, 100.0)


def water(seed: int, climate: CityClimate, c: Conditions, t_s: float) -> dict[str, float]:
    """Harbour water temperature (°C, lagging the air by a month) and level (m against the local datum)."""
    season = math.cos(2 * math.pi * (c.day_of_year - 225) / 365)
    water_temperature = climate.annual_mean_c + 1.5 + 0.85 * climate.seasonal_amplitude_c * season
    water_temperature += 0.3 * math.cos(2 * math.pi * (c.local_hour - 16.0) / 24)
    water_temperature = max(-1.5, water_temperature)  # sea water freezes near -1.8 °C
    tide = climate.tide_m * math.cos(2 * math.pi * t_s / _M2_PERIOD_S)
    surge = 0.25 * smooth_noise(seed, f"{climate.key}:surge", t_s, 20 * _HOUR_S) + 0.02 * c.wind_speed * math.cos(
        math.radians(c.wind_direction - 270.0)
    )
    return {"waterTemperature": water_temperature, "waterLevel": tide + surge}
