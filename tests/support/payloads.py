"""Native payloads of two labs for the integration tests: Aarhus (TTN v3) and Copenhagen (NGSI-LD)."""

from __future__ import annotations

import json

AARHUS_TOPIC = "v3/aarhus-city-lab@ttn/devices/{device}/up"
COPENHAGEN_TOPIC = "copenhagen-street-lab/ngsi-ld/AirQualityObserved"


def ttn_uplink(device: str, decoded: dict[str, object], gateway_time: str) -> bytes:
    return json.dumps(
        {
            "end_device_ids": {"device_id": f"payload-says-{device}", "application_ids": {"application_id": "acl"}},
            "received_at": gateway_time,
            "uplink_message": {
                "f_port": 1,
                "decoded_payload": decoded,
                "rx_metadata": [{"gateway_ids": {"gateway_id": "gw1"}, "time": gateway_time}],
                "received_at": gateway_time,
            },
        }
    ).encode()


def ngsi_notification(entity_id: str, observed: str, no2_ppb: float, pm25: float) -> bytes:
    return json.dumps(
        {
            "id": "urn:ngsi-ld:Notification:1",
            "type": "Notification",
            "subscriptionId": "urn:ngsi-ld:Subscription:1",
            "notifiedAt": "2026-01-01T00:00:00Z",
            "data": [
                {
                    "id": f"urn:ngsi-ld:AirQualityObserved:{entity_id}",
                    "type": "AirQualityObserved",
                    "dateObserved": {"type": "Property", "value": observed},
                    "no2": {"type": "Property", "value": no2_ppb, "unitCode": "61"},
                    "pm25": {"type": "Property", "value": pm25, "unitCode": "GQ"},
                    # A city in the payload must never reach the tags.
                    "city": {"type": "Property", "value": "oslo"},
                    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [12.5650, 55.6731]}},
                }
            ],
        }
    ).encode()
