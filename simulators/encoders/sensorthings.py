"""OGC SensorThings API observations, created over MQTT on ``v1.0/Datastreams({id})/Observations``.

An Observation carries only ``result`` and its times: the datastream (in the lab's
``datastreams`` map) says what and in which unit, so each simulated stream here is one
datastream, stored under the Thing the map names.
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.sensorthings.codec import datastream_key
from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, Source
from hub.resolver import resolver_for
from simulators.devices import Device
from simulators.encoders import Encoder, Sample, fill_topic, from_canonical, round_to


class SensorThingsEncoder(Encoder):
    format = "sensorthings"
    kinds = frozenset({"custom"})

    def fit(self, device: Device, source: Source) -> int | None:
        streams = source.options.get("datastreams", {})
        return 10 if device.channel and isinstance(streams, dict) and _spec(streams, device.channel) else None

    def labels_units(self, source: Source) -> bool:
        return False  # the unit belongs to the datastream, not the observation

    def carries_extras(self, source: Source) -> bool:
        return False  # an Observation has no place for vendor keys

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        (quantity,) = device.quantities
        # The key the hub reads this datastream's observations under, and the unit it assumes for them.
        resolver = resolver_for(self.format, source)
        meaning = resolver.resolve(datastream_key(device.channel))
        if meaning is None or meaning.quantity != quantity:
            raise ValueError(f"Datastreams({device.channel}) does not carry {quantity} in the lab's map")
        unit = sample.units.get(quantity, resolver.default_unit(meaning))
        result: Any = sample.raw.get(quantity)
        if result is None:
            result = round_to(quantity, from_canonical(quantity, sample.values[quantity], unit), unit)
        observation = {
            "phenomenonTime": ns_to_rfc3339(sample.time_ns),
            "resultTime": ns_to_rfc3339(sample.time_ns + 2_000_000_000),
            "result": result,
        }
        topic = fill_topic(source, f"Datastreams({device.channel})", device.hub_id)
        return topic, orjson.dumps(observation)


def _spec(streams: Any, channel: str) -> dict[str, Any]:
    """The map's entry for a datastream id; YAML may have read the id as a number."""
    if not isinstance(streams, dict):
        return {}
    for key, spec in streams.items():
        if str(key) == channel and isinstance(spec, dict):
            return spec
    return {}


ENCODER = SensorThingsEncoder()
