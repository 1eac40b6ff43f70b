"""Generic JSON, written the way the lab's `options` say the hub should read it.

The mirror image of ``adapters/json``: long layout (one record per reading, named by
``key``, with ``value`` and ``unit``) or wide layout (one path per quantity). Device,
time and position go where their paths point. Paths are dotted (``position.lat``) or
simple JSONPath (``$.interval.end``, ``$.env['temp.c']``); a source using filters or
array indices is not simulated.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from hub.labs import LabConfig, Source
from hub.resolver import resolver_for
from simulators.devices import Device
from simulators.encoders import GENERAL_KINDS, Encoder, Sample, fill_topic, from_canonical, round_to

_JSONPATH_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\['([^']+)'\]")
_EPOCH_SCALE = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1, "auto": 1_000_000}


def path_parts(path: str) -> list[str] | None:
    """Object members along a path, or None when the path is more than members (indices, filters, wildcards)."""
    if not path.startswith("$"):
        parts = path.split(".")
        return None if any(not p or p.isdigit() for p in parts) else parts
    rest, parts = path[1:], []
    while rest:
        match = _JSONPATH_STEP.match(rest)
        if match is None:
            return None
        parts.append(match[1] or match[2])
        rest = rest[match.end() :]
    return parts or None


def put(document: dict[str, Any], path: str, value: Any) -> None:
    parts = path_parts(path)
    if parts is None:
        raise ValueError(f"can't write to path {path!r}")
    node = document
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _options(source: Source) -> dict[str, Any]:
    return dict(source.options)


class JsonEncoder(Encoder):
    format = "json"
    kinds = GENERAL_KINDS

    def fit(self, device: Device, source: Source) -> int | None:
        options = _options(source)
        fixed = [options.get(name) for name in ("records", "device", "time", "lat", "lon", "key", "value", "unit")]
        if any(path is not None and path_parts(path) is None for path in fixed):
            return None
        if options.get("device") is None and source.device_topic_level is None:
            return None  # nothing would name the device
        if options.get("key") is not None:
            return 100  # the long layout names each reading: anything fits
        values = options.get("values") or []
        paths = {v.get("quantity"): v.get("path") for v in values}
        if not set(device.quantities) <= set(paths) or any(
            path_parts(str(paths[q])) is None for q in device.quantities
        ):
            return None
        return len(values)  # the tighter a wide layout fits, the better

    def carries_time(self, source: Source) -> bool:
        return source.options.get("time") is not None

    def labels_units(self, source: Source) -> bool:
        options = _options(source)
        if options.get("key") is not None:
            return options.get("unit") is not None
        return any(v.get("quantity") == "temperature" and v.get("unit_path") for v in options.get("values") or [])

    def carries_extras(self, source: Source) -> bool:
        return source.options.get("key") is not None

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        options = _options(source)
        device = sample.device
        envelope: dict[str, Any] = {}
        if options.get("device"):
            put(envelope, options["device"], device.hub_id)
        if options.get("time"):
            scale = _EPOCH_SCALE[str(options.get("time_unit", "auto"))]
            put(envelope, options["time"], sample.time_ns // scale)
        if options.get("lat") and options.get("lon"):
            put(envelope, options["lat"], round(device.lat, 5))
            put(envelope, options["lon"], round(device.lon, 5))
        if options.get("key") is not None:
            records = self._long_records(sample, source, options)
        else:
            records = [self._wide_record(sample, source, options)]
        if options.get("records"):
            put(envelope, options["records"], records)
            document: Any = envelope
        else:
            document = (
                [{**envelope, **record} for record in records] if len(records) > 1 else {**envelope, **records[0]}
            )
        topic = fill_topic(source, device.hub_id, device.hub_id)
        return topic, orjson.dumps(document)

    def _long_records(self, sample: Sample, source: Source, options: dict[str, Any]) -> list[dict[str, Any]]:
        records = []
        for field in self.fields(sample, source):
            record: dict[str, Any] = {}
            put(record, options["key"], field.key)
            put(record, options["value"], field.value)
            if options.get("unit") and (field.labelled or field.quantity not in sample.unlabelled):
                put(record, options["unit"], field.unit)
            records.append(record)
        for key, value in sample.extras.items():
            record = {}
            put(record, options["key"], key)
            put(record, options["value"], value)
            records.append(record)
        return records

    def _wide_record(self, sample: Sample, source: Source, options: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        specs = {v["quantity"]: v for v in options.get("values") or []}
        resolver = resolver_for(self.format, source)
        for quantity, canonical in sample.values.items():
            spec = specs[quantity]
            # The path is the key; the hub's resolver knows its unit (the spec's, or the defaults).
            meaning = resolver.resolve(str(spec["path"]))
            if meaning is None or meaning.quantity != quantity:
                raise ValueError(f"json path {spec['path']!r} does not carry {quantity}")
            unit = sample.units.get(quantity) or resolver.default_unit(meaning)
            value: Any = sample.raw.get(quantity)
            if value is None:
                value = round_to(quantity, from_canonical(quantity, canonical, unit), unit)
            put(record, spec["path"], value)
            labelled = quantity in sample.units and quantity not in sample.unlabelled
            if spec.get("unit_path") and (labelled or quantity not in sample.units):
                put(record, spec["unit_path"], unit)
        return record


ENCODER = JsonEncoder()
