"""The Things Stack v3 uplink events, as the MQTT integration publishes them.

``decoded_payload`` holds what the device's payload formatter returns: flat Milesight /
Elsys keys by default, and Decentlab ``{displayName, unit, value}`` objects for
``style: decentlab`` devices.
The gateway's ``rx_metadata[].time`` is the measurement time the hub uses.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, Source
from hub.vocabulary import load_vocabulary
from simulators.encoders import LORAWAN_DECODER_KEYS, LORAWAN_KINDS, Encoder, Field, Sample, fill_topic

# Unit labels Decentlab and TTN formatters write.
_UNIT_TEXT = {"Cel": "°C", "F": "°F", "%": "%", "hPa": "hPa", "ug/m3": "µg/m³", "dBA": "dB(A)", "m": "m", "cm": "cm"}
_DECENTLAB_KEYS = {
    "temperature": "air_temperature",
    "relativeHumidity": "air_humidity",
    "atmosphericPressure": "barometric_pressure",
    "pm25": "pm2_5_mass_concentration",
    "pm10": "pm10_mass_concentration",
}


def _hex_id(device: str, size: int) -> str:
    return hashlib.blake2b(device.encode(), digest_size=size).hexdigest().upper()


class TtnV3Encoder(Encoder):
    format = "ttn-v3"
    kinds = LORAWAN_KINDS
    default_keys = LORAWAN_DECODER_KEYS

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        topic = fill_topic(source, device.hub_id, device.hub_id)
        application = topic.split("/")[1].split("@")[0] if topic.startswith("v3/") else lab.lab
        spellings = {**LORAWAN_DECODER_KEYS, **_DECENTLAB_KEYS} if device.style == "decentlab" else None
        fields = self.fields(sample, source, spellings=spellings)
        gateway_time = ns_to_rfc3339(sample.time_ns)
        received = ns_to_rfc3339(sample.time_ns + 180_000_000 + sample.sequence % 7 * 10_000_000)
        uplink: dict[str, Any] = {
            "session_key_id": base64.b64encode(
                hashlib.blake2b(device.hub_id.encode(), digest_size=16).digest()
            ).decode(),
            "f_port": 2 if device.style == "decentlab" else 85,
            "f_cnt": sample.sequence,
            "frm_payload": base64.b64encode(
                hashlib.blake2b(f"{device.hub_id}:{sample.sequence}".encode(), digest_size=11).digest()
            ).decode(),
            "decoded_payload": self._decoded(fields, sample),
            "rx_metadata": [
                {
                    "gateway_ids": {
                        "gateway_id": f"{lab.city}-gw-{1 + sample.sequence % 3}",
                        "eui": _hex_id(f"{lab.city}-gw", 8),
                    },
                    "time": gateway_time,
                    "timestamp": (sample.time_ns // 1000) % 2**32,
                    "rssi": -70 - sample.sequence % 40,
                    "channel_rssi": -70 - sample.sequence % 40,
                    "snr": 7.5 - sample.sequence % 12,
                    "uplink_token": base64.b64encode(device.hub_id.encode()).decode(),
                    "channel_index": sample.sequence % 8,
                    "received_at": received,
                }
            ],
            "settings": {
                "data_rate": {
                    "lora": {"bandwidth": 125000, "spreading_factor": 7 + sample.sequence % 3, "coding_rate": "4/5"}
                },
                "frequency": str(867100000 + 200000 * (sample.sequence % 8)),
                "timestamp": (sample.time_ns // 1000) % 2**32,
                "time": gateway_time,
            },
            "received_at": received,
            "consumed_airtime": "0.061696s",
            "locations": {"user": {"latitude": device.lat, "longitude": device.lon, "source": "SOURCE_REGISTRY"}},
            "network_ids": {
                "net_id": "000013",
                "tenant_id": "ttn",
                "cluster_id": "eu1",
                "cluster_address": "eu1.cloud.thethings.network",
            },
        }
        message = {
            "end_device_ids": {
                "device_id": device.hub_id,
                "application_ids": {"application_id": application},
                "dev_eui": _hex_id(device.hub_id, 8),
                "join_eui": "70B3D57ED0000000",
                "dev_addr": _hex_id(device.hub_id, 4),
            },
            "correlation_ids": [f"as:up:{_hex_id(f'{device.hub_id}:{sample.sequence}', 13)}"],
            "received_at": received,
            "uplink_message": uplink,
        }
        return topic, orjson.dumps(message)

    def _decoded(self, fields: list[Field], sample: Sample) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        style = sample.device.style
        for field in fields:
            if style == "decentlab":
                key = field.key
                decoded[key] = {
                    "displayName": key.replace("_", " ").capitalize(),
                    "unit": _UNIT_TEXT.get(field.unit, field.unit),
                    "value": field.value,
                }
                if not field.labelled and field.unit != self._decentlab_native(field.quantity):
                    # Firmware that changed unit but not its label: the label still says the old unit.
                    decoded[key]["unit"] = _UNIT_TEXT.get(self._decentlab_native(field.quantity), "")
            elif field.labelled:
                decoded[field.key] = {"value": field.value, "unit": _UNIT_TEXT.get(field.unit, field.unit)}
            else:
                decoded[field.key] = field.value
        decoded["battery"] = round(3.6 - (sample.sequence % 500) * 0.001, 3)
        decoded.update(sample.extras)
        return decoded

    @staticmethod
    def _decentlab_native(quantity: str) -> str:
        return load_vocabulary().quantities[quantity].unit


ENCODER = TtnV3Encoder()
