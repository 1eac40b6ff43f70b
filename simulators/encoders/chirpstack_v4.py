"""ChirpStack v4 uplink events (OS2iot), as its MQTT integration publishes them in JSON.

``object`` is the device profile codec's output: Elsys / Milesight flat keys, or
CayenneLPP's nested channels (``{"temperatureSensor": {"1": 21.5}}``) for ``style: cayenne``.
``time`` is the network time with ChirpStack's ``+00:00`` offset; the device's position
travels as ``deviceInfo.tags``.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, Source
from simulators.encoders import LORAWAN_DECODER_KEYS, LORAWAN_KINDS, Encoder, Field, Sample, fill_topic

_CAYENNE = {
    "temperature": "temperatureSensor",
    "relativeHumidity": "humiditySensor",
    "atmosphericPressure": "barometer",
}
_UNIT_TEXT = {"F": "°F", "Cel": "°C"}


def _uuid(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(text.encode(), digest_size=16).digest()))


class ChirpstackV4Encoder(Encoder):
    format = "chirpstack-v4"
    kinds = LORAWAN_KINDS
    default_keys = LORAWAN_DECODER_KEYS

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        dev_eui = device.hub_id
        topic = fill_topic(source, dev_eui, dev_eui)
        levels = topic.split("/")
        application_id = levels[1] if len(levels) > 1 and levels[0] == "application" else _uuid(lab.lab)
        event_time = ns_to_rfc3339(sample.time_ns).replace("Z", "+00:00")
        options = source.options
        tags = {
            str(options.get("latitude_tag", "latitude")): f"{device.lat:.5f}",
            str(options.get("longitude_tag", "longitude")): f"{device.lon:.5f}",
        }
        # The device profile's name, as the operator named it: the hub reads the object with its profile.
        profile_name = device.name.split(",")[0] or device.kind
        event: dict[str, Any] = {
            "deduplicationId": _uuid(f"{dev_eui}:{sample.sequence}"),
            "time": event_time,
            "deviceInfo": {
                "tenantId": _uuid(f"{lab.lab}:tenant"),
                "tenantName": lab.name,
                "applicationId": application_id,
                "applicationName": f"{lab.city_name} sensors",
                "deviceProfileId": _uuid(f"{lab.lab}:{device.kind}:{device.style}"),
                "deviceProfileName": profile_name,
                "deviceName": device.name or dev_eui,
                "devEui": dev_eui,
                "deviceClassEnabled": "CLASS_A",
                "tags": tags,
            },
            "devAddr": hashlib.blake2b(dev_eui.encode(), digest_size=4).hexdigest(),
            "adr": True,
            "dr": 5 - sample.sequence % 3,
            "fCnt": sample.sequence,
            "fPort": 85,
            "confirmed": False,
            "data": base64.b64encode(
                hashlib.blake2b(f"{dev_eui}:{sample.sequence}".encode(), digest_size=11).digest()
            ).decode(),
            "object": self._object(
                self.fields(sample, source, spellings=self._spellings(sample), device_model=profile_name), sample
            ),
            "rxInfo": [
                {
                    "gatewayId": hashlib.blake2b(f"{lab.city}-gw".encode(), digest_size=8).hexdigest(),
                    "uplinkId": (sample.time_ns // 1000 + sample.sequence) % 2**32,
                    "nsTime": event_time,
                    "rssi": -60 - sample.sequence % 45,
                    "snr": 9.0 - sample.sequence % 14,
                    "channel": sample.sequence % 8,
                    "location": {},
                    "context": base64.b64encode(dev_eui.encode()[:4]).decode(),
                    "metadata": {"region_config_id": "eu868", "region_common_name": "EU868"},
                    "crcStatus": "CRC_OK",
                }
            ],
            "txInfo": {
                "frequency": 867100000 + 200000 * (sample.sequence % 8),
                "modulation": {
                    "lora": {"bandwidth": 125000, "spreadingFactor": 7 + sample.sequence % 3, "codeRate": "CR_4_5"}
                },
            },
        }
        return topic, orjson.dumps(event)

    @staticmethod
    def _spellings(sample: Sample) -> Mapping[str, str]:
        if sample.device.style != "cayenne":
            return LORAWAN_DECODER_KEYS
        # CayenneLPP nests channel 1 under the sensor name; the hub flattens it to "temperatureSensor.1".
        return {**LORAWAN_DECODER_KEYS, **{quantity: f"{name}.1" for quantity, name in _CAYENNE.items()}}

    def _object(self, fields: list[Field], sample: Sample) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for field in fields:
            value: Any = field.value
            if field.labelled:
                value = {"value": field.value, "unit": _UNIT_TEXT.get(field.unit, field.unit)}
            name, _, channel = field.key.partition(".")
            if sample.device.style == "cayenne" and _CAYENNE.get(field.quantity) == name and channel:
                decoded[name] = {channel: value}
            else:
                decoded[field.key] = value
        decoded["battery"] = 100 - sample.sequence % 60
        decoded.update(sample.extras)
        return decoded


ENCODER = ChirpstackV4Encoder()
