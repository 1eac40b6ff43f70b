"""ChirpStack v4 uplink event: ``application/{application_id}/device/{dev_eui}/event/up`` (JSON encoding)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from adapters._json import flatten_measurements, load_json, optional_str, parse_degrees, require_object
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage


class ChirpstackV4Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Which deviceInfo member names the device when the topic doesn't (device_topic_level unset).
    device_id: Literal["devEui", "deviceName"] = "devEui"
    # deviceInfo.tags holding the device's position as decimal-degree text (ChirpStack tags are strings).
    latitude_tag: str = "latitude"
    longitude_tag: str = "longitude"


class ChirpstackV4Codec(Codec):
    name = "chirpstack-v4"
    options_model = ChirpstackV4Options

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        options = context.options if isinstance(context.options, ChirpstackV4Options) else ChirpstackV4Options()
        _check_event(context.topic)
        event = require_object(load_json(payload, "uplink event"), "uplink event")
        info = require_object(event.get("deviceInfo", {}), "deviceInfo")
        device = optional_str(info, options.device_id, "deviceInfo")
        time = optional_str(event, "time", "uplink event")
        decoded = event.get("object")
        if decoded is None:
            raise DecodeError(
                "object: no decoded object (no codec configured in the device profile, so only the raw data came)"
            )
        observations = tuple(flatten_measurements(require_object(decoded, "object"), prefix=""))
        lat, lon = _tag_location(info, options)
        # The device profile's name, as the network operator gave it: it selects the hub's device profile.
        profile_name = info.get("deviceProfileName")
        device_model = profile_name if isinstance(profile_name, str) and profile_name else None
        return DecodedMessage(
            observations=observations,
            device=device,
            device_model=device_model,
            gateway_time=time,
            lat=lat,
            lon=lon,
        )


def _check_event(topic: str) -> None:
    """Only ``up`` events carry measurements; ``status``, ``join``, ``ack`` ... on a filter ending in ``#`` don't."""
    levels = topic.split("/")
    if len(levels) >= 2 and levels[-2] == "event" and levels[-1] != "up":
        raise DecodeError(f"topic {topic!r}: a {levels[-1]!r} event, not an uplink ('up') event")


def _tag_location(info: dict[str, Any], options: ChirpstackV4Options) -> tuple[float | None, float | None]:
    tags = info.get("tags")
    if tags is None:
        return None, None
    tags = require_object(tags, "deviceInfo.tags")
    if options.latitude_tag not in tags and options.longitude_tag not in tags:
        return None, None
    lat = _tag_degrees(tags, options.latitude_tag, 90.0)
    lon = _tag_degrees(tags, options.longitude_tag, 180.0)
    return lat, lon


def _tag_degrees(tags: dict[str, Any], name: str, limit: float) -> float:
    where = f"deviceInfo.tags.{name}"
    text = tags.get(name)
    if text is None:
        raise DecodeError(f"{where}: missing, but its partner coordinate tag is set")
    return parse_degrees(text, where, limit)


CODEC = ChirpstackV4Codec()
