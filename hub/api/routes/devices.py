"""Devices seen in InfluxDB: when each last reported, where, and which quantities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from core.timeutil import ns_to_rfc3339
from hub.api.deps import InfluxDep, LabsDep, ReadAccess, VocabularyDep
from hub.api.models import Device, DeviceList, DeviceQuantity, Location
from hub.api.params import CityQuery, LabQuery
from hub.api.problems import problem_responses
from hub.read import Filters, check_slug, list_devices
from hub.read.labs import known_cities

router = APIRouter(tags=["devices"], dependencies=[ReadAccess], responses=problem_responses(400, 401, 503))

MAX_DEVICES_PAGE = 5000


@router.get("/devices", summary="Devices seen, with last-seen time, location and quantities")
def get_devices(
    request: Request,
    influx: InfluxDep,
    labs: LabsDep,
    vocabulary: VocabularyDep,
    city: CityQuery = None,
    lab: LabQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DEVICES_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeviceList:
    """Ordered by city, lab and device. `last_seen` is the newest reading of any quantity."""
    check_slug(city, "city", known_cities(labs))
    check_slug(lab, "lab", set(labs))
    devices = list_devices(influx, vocabulary, Filters(city=city, lab=lab))
    page = devices[offset : offset + limit]
    return DeviceList(
        total=len(devices),
        limit=limit,
        offset=offset,
        next=str(request.url.include_query_params(offset=offset + limit)) if offset + limit < len(devices) else None,
        devices=[
            Device(
                city=device.city,
                lab=device.lab,
                device=device.device,
                last_seen=ns_to_rfc3339(device.last_ns),
                location=Location(lat=device.location.lat, lon=device.location.lon) if device.location else None,
                quantities=[
                    DeviceQuantity(
                        quantity=q.quantity, last_seen=ns_to_rfc3339(q.last_ns), last_value=q.last_value, unit=q.unit
                    )
                    for q in device.quantities
                ],
            )
            for device in page
        ],
    )
