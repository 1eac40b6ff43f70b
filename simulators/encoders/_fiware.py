"""What the two FIWARE IoT Agent encoders (UltraLight and JSON) share."""

from __future__ import annotations

from hub.labs import Source
from simulators.devices import Device
from simulators.encoders import GENERAL_KINDS, Encoder


class FiwareMultiMeasureEncoder(Encoder):
    """An IoT Agent device sends all its measures in one message, on a multi-measure topic."""

    kinds = GENERAL_KINDS

    def fit(self, device: Device, source: Source) -> int | None:
        # Multi-measure topics only: a single-attribute topic carries one value per message.
        if source.topic.endswith("/+"):
            return None
        return super().fit(device, source)
