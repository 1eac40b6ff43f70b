"""NGSI-LD notifications carrying FIWARE Smart Data Models, normalized form.

AirQualityObserved, WeatherObserved, NoiseLevelObserved, TrafficFlowObserved,
OffStreetParking and WasteContainer, as a context broker notifies a subscriber:
``unitCode`` (UN/CEFACT common codes) on every measured Property, ``dateObserved``
on the entity, ``refDevice`` naming the device. Smart Data Models state relative
humidity, occupancy and filling level as 0–1 fractions, and traffic ``intensity`` as
the vehicles counted over ``dateObservedFrom``/``dateObservedTo``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, Source
from simulators.encoders import Encoder, Sample, fill_topic

_ENTITY_TYPES = {
    "air_quality": "AirQualityObserved",
    "air": "AirQualityObserved",
    "weather": "WeatherObserved",
    "climate": "WeatherObserved",
    "noise": "NoiseLevelObserved",
    "traffic": "TrafficFlowObserved",
    "parking": "OffStreetParking",
    "waste": "WasteContainer",
}
# UN/CEFACT common codes: what NGSI-LD puts in unitCode.
_UNIT_CODES = {
    "Cel": "CEL",
    "F": "FAH",
    "ug/m3": "GQ",
    "ppb": "61",
    "hPa": "A97",
    "dBA": "2N",
    "m/s": "MTS",
    "deg": "DD",
    "mm": "MMT",
    "/": "C62",
    "%": "P1",
}
# Traffic counters report vehicles counted over this period.
_COUNT_PERIOD_S = 15 * 60
_CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
]


class NgsiLdEncoder(Encoder):
    format = "ngsi-ld"
    kinds = frozenset(_ENTITY_TYPES)

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        entity_type = _ENTITY_TYPES[device.kind]
        observed = ns_to_rfc3339(sample.time_ns)
        entity: dict[str, Any] = {
            "id": f"urn:ngsi-ld:{entity_type}:{device.hub_id}",
            "type": entity_type,
            "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": observed}},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [device.lon, device.lat]}},
            "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{device.hub_id}"},
        }
        if device.name:
            entity["name"] = {"type": "Property", "value": device.name}
        if device.kind == "traffic":
            start = ns_to_rfc3339(sample.time_ns - _COUNT_PERIOD_S * 1_000_000_000)
            entity["dateObservedFrom"] = {"type": "Property", "value": {"@type": "DateTime", "@value": start}}
            entity["dateObservedTo"] = {"type": "Property", "value": {"@type": "DateTime", "@value": observed}}
            entity["laneDirection"] = {"type": "Property", "value": "forward"}
        if device.kind == "noise":
            start = ns_to_rfc3339(sample.time_ns - 5 * 60 * 1_000_000_000)
            entity["dateObservedFrom"] = {"type": "Property", "value": {"@type": "DateTime", "@value": start}}
            entity["dateObservedTo"] = {"type": "Property", "value": {"@type": "DateTime", "@value": observed}}
        for field in self.fields(sample, source, context=entity_type):
            member: dict[str, Any] = {"type": "Property", "value": field.value}
            if (
                field.quantity == "intensity"
                and isinstance(field.value, int | float)
                and not isinstance(field.value, bool)
            ):
                member["value"] = round(field.value * _COUNT_PERIOD_S / 3600)
            elif field.quantity in ("relativeHumidity", "occupancy", "fillingLevel", "intensity"):
                pass  # fractions and counts carry no unitCode in Smart Data Models
            elif field.labelled or field.quantity not in sample.unlabelled:
                member["unitCode"] = _UNIT_CODES.get(field.unit, field.unit)
            entity[field.key] = member
        if device.kind == "parking":
            total = 120 + int(hashlib.blake2b(device.hub_id.encode(), digest_size=1).digest()[0])
            occupancy = sample.values.get("occupancy", 0.0)
            entity["totalSpotNumber"] = {"type": "Property", "value": total}
            entity["availableSpotNumber"] = {"type": "Property", "value": max(0, round(total * (1 - occupancy / 100)))}
        for key, value in sample.extras.items():
            entity[key] = {"type": "Property", "value": value}
        entity["@context"] = _CONTEXT
        notification_id = hashlib.blake2b(f"{device.hub_id}:{sample.sequence}".encode(), digest_size=12).hexdigest()
        notification = {
            "id": f"urn:ngsi-ld:Notification:{notification_id}",
            "type": "Notification",
            "subscriptionId": f"urn:ngsi-ld:Subscription:{lab.lab}",
            "notifiedAt": ns_to_rfc3339(sample.time_ns + 250_000_000),
            "data": [entity],
        }
        return fill_topic(source, device.hub_id, entity_type), orjson.dumps(notification)


ENCODER = NgsiLdEncoder()
