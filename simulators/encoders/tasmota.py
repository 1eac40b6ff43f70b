"""Tasmota ``tele/<device>/SENSOR`` telemetry from maker-built boards.

One object per attached sensor (``BME280``, ``SHT3X``, ``SDS0X1``), message-wide
``TempUnit`` and ``PressureUnit``, and ``Time`` as the board's local time without a zone
(the hub reads it in the lab's timezone). A board switched to Fahrenheit (``SetOption8 1``)
says so in ``TempUnit``, unless the firmware forgets to.

Like the real thing, a zoneless local time is ambiguous in the hour the clocks go back:
the hub reads it as the first of the two, so one hour a year lands an hour early.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import orjson

from hub.labs import LabConfig, Source
from simulators.encoders import Encoder, Sample, fill_topic

# Which sensor object and field each quantity travels in: the key the codec makes of it is
# "<sensor>.<field>", proposed to the hub's resolver like any spelling.
_PLACES = {
    "pm25": ("SDS0X1", "PM2.5"),
    "pm10": ("SDS0X1", "PM10"),
    "temperature": ("BME280", "Temperature"),
    "relativeHumidity": ("BME280", "Humidity"),
    "atmosphericPressure": ("BME280", "Pressure"),
}


class TasmotaEncoder(Encoder):
    format = "tasmota"
    kinds = frozenset({"particulates", "pm", "climate"})
    default_keys: ClassVar[Mapping[str, str]] = {}

    def encode(self, sample: Sample, lab: LabConfig, source: Source) -> tuple[str, bytes]:
        device = sample.device
        local = datetime.fromtimestamp(sample.time_ns // 1_000_000_000, lab.zone)
        # An SDS011 board without pressure uses the cheaper SHT3X for temperature and humidity.
        climate_sensor = "BME280" if "atmosphericPressure" in device.quantities else "SHT3X"
        message: dict[str, Any] = {"Time": local.strftime("%Y-%m-%dT%H:%M:%S")}
        temp_unit = "C"
        spellings = {
            quantity: f"{climate_sensor if sensor == 'BME280' else sensor}.{name}"
            for quantity, (sensor, name) in _PLACES.items()
        }
        for field in self.fields(sample, source, spellings=spellings):
            # "SDS0X1.PM2.5": the sensor object, then the field (which may have a dot of its own).
            sensor, dot, name = field.key.partition(".")
            if dot:
                message.setdefault(sensor, {})[name] = field.value
            else:
                message[field.key] = field.value
            if field.quantity == "temperature" and field.labelled and field.unit == "F":
                temp_unit = "F"
        # Tasmota rejects nothing it sends itself, but a boolean is no reading: leave those out.
        message.update({k: v for k, v in sample.extras.items() if not isinstance(v, bool)})
        if "temperature" in device.quantities:
            message["TempUnit"] = temp_unit
        if "atmosphericPressure" in device.quantities:
            message["PressureUnit"] = "hPa"
        return fill_topic(source, device.hub_id, device.hub_id), orjson.dumps(message)


ENCODER = TasmotaEncoder()
