"""The simulated world behaves like a Nordic city: seasons by latitude, rush hours, calm cold air holding PM."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from statistics import mean
from zoneinfo import ZoneInfo

from simulators.devices import Device, measure
from simulators.signals import CityClimate, Site, air_pollution, conditions, day_length_hours

CPH = ZoneInfo("Europe/Copenhagen")
AARHUS = CityClimate(key="aarhus", lat=56.16, zone=CPH)
TROMSO = CityClimate(key="tromso", lat=69.65, zone=ZoneInfo("Europe/Oslo"))
BOULEVARD = Device(id="probe", kind="air", lat=56.15, lon=10.2, site=Site(traffic=1.0))


def at(day: str, hour: int, zone: ZoneInfo = CPH) -> int:
    return int(datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=zone).timestamp()) * 10**9


def month_mean(climate: CityClimate, month: int) -> float:
    return mean(
        conditions(1, climate, at(f"2026-{month:02d}-{day:02d}", hour)).temperature
        for day in range(1, 29)
        for hour in range(0, 24, 3)
    )


def test_seasons_follow_latitude():
    assert month_mean(AARHUS, 7) - month_mean(AARHUS, 1) > 10
    assert month_mean(TROMSO, 1) < month_mean(AARHUS, 1)
    assert month_mean(TROMSO, 7) < month_mean(AARHUS, 7)
    assert day_length_hours(69.65, 355) == 0.0  # Tromsø's polar night
    assert day_length_hours(69.65, 172) == 24.0  # and its midnight sun


def test_weekday_rush_hours_drive_traffic_no2_and_noise_and_weekends_are_quieter():
    tuesday, sunday = "2026-03-03", "2026-03-08"
    rush = measure(1, AARHUS, BOULEVARD, at(tuesday, 8))
    night = measure(1, AARHUS, BOULEVARD, at(tuesday, 3))
    assert conditions(1, AARHUS, at(tuesday, 8)).traffic > 0.8 > 0.1 > conditions(1, AARHUS, at(tuesday, 3)).traffic
    assert rush["no2"] > 2 * night["no2"]
    assert rush["LAeq"] > night["LAeq"] + 10
    sunday_morning = conditions(1, AARHUS, at(sunday, 8)).traffic
    assert sunday_morning < conditions(1, AARHUS, at(tuesday, 8)).traffic / 2


def test_pm_rises_in_calm_cold_weather():
    base = conditions(1, AARHUS, at("2026-01-13", 20))

    def pm25(temperature: float, wind: float) -> float:
        weather = replace(base, temperature=temperature, wind_speed=wind)
        return air_pollution(1, "probe", AARHUS, weather, Site(traffic=0.5), 0.0)["pm25"]

    assert pm25(-8.0, 0.5) > pm25(12.0, 0.5) + 8
    assert pm25(-8.0, 0.5) > pm25(-8.0, 9.0) + 8


def test_every_device_kind_reads_inside_the_hubs_ranges_all_year():
    from hub.vocabulary import load_vocabulary
    from simulators.devices import KIND_QUANTITIES

    quantities = load_vocabulary().quantities
    for kind in KIND_QUANTITIES:
        if kind == "custom":
            continue
        device = Device(id=f"d-{kind}", kind=kind, lat=69.6, lon=18.9, site=Site(traffic=1.0, road_capacity=3000))
        for climate in (AARHUS, TROMSO):
            for day in range(1, 366, 9):
                for hour in (3, 8, 13, 17, 22):
                    stamp = at("2026-01-01", 0) + ((day - 1) * 24 + hour) * 3600 * 10**9
                    for quantity, value in measure(3, climate, device, stamp).items():
                        spec = quantities[quantity]
                        assert spec.minimum <= value <= spec.maximum, (kind, quantity, value)


def test_the_west_coast_is_milder_than_oslo_in_november_as_its_climate_normals_say():
    from pathlib import Path

    from hub.labs import load_labs
    from simulators.devices import climate_for

    labs = {lab.city: lab for lab in load_labs(Path(__file__).resolve().parents[2] / "labs").values()}
    oslo, bergen, stavanger = (climate_for(labs[city]) for city in ("oslo", "bergen", "stavanger"))
    for seed in (1, 2, 3):

        def november(climate: CityClimate, seed: int = seed) -> float:
            return mean(
                conditions(seed, climate, at(f"2026-11-{day:02d}", hour)).temperature
                for day in range(1, 31)
                for hour in range(0, 24, 3)
            )

        assert november(bergen) > november(oslo) + 1.5
        assert november(stavanger) > november(oslo) + 1.5
    # Oslo still has the warmer summer: inland, the swing between seasons is larger.
    assert month_mean(oslo, 7) > month_mean(bergen, 7)
