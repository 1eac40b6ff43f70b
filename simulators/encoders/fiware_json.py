"""FIWARE IoT Agent JSON measures: ``{"t": -3.5, "h": 81, "TimeInstant": "..."}`` on ``/json/{apikey}/{device}/attrs``.

Attributes are the lab's provisioned object ids (its `mappings`); ``TimeInstant`` is the
device's own time. A changed unit is written into the value as text (``"38.5F"``).
"""

from __future__ import annotations

from typing import Any

import orjson

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, Source
from simulators.encoders import Sample, fill_topic
from simulators.encoders._fiware import FiwareMultiMeasureEncoder


class FiwareJsonEncoder(FiwareMultiMeasureEncoder):
    format = "fiware-json"

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        measures: dict[str, Any] = {}
        for field in self.fields(sample, source):
            measures[field.key] = f"{field.value}{field.unit}" if field.labelled else field.value
        measures.update(sample.extras)
        measures["TimeInstant"] = ns_to_rfc3339(sample.time_ns)
        topic = fill_topic(source, sample.device.hub_id, sample.device.hub_id)
        return topic, orjson.dumps(measures)


ENCODER = FiwareJsonEncoder()
