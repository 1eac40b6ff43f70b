"""SenML JSON packs (RFC 8428), as LwM2M and CoAP gateways forward them.

One pack per report: the base name names the device, the base time is the measurement
time in whole seconds, every record states its unit. A sensor that fails sends a
string value (``vs``) instead of a number.
"""

from __future__ import annotations

from typing import Any

import orjson

from hub.labs import LabConfig, Source
from simulators.encoders import GENERAL_KINDS, Encoder, Sample, fill_topic

# SenML unit symbols (RFC 8428 section 12.1 and the units the hub knows).
_SENML_UNITS = {"F": "Fah"}


class SenmlEncoder(Encoder):
    format = "senml"
    kinds = GENERAL_KINDS

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        seconds, rest = divmod(sample.time_ns, 1_000_000_000)
        base_time: float = seconds if rest == 0 else sample.time_ns / 1e9
        pack: list[dict[str, Any]] = []
        for index, field in enumerate(self.fields(sample, source)):
            record: dict[str, Any] = {"n": field.key}
            if index == 0:
                record = {"bn": f"{device.hub_id}:", "bt": base_time, **record}
            if field.labelled or field.quantity not in sample.unlabelled:
                unit = _SENML_UNITS.get(field.unit, field.unit)
                if field.quantity == "relativeHumidity" and field.unit == "%":
                    unit = "%RH"
                record["u"] = unit
            if isinstance(field.value, int | float) and not isinstance(field.value, bool):
                record["v"] = field.value
            else:
                # A failed sensor's text; a boolean too, since `vb` records are never readings.
                record["vs"] = str(field.value).lower() if isinstance(field.value, bool) else str(field.value)
            pack.append(record)
        for key, value in sample.extras.items():
            if isinstance(value, bool):
                pack.append({"n": key, "vb": value})
            elif isinstance(value, int | float):
                pack.append({"n": key, "v": value})
            else:
                pack.append({"n": key, "vs": str(value)})
        return fill_topic(source, device.hub_id, device.hub_id), orjson.dumps(pack)


ENCODER = SenmlEncoder()
