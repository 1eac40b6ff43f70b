"""OGC SensorThings API MQTT observation create: ``v1.0/Datastreams({id})/Observations``.

An Observation carries only ``result`` and times; what it measures and in which unit belong to its
Datastream. The lab config's datastream map supplies them: the codec emits the key ``Datastreams({id})``
and declares the map's meanings through ``option_mappings`` (or a deep-insert body carries the
Datastream inline, whose ObservedProperty name is the key).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters._json import load_json, require_object, type_name
from core.codec import Codec, DecodeContext, DecodeError
from core.model import DecodedMessage, KeyMapping, KeyMeaning, RawObservation

# Datastreams(1), Datastreams('abc'): the collection's navigation link in the topic (OGC 15-078r6 14.1).
_DATASTREAM_LEVEL = re.compile(r"^Datastreams\((?P<id>[^()]+)\)$")
_OBSERVATIONS = "Observations"


class Datastream(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # A canonical quantity name (see hub/data/quantities.yaml), checked when the lab loads like every mapping.
    quantity: str
    # The Datastream's unitOfMeasurement symbol; unset means the source's default_units, then the canonical unit.
    unit: str | None = None
    # The Thing the datastream belongs to; unset means "datastream-{id}".
    device: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _position_in_pairs(self) -> Datastream:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class SensorThingsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Datastream @iot.id (as text: 1 or abc) -> what its observations measure.
    datastreams: dict[str, Datastream] = Field(default_factory=dict)

    @field_validator("datastreams", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # YAML reads `1:` as an integer; ids are compared as text.
        if isinstance(value, dict):
            return {str(key): item for key, item in value.items()}
        return value


def datastream_key(stream_id: str) -> str:
    """The key an observation of a mapped datastream carries: ``Datastreams(3)``, as the topic names it."""
    return f"Datastreams({stream_id})"


class SensorThingsCodec(Codec):
    name = "sensorthings"
    options_model = SensorThingsOptions

    def option_mappings(self, options: BaseModel) -> tuple[KeyMapping, ...]:
        """Each mapped datastream: its key, and the quantity and unit the map gives it."""
        if not isinstance(options, SensorThingsOptions):
            return ()
        return tuple(
            KeyMapping(datastream_key(stream_id), KeyMeaning(stream.quantity, stream.unit), f"datastreams.{stream_id}")
            for stream_id, stream in options.datastreams.items()
        )

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        options = context.options if isinstance(context.options, SensorThingsOptions) else SensorThingsOptions()
        observation = require_object(load_json(payload, "Observation"), "Observation")
        if "result" not in observation:
            raise DecodeError("Observation.result: missing")
        result = observation["result"]
        if result is None:
            raise DecodeError("Observation.result: null")
        inline = observation.get("Datastream")
        if inline is not None:
            inline = require_object(inline, "Observation.Datastream")
        stream_id = _datastream_id(context.topic, inline)
        time = _time(observation)
        lat, lon = _feature_point(observation.get("FeatureOfInterest"))

        mapped = options.datastreams.get(stream_id) if stream_id is not None else None
        if mapped is not None and stream_id is not None:
            # The map's unit is the lab's word on the datastream (applied by the normaliser through
            # option_mappings); a unit an inline Datastream states counts only where the map gives none.
            unit = _inline_unit(inline) if inline and mapped.unit is None else None
            if mapped.lat is not None:
                lat, lon = mapped.lat, mapped.lon
            raw = RawObservation(key=datastream_key(stream_id), value=result, unit=unit, time=time, lat=lat, lon=lon)
            return DecodedMessage(observations=(raw,), device=mapped.device or f"datastream-{stream_id}")
        if inline is not None and "ObservedProperty" in inline:
            # A deep insert describes its new Datastream inline: its ObservedProperty names what is measured,
            # by a free-text name (the key) and, often, a definition URI.
            observed = inline.get("ObservedProperty")
            key = _name(observed, "Observation.Datastream.ObservedProperty")
            definition = _definition(observed)
            thing = inline.get("Thing")
            device = _name(thing, "Observation.Datastream.Thing") if thing is not None else None
            raw = RawObservation(
                key=key,
                value=result,
                unit=_inline_unit(inline),
                time=time,
                lat=lat,
                lon=lon,
                definition=definition,
            )
            return DecodedMessage(observations=(raw,), device=device)
        if stream_id is None:
            raise DecodeError(
                "Observation.Datastream: no datastream (the topic is not …/Datastreams({id})/Observations "
                "and the body names none)"
            )
        raise DecodeError(f"Datastreams({stream_id}): not in the lab's datastream map (options.datastreams)")


def _datastream_id(topic: str, inline: dict[str, Any] | None) -> str | None:
    from_topic = None
    levels = topic.split("/")
    if len(levels) >= 2 and levels[-1] == _OBSERVATIONS:
        match = _DATASTREAM_LEVEL.match(levels[-2])
        if match is not None:
            from_topic = match["id"].strip("'")
    from_body = None
    if inline is not None and "@iot.id" in inline:
        body_id = inline["@iot.id"]
        if isinstance(body_id, bool) or not isinstance(body_id, int | str):
            raise DecodeError(f"Observation.Datastream.@iot.id: expected an id, got {type_name(body_id)}")
        from_body = str(body_id)
    if from_topic is not None and from_body is not None and from_topic != from_body:
        raise DecodeError(
            f"Observation.Datastream.@iot.id: {from_body} contradicts the topic's Datastreams({from_topic})"
        )
    return from_topic or from_body


def _time(observation: dict[str, Any]) -> str | None:
    """phenomenonTime (an instant, or an interval "start/end" whose end is taken), else resultTime."""
    for member in ("phenomenonTime", "resultTime"):
        value = observation.get(member)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DecodeError(f"Observation.{member}: expected an ISO 8601 time or interval, got {type_name(value)}")
        if "/" in value:
            start, _, end = value.partition("/")
            if not start or not end or "/" in end:
                raise DecodeError(f"Observation.{member}: {value[:64]!r} is not a start/end interval")
            return end
        return value
    return None


def _inline_unit(inline: dict[str, Any]) -> str | None:
    unit = inline.get("unitOfMeasurement")
    if unit is None:
        return None
    symbol = require_object(unit, "Observation.Datastream.unitOfMeasurement").get("symbol")
    if symbol is not None and not isinstance(symbol, str):
        raise DecodeError(f"Observation.Datastream.unitOfMeasurement.symbol: expected text, got {type_name(symbol)}")
    return symbol


def _name(entity: Any, where: str) -> str:
    name = require_object(entity, where).get("name")
    if not isinstance(name, str) or not name:
        raise DecodeError(f"{where}.name: expected a non-empty name")
    return name


def _definition(observed: Any) -> str | None:
    """An ObservedProperty's ``definition`` (a URI), when it has one."""
    definition = observed.get("definition") if isinstance(observed, dict) else None
    if definition is None:
        return None
    if not isinstance(definition, str):
        raise DecodeError(
            f"Observation.Datastream.ObservedProperty.definition: expected text, got {type_name(definition)}"
        )
    return definition.strip() or None


def _feature_point(feature_of_interest: Any) -> tuple[float | None, float | None]:
    """A GeoJSON Point FeatureOfInterest ([lon, lat]); other geometries leave the position to the config."""
    if not isinstance(feature_of_interest, dict):
        return None, None
    feature = feature_of_interest.get("feature")
    if not isinstance(feature, dict) or feature.get("type") != "Point":
        return None, None
    coordinates = feature.get("coordinates")
    where = "Observation.FeatureOfInterest.feature.coordinates"
    if (
        not isinstance(coordinates, list)
        or len(coordinates) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates[:2])
    ):
        raise DecodeError(f"{where}: expected [lon, lat] numbers")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DecodeError(f"{where}: [{lon:g}, {lat:g}] is not a position")
    return lat, lon


CODEC = SensorThingsCodec()
