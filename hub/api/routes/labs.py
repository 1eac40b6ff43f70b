"""The labs in the network, from their config files (no secrets: no MQTT users, no options)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from core.names import MAX_SLUG_LENGTH, SLUG_PATTERN
from hub.api.deps import LabsDep, ReadAccess
from hub.api.models import Lab, LabList, LabSource, Location
from hub.api.problems import problem_responses
from hub.labs import LabConfig
from hub.read.labs import find_lab

router = APIRouter(tags=["labs"], dependencies=[ReadAccess], responses=problem_responses(401, 503))


def lab_out(config: LabConfig) -> Lab:
    return Lab(
        lab=config.lab,
        city=config.city,
        name=config.name,
        city_name=config.city_name,
        country=config.country,
        timezone=config.timezone,
        location=Location(lat=config.location.lat, lon=config.location.lon),
        description=config.description,
        formats=sorted({source.format for source in config.sources}),
        sources=[
            LabSource(
                topic=source.topic,
                format=source.format,
                mapped_keys={mapping.key: mapping.meaning.quantity for mapping in source.key_mappings},
            )
            for source in config.sources
        ],
    )


@router.get("/labs", summary="Every lab: city, names, formats and topics")
def list_labs(labs: LabsDep) -> LabList:
    return LabList(labs=[lab_out(labs[name]) for name in sorted(labs)])


@router.get("/labs/{lab}", summary="One lab", responses=problem_responses(400, 404))
def get_lab(
    labs: LabsDep,
    lab: Annotated[str, Path(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus-city-lab"])],
) -> Lab:
    return lab_out(find_lab(labs, lab))
