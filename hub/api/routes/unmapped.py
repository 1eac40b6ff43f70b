"""Keys ingest saw but could not map, or read only by a guess: per lab and device model, with a snippet
for the lab's YAML (the same listing as ``citylab labs unmapped``; see hub/read/unmapped.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from core.timeutil import ns_to_rfc3339
from hub.api.deps import LabsDep, ReadAccess, SettingsDep
from hub.api.params import LabQuery
from hub.api.problems import problem_responses
from hub.read import check_slug
from hub.read.unmapped import UnmappedEntry, unmapped_report

router = APIRouter(tags=["labs"], dependencies=[ReadAccess], responses=problem_responses(400, 401, 503))


_KEY_EXAMPLE: dict[str, Any] = {
    "lab": "aarhus-city-lab",
    "device_model": None,
    "profile": None,
    "key": "sensorTemperature",
    "guessed_as": "temperature",
    "count": 96,
    "sample": "21.5",
    "sample_kind": "number",
    "first_seen": "2026-03-01T00:00:12Z",
    "last_seen": "2026-03-01T23:45:10Z",
    "device": "vicki-7",
    "source": 0,
    "topic_filter": "v3/aarhus-city-lab@ttn/devices/+/up",
    "suggested_profiles": ["mclimate/vicki"],
    "snippet": "# labs/aarhus-city-lab.yaml, under sources.0 (v3/aarhus-city-lab@ttn/devices/+/up):\n"
    "mappings:\n  sensorTemperature: {quantity: temperature, unit: Cel}\n# profile: mclimate/vicki\n",
}


class UnmappedKeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})

    lab: str
    device_model: str | None = Field(description="the model the network (or the lab config) named; null: none")
    profile: str | None = Field(description="the device profile that applied; null: the aliases only")
    key: str = Field(description="the payload key, flattened (`bytes.temperature.values[0]`)")
    guessed_as: str | None = Field(
        description="the quantity a fallback guess read the key as (a device without a profile); null: unmapped"
    )
    count: int = Field(description="how often the key was seen")
    sample: str = Field(description="its latest value, as JSON")
    sample_kind: str = Field(description="number, numeric text, text, boolean, null")
    first_seen: str
    last_seen: str
    device: str = Field(description="the device that sent it last")
    source: int | None = Field(description="index of the lab's source (`sources.N`) the message came in on")
    topic_filter: str | None
    suggested_profiles: list[str] = Field(description="device profiles that know the key, the likeliest first")
    snippet: str = Field(description="YAML to paste under the source in labs/<lab>.yaml")


class UnmappedDropped(BaseModel):
    lab: str
    device_model: str | None
    count: int = Field(description="sightings of keys not stored: the store was full")
    last_seen: str


class UnmappedList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"unmapped": [_KEY_EXAMPLE], "dropped": [], "hidden": 0}]}
    )

    unmapped: list[UnmappedKeyOut]
    dropped: list[UnmappedDropped]
    hidden: int = Field(description="keys left out: now mapped by the lab config or a profile, or not numbers")


def entry_out(entry: UnmappedEntry) -> UnmappedKeyOut:
    return UnmappedKeyOut(
        lab=entry.lab,
        device_model=entry.device_model,
        profile=entry.profile,
        key=entry.key,
        guessed_as=entry.guess,
        count=entry.count,
        sample=entry.sample,
        sample_kind=entry.sample_kind,
        first_seen=ns_to_rfc3339(entry.first_ns),
        last_seen=ns_to_rfc3339(entry.last_ns),
        device=entry.device,
        source=entry.source,
        topic_filter=entry.topic_filter,
        suggested_profiles=list(entry.suggestions),
        snippet=entry.snippet,
    )


@router.get("/unmapped", summary="Keys seen but not mapped, or only guessed, per lab and device model")
def list_unmapped(
    settings: SettingsDep,
    labs: LabsDep,
    lab: LabQuery = None,
    all_values: Annotated[
        bool, Query(alias="all", description="also keys whose values are text, booleans or null")
    ] = False,
) -> UnmappedList:
    """Merged over the ingest data directory's stores (and its subdirectories'); a key today's lab config or a
    profile maps is left out."""
    lab = check_slug(lab, "lab", set(labs))
    report = unmapped_report([settings.data_dir], labs, lab=lab, include_text=all_values)
    return UnmappedList(
        unmapped=[entry_out(entry) for entry in report.entries],
        dropped=[
            UnmappedDropped(
                lab=gone.lab,
                device_model=gone.device_model or None,
                count=gone.count,
                last_seen=ns_to_rfc3339(gone.last_ns),
            )
            for gone in report.dropped
        ],
        hidden=report.hidden,
    )
