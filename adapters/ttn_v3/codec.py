"""TTN v3 / The Things Stack uplink: ``v3/{app}@{tenant}/devices/{device}/up``."""

from __future__ import annotations

from typing import Any

from adapters._json import flatten_measurements, load_json, optional_str, require_object
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, RawObservation, new_tuple


class TtnV3Codec(Codec):
    name = "ttn-v3"

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        message = require_object(load_json(payload), "uplink")
        ids = require_object(message.get("end_device_ids", {}), "end_device_ids")
        device = optional_str(ids, "device_id", "end_device_ids")
        uplink = message.get("uplink_message")
        if uplink is None:
            raise DecodeError("uplink_message: missing (not an uplink event)")
        uplink = require_object(uplink, "uplink_message")

        # The normalized payload (TTN's schema, in fixed units) when the vendor's normalizer gave one;
        # the decoder's own output beside it, for a device profile to read instead.
        normalized = _normalized_payload(uplink)
        decoded = uplink.get("decoded_payload")
        native: list[RawObservation] = []
        if decoded is not None:
            native = list(flatten_measurements(require_object(decoded, "uplink_message.decoded_payload")))
        elif not normalized:
            raise DecodeError("uplink_message.decoded_payload: missing (no payload formatter configured?)")
        observations, native = (normalized, native) if normalized else (native, [])

        lat, lon = _registry_location(uplink)
        # Every field, in order (observations, device, device_model, gateway_time, lat, lon, native): new_tuple
        # spares seven keywords per uplink.
        model, gateway_time = _device_model(uplink), _gateway_time(message, uplink)
        return new_tuple(DecodedMessage, (tuple(observations), device, model, gateway_time, lat, lon, tuple(native)))


def _normalized_payload(uplink: dict[str, Any]) -> list[RawObservation]:
    """TTN's normalized payload: a list of measurements such as ``{"air": {"temperature": 1}}``."""
    entries = uplink.get("normalized_payload")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise DecodeError("uplink_message.normalized_payload: expected an array")
    observations: list[RawObservation] = []
    for index, entry in enumerate(entries):
        entry = require_object(entry, f"uplink_message.normalized_payload[{index}]")
        time = optional_str(entry, "time", f"uplink_message.normalized_payload[{index}]")
        measurements = {k: v for k, v in entry.items() if k != "time"}
        observations.extend(flatten_measurements(measurements, time=time))
    return observations


def _device_model(uplink: dict[str, Any]) -> str | None:
    """``"<brand_id>/<model_id>"`` from ``version_ids`` (the TTN device repository's names), when both are set."""
    ids = uplink.get("version_ids")
    if not isinstance(ids, dict):
        return None
    brand, model = ids.get("brand_id"), ids.get("model_id")
    if isinstance(brand, str) and isinstance(model, str) and brand and model:
        return f"{brand}/{model}"
    return None


def _gateway_time(message: dict[str, Any], uplink: dict[str, Any]) -> str | None:
    metadata = uplink.get("rx_metadata")
    if isinstance(metadata, list):
        for gateway in metadata:
            if isinstance(gateway, dict) and isinstance(gateway.get("time"), str):
                return str(gateway["time"])
    for candidate in (uplink.get("received_at"), message.get("received_at")):
        if isinstance(candidate, str):
            return candidate
    return None


def _registry_location(uplink: dict[str, Any]) -> tuple[float | None, float | None]:
    locations = uplink.get("locations")
    if not isinstance(locations, dict):
        return None, None
    for source in locations.values():
        if isinstance(source, dict):
            lat, lon = source.get("latitude"), source.get("longitude")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                return float(lat), float(lon)
    return None, None


CODEC = TtnV3Codec()
