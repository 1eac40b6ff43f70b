"""Simulated device fleets for every lab: each in its lab's native format, on its lab's topics.

The public API, small and stable (see simulators/README.md)::

    from simulators import build_fleet, publish, Faults

    fleet = build_fleet(load_labs(Path("labs")), seed=1)
    report = publish(fleet.backfill(start_ns, end_ns), "mqtt://127.0.0.1:1883")
"""

from __future__ import annotations

from simulators.faults import FAULT_KINDS, NO_FAULTS, Faults, FaultSpecError
from simulators.fleet import Fleet, SimDevice, Skipped, build_fleet
from simulators.message import SimMessage
from simulators.publisher import Publisher, PublishError, PublishReport, publish

__all__ = [
    "FAULT_KINDS",
    "NO_FAULTS",
    "FaultSpecError",
    "Faults",
    "Fleet",
    "PublishError",
    "PublishReport",
    "Publisher",
    "SimDevice",
    "SimMessage",
    "Skipped",
    "build_fleet",
    "publish",
]
