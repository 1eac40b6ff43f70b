"""FIWARE IoT Agent UltraLight 2.0 measures: ``2026-03-01T10:00:00Z|t|-3.5|h|81`` on ``/ul/{apikey}/{device}/attrs``.

Attributes are the object ids the lab provisioned (its `mappings`), values are text,
and the group starts with the device's own time. A firmware that changed unit writes it
after the number (``38.5F``).
"""

from __future__ import annotations

import random

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig, Source
from simulators.encoders import Sample, fill_topic
from simulators.encoders._fiware import FiwareMultiMeasureEncoder


def measure_text(value: object, unit: str | None) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value) if value != "" else "null"  # an empty value is a truncated message, not a bad reading
    return f"{text}{unit}" if unit else text


class FiwareUlEncoder(FiwareMultiMeasureEncoder):
    format = "fiware-ul"

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        parts = [ns_to_rfc3339(sample.time_ns)]
        for field in self.fields(sample, source):
            parts += [field.key, measure_text(field.value, field.unit if field.labelled else None)]
        for key, value in sample.extras.items():
            parts += [key, measure_text(value, None)]
        topic = fill_topic(source, sample.device.hub_id, sample.device.hub_id)
        return topic, "|".join(parts).encode()

    def malform(self, payload: bytes, rng: random.Random) -> bytes:
        """A message cut off right after an attribute name, or bytes that aren't text at all."""
        if rng.random() < 0.5:
            text = payload.decode()
            bars = [i for i, char in enumerate(text) if char == "|"]
            # Field 0 is the time; cutting after an odd-numbered bar leaves a name without its value.
            cut = bars[rng.randrange(1, len(bars), 2)] if len(bars) > 1 else len(text)
            return text[: cut + 1].encode()
        return b"\xff\xfe" + bytes(rng.randrange(256) for _ in range(rng.randint(8, 30)))


ENCODER = FiwareUlEncoder()
