"""Response and request bodies. Every model carries an example, so the OpenAPI document is the reference."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.read import RFC3339_PATTERN


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


# --- health ---------------------------------------------------------------------------


class Check(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    model_config = _example(
        {
            "status": "ok",
            "checks": {
                "mqtt": {"ok": True, "detail": "connected to mqtt://127.0.0.1:1883"},
                "influxdb": {"ok": True, "detail": "database citylab answers at http://127.0.0.1:8086"},
                "labs": {"ok": True, "detail": "14 labs from labs (loaded 2026-03-01T10:00:00.5Z)"},
            },
        }
    )

    status: Literal["ok", "degraded"]
    checks: dict[str, Check]


# --- labs -----------------------------------------------------------------------------


class LabSource(BaseModel):
    topic: str = Field(description="MQTT topic filter the lab publishes on")
    format: str = Field(description="payload format (codec name)")
    mapped_keys: dict[str, str] = Field(description="lab-specific payload keys and the quantity each becomes")


class Location(BaseModel):
    lat: float
    lon: float


_LAB_EXAMPLE: dict[str, Any] = {
    "lab": "aarhus-city-lab",
    "city": "aarhus",
    "name": "Aarhus City Lab",
    "city_name": "Aarhus",
    "country": "DK",
    "timezone": "Europe/Copenhagen",
    "location": {"lat": 56.1572, "lon": 10.2107},
    "description": "Lamp-post air and climate probes.",
    "formats": ["ttn-v3"],
    "sources": [
        {
            "topic": "v3/aarhus-city-lab@ttn/devices/+/up",
            "format": "ttn-v3",
            "mapped_keys": {"temp_water": "waterTemperature"},
        }
    ],
}


class Lab(BaseModel):
    model_config = _example(_LAB_EXAMPLE)

    lab: str
    city: str
    name: str
    city_name: str
    country: str
    timezone: str
    location: Location
    description: str
    formats: list[str]
    sources: list[LabSource]


class LabList(BaseModel):
    model_config = _example({"labs": [_LAB_EXAMPLE]})

    labs: list[Lab]


# --- devices --------------------------------------------------------------------------


class DeviceQuantity(BaseModel):
    quantity: str
    last_seen: str = Field(description="RFC 3339 time of the latest reading of this quantity")
    last_value: float
    unit: str


_DEVICE_EXAMPLE: dict[str, Any] = {
    "city": "aarhus",
    "lab": "aarhus-city-lab",
    "device": "lamp-7",
    "last_seen": "2026-03-01T10:00:00.123456789Z",
    "location": {"lat": 56.1572, "lon": 10.2107},
    "quantities": [
        {"quantity": "pm25", "last_seen": "2026-03-01T10:00:00.123456789Z", "last_value": 7.25, "unit": "ug/m3"}
    ],
}


class Device(BaseModel):
    model_config = _example(_DEVICE_EXAMPLE)

    city: str
    lab: str
    device: str
    last_seen: str = Field(description="RFC 3339 time of the device's latest reading of any quantity")
    location: Location | None = Field(description="last reported position (the lab's location if none was sent)")
    quantities: list[DeviceQuantity]


class DeviceList(BaseModel):
    model_config = _example({"total": 1, "limit": 1000, "offset": 0, "next": None, "devices": [_DEVICE_EXAMPLE]})

    total: int
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null on the last page")
    devices: list[Device]


# --- quantities -----------------------------------------------------------------------


class ReferenceValue(BaseModel):
    name: str
    value: float
    unit: str
    period: str = Field(description="averaging period the value applies to: 1h, 8h, 24h, 1y")


_QUANTITY_EXAMPLE: dict[str, Any] = {
    "name": "pm25",
    "unit": "ug/m3",
    "description": "Particulate matter below 2.5 µm",
    "range": {"min": 0, "max": 2000, "unit": "ug/m3"},
    "references": [{"name": "WHO 2021 24 h guideline", "value": 15, "unit": "ug/m3", "period": "24h"}],
}


class ValueRange(BaseModel):
    min: float
    max: float
    unit: str


class QuantityOut(BaseModel):
    model_config = _example(_QUANTITY_EXAMPLE)

    name: str
    unit: str = Field(description="the canonical unit every stored reading has")
    description: str
    range: ValueRange = Field(description="readings outside this range are rejected as implausible")
    references: list[ReferenceValue] = Field(description="WHO 2021 guidelines and EU limits, where they exist")


class QuantityList(BaseModel):
    model_config = _example({"quantities": [_QUANTITY_EXAMPLE]})

    quantities: list[QuantityOut]


# --- readings -------------------------------------------------------------------------


class ReadingOut(BaseModel):
    time: str = Field(description="RFC 3339 UTC, up to nanoseconds")
    city: str
    lab: str
    device: str
    value: float
    unit: str
    lat: float | None
    lon: float | None


class RawReadings(BaseModel):
    model_config = _example(
        {
            "quantity": "pm25",
            "unit": "ug/m3",
            "from": "2026-03-01T00:00:00Z",
            "to": "2026-03-02T00:00:00Z",
            "limit": 1000,
            "offset": 0,
            "next": None,
            "readings": [
                {
                    "time": "2026-03-01T10:00:00Z",
                    "city": "aarhus",
                    "lab": "aarhus-city-lab",
                    "device": "lamp-7",
                    "value": 7.25,
                    "unit": "ug/m3",
                    "lat": 56.1572,
                    "lon": 10.2107,
                }
            ],
        }
    )

    quantity: str
    unit: str
    from_: str = Field(alias="from")
    to: str
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null on the last page")
    readings: list[ReadingOut]


class Bucket(BaseModel):
    time: str = Field(description="start of the bucket, RFC 3339 UTC; buckets are aligned to the epoch")
    value: float
    unit: str = Field(description="the quantity's unit, or 'readings' for agg=count")


class AggregatedReadings(BaseModel):
    model_config = _example(
        {
            "quantity": "pm25",
            "unit": "ug/m3",
            "agg": "mean",
            "every": "1h",
            "from": "2026-03-01T00:00:00Z",
            "to": "2026-03-02T00:00:00Z",
            "limit": 1000,
            "offset": 0,
            "next": None,
            "buckets": [{"time": "2026-03-01T10:00:00Z", "value": 7.25, "unit": "ug/m3"}],
        }
    )

    quantity: str
    unit: str
    agg: str
    every: str
    from_: str = Field(alias="from")
    to: str
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null on the last page")
    buckets: list[Bucket] = Field(description="buckets with no reading are left out")


# --- compare --------------------------------------------------------------------------


class Guideline(BaseModel):
    name: str
    value: float
    unit: str
    period: str


class CityAggregate(BaseModel):
    city: str
    readings: int = Field(description="number of readings in the range")
    mean: float | None = Field(description="mean of every reading in the range; null without data")
    max: float | None = Field(description="largest reading in the range; null without data")
    unit: str
    buckets_with_data: int
    coverage: float = Field(description="share of `every` buckets in the range with at least one reading, 0..1")
    hours_with_data: int = Field(description="clock hours (UTC) in the range with at least one reading")
    hours_above_who: int | None = Field(
        description="clock hours (UTC) whose city-wide hourly mean is above the WHO guideline; null if none exists"
    )


class Comparison(BaseModel):
    model_config = _example(
        {
            "quantity": "pm25",
            "unit": "ug/m3",
            "from": "2026-03-01T00:00:00Z",
            "to": "2026-03-02T00:00:00Z",
            "every": "1h",
            "buckets": 24,
            "who_guideline": {"name": "WHO 2021 24 h guideline", "value": 15, "unit": "ug/m3", "period": "24h"},
            "cities": [
                {
                    "city": "aarhus",
                    "readings": 96,
                    "mean": 8.4,
                    "max": 21.0,
                    "unit": "ug/m3",
                    "buckets_with_data": 24,
                    "coverage": 1.0,
                    "hours_with_data": 24,
                    "hours_above_who": 2,
                }
            ],
        }
    )

    quantity: str
    unit: str
    from_: str = Field(alias="from")
    to: str
    every: str
    buckets: int = Field(description="number of `every` buckets the range spans (epoch-aligned)")
    who_guideline: Guideline | None = Field(description="the WHO short-term guideline hours are counted against")
    cities: list[CityAggregate]


# --- dead letters ---------------------------------------------------------------------

_LETTER_EXAMPLE: dict[str, Any] = {
    "id": 2_000_000_000_042,
    "worker": "worker-2",
    "received_at": "2026-03-01T10:00:00.5Z",
    "topic": "v3/aarhus-city-lab@ttn/devices/harbour-2/up",
    "lab": "aarhus-city-lab",
    "codec": "ttn-v3",
    "reason_code": "out_of_range",
    "reason": "level_cm: waterLevel 25 m is outside -20..20",
    "payload_size": 412,
    "payload_preview": '{"uplink_message": {"decoded_payload": {"level_cm": 2500}}}',
}


class DeadLetterOut(BaseModel):
    model_config = _example(_LETTER_EXAMPLE)

    id: int = Field(
        description="unique across the data directory's stores: the letter's number in its store, plus "
        "i × 10^12 for the store of worker i (`citylab serve --workers`); what replay's `ids` take"
    )
    worker: str | None = Field(
        description="the worker whose store holds the letter (`worker-<i>` under the data directory); "
        "null: the data directory's own store (a single `citylab serve`)"
    )
    received_at: str
    topic: str
    lab: str | None
    codec: str | None
    reason_code: str
    reason: str
    payload_size: int
    payload_preview: str = Field(
        description="the start of the payload as text (invalid UTF-8 replaced); the store keeps it whole"
    )


class DeadLetterList(BaseModel):
    model_config = _example({"limit": 100, "offset": 0, "next": None, "dead_letters": [_LETTER_EXAMPLE]})

    limit: int
    offset: int
    next: str | None
    dead_letters: list[DeadLetterOut]


class ReplayRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lab": "aarhus-city-lab", "reason": "out_of_range", "limit": 100}]},
    )

    lab: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    reason: str | None = Field(default=None, pattern=r"^[a-z_]{1,40}$", description="a reason code")
    since: str | None = Field(
        default=None, pattern=RFC3339_PATTERN, description="RFC 3339: only dead letters received at or after this"
    )
    ids: list[int] | None = Field(default=None, description="only these dead letters", max_length=10_000)
    limit: int = Field(default=100, ge=1, description="how many dead letters to replay at most")
    dry_run: bool = Field(default=False, description="decode and report, but write and delete nothing")


class ReplayResult(BaseModel):
    model_config = _example(
        {
            "selected": 3,
            "decoded": 2,
            "still_failing": 1,
            "readings": 2,
            "readings_written": 2,
            "new_dead_letters": 0,
            "dry_run": False,
            "still_failing_reasons": {"decode_error": 1},
        }
    )

    selected: int = Field(description="dead letters that matched the selection")
    decoded: int = Field(description="dead letters whose message now decodes; removed unless dry_run")
    still_failing: int
    readings: int = Field(description="readings the selected messages now decode into (what a replay writes)")
    readings_written: int = Field(description="of those, the readings stored in InfluxDB; 0 on a dry run")
    new_dead_letters: int = Field(description="rejections the replay found that were not dead letters yet")
    dry_run: bool
    still_failing_reasons: dict[str, int]
