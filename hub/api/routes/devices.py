"""Devices seen in InfluxDB: when each last reported, where, and which quantities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from core.names import MAX_SLUG_LENGTH, SLUG_PATTERN
from core.timeutil import ns_to_rfc3339
from hub.api.deps import InfluxDep, LabsDep, ReadAccess, VocabularyDep
from hub.api.models import Device, DeviceList, DeviceQuantity, Location
from hub.api.params import check_slug
from hub.api.problems import problem_responses
from hub.api.queries import DeviceSeries, Filters, fetch_device_locations, fetch_device_series, fetch_measurements

router = APIRouter(tags=["devices"], dependencies=[ReadAccess], responses=problem_responses(400, 401, 503))

MAX_DEVICES_PAGE = 5000


@router.get("/devices", summary="Devices seen, with last-seen time, location and quantities")
def list_devices(
    request: Request,
    influx: InfluxDep,
    labs: LabsDep,
    vocabulary: VocabularyDep,
    city: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus"])] = None,
    lab: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus-city-lab"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DEVICES_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeviceList:
    """Ordered by city, lab and device. `last_seen` is the newest reading of any quantity."""
    check_slug(city, "city", {config.city for config in labs.values()})
    check_slug(lab, "lab", set(labs))
    filters = Filters(city=city, lab=lab)
    # Only measurements that are quantities: the hub's own hub_stats points are not devices.
    quantities = [name for name in fetch_measurements(influx) if name in vocabulary.quantities]
    series = fetch_device_series(influx, quantities, filters)
    locations = fetch_device_locations(influx, quantities, filters)

    grouped: dict[tuple[str, str, str], list[DeviceSeries]] = {}
    for item in series:
        grouped.setdefault((item.city, item.lab, item.device), []).append(item)
    keys = sorted(grouped)
    devices: list[Device] = []
    for key in keys[offset : offset + limit]:
        items = sorted(grouped[key], key=lambda s: s.quantity)
        newest = max(items, key=lambda s: s.last_ns)
        where = locations.get((newest.quantity, *key)) or next(
            (locations[(s.quantity, *key)] for s in items if (s.quantity, *key) in locations), None
        )
        devices.append(
            Device(
                city=key[0],
                lab=key[1],
                device=key[2],
                last_seen=ns_to_rfc3339(newest.last_ns),
                location=Location(lat=where.lat, lon=where.lon) if where is not None else None,
                quantities=[
                    DeviceQuantity(
                        quantity=s.quantity,
                        last_seen=ns_to_rfc3339(s.last_ns),
                        last_value=s.last_value,
                        unit=vocabulary.quantities[s.quantity].unit,
                    )
                    for s in items
                ],
            )
        )
    more = offset + limit < len(keys)
    return DeviceList(
        total=len(keys),
        limit=limit,
        offset=offset,
        next=str(request.url.include_query_params(offset=offset + limit)) if more else None,
        devices=devices,
    )
