"""Faults real fleets produce, on demand: one kind at a time or mixed.

Message faults hit a share (``rate``) of messages: malformed payloads, wrong types,
out-of-range values, unknown keys, duplicates, late and out-of-order delivery.
Device faults change one device's behaviour for the rest of the run: a clock that runs
ahead, a device that goes silent, a firmware update that switches to °F.
"""

from __future__ import annotations

from dataclasses import dataclass

MESSAGE_FAULTS = ("malformed", "wrong_type", "out_of_range", "unknown_keys", "duplicate", "late", "out_of_order")
DEVICE_FAULTS = ("clock_skew", "silent", "unit_change", "unit_change_unlabelled")
FAULT_KINDS = MESSAGE_FAULTS + DEVICE_FAULTS

# A clock this far ahead is past the hub's 10-minute tolerance: live readings are rejected.
CLOCK_SKEW_NS = 45 * 60 * 1_000_000_000
# A late message is held back (gateway outage, store-and-forward) for 1 to 6 hours.
LATE_MIN_S, LATE_MAX_S = 3600, 6 * 3600

# Values firmware really sends when a sensor fails: error strings, empty text, "NaN".
# (Not booleans: the ngsi-ld codec reads a boolean traffic count as the number 1.)
WRONG_TYPES: tuple[object, ...] = ("ERR", "n/a", "", "NaN")
# Out-of-range values in the hub's unit: a sensor's 0x7FFF error code, a negative count.
OUT_OF_RANGE: dict[str, float] = {
    "temperature": 327.67,
    "relativeHumidity": 150.0,
    "atmosphericPressure": 0.0,
    "pm25": -3.0,
    "pm10": -3.0,
    "no2": -12.0,
    "LAeq": 200.0,
    "windSpeed": 655.35,
    "windDirection": 720.0,
    "precipitation": -1.0,
    "intensity": 65535.0 * 4,
    "occupancy": 180.0,
    "fillingLevel": 250.0,
    "waterTemperature": 85.0,
    "waterLevel": 99.0,
}
# Vendor keys no vocabulary maps: they reach the hub's "unmapped" count, never a reading.
UNKNOWN_KEYS: dict[str, object] = {"diag": 17, "fw_build": "2026.03r2", "crc_ok": True}


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Faults:
    """Which faults to inject, and in what share of messages the message faults appear."""

    kinds: frozenset[str] = frozenset()
    rate: float = 0.05

    def __post_init__(self) -> None:
        unknown = self.kinds - set(FAULT_KINDS)
        if unknown:
            raise FaultSpecError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise FaultSpecError(f"fault rate {self.rate} is not between 0 and 1")

    @classmethod
    def parse(cls, text: str, rate: float = 0.05) -> Faults:
        """``"malformed,late"``, ``"all"`` or ``""`` (none)."""
        names = {part.strip() for part in text.split(",") if part.strip()}
        if "all" in names:
            names = (names - {"all"}) | set(FAULT_KINDS)
        return cls(frozenset(names), rate)

    @property
    def message_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind in MESSAGE_FAULTS if kind in self.kinds)

    def __bool__(self) -> bool:
        return bool(self.kinds)


NO_FAULTS = Faults()
