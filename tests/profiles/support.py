"""Device profiles' examples and the TTN device-repository corpus, run through the real pipeline.

An example is a vendor's published decoder output (``decoded_payload``) with the readings the hub must
store (``expected``: quantity, value, canonical unit), the values it must refuse (``rejected``) and,
where the vendor published its normalized output, the oracle derived from it (``oracle``). Examples
live beside their profile: ``hub/data/profiles/<vendor>/testdata/<profile>.yaml``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from core.model import Reading
from core.timeutil import now_ns
from hub.labs import LabConfig
from hub.pipeline import Pipeline, Processed
from hub.resolver import TESTDATA, Profile, shipped_profiles

ROOT = Path(__file__).resolve().parents[2]
PROFILES = Path(str(resources.files("hub.data").joinpath("profiles")))
CORPUS = ROOT / "tests" / "data" / "device-corpus" / "ttn-device-repo.jsonl"
TIME = "2024-05-01T12:00:00Z"
# check.py's tolerance: within 1e-3 relative or 0.011 absolute
REL_TOL, ABS_TOL = 1e-3, 0.011

LAB = LabConfig.model_validate(
    {
        "lab": "profile-lab",
        "city": "aarhus",
        "name": "Device profile test lab",
        "city_name": "Aarhus",
        "country": "DK",
        "timezone": "Europe/Copenhagen",
        "location": {"lat": 56.1572, "lon": 10.2107},
        "sources": [{"topic": "v3/profile-lab@ttn/devices/+/up", "format": "ttn-v3", "device_topic_level": 3}],
    }
)
SOURCE = LAB.sources[0]

# The normalized schema's fields with a counterpart in the vocabulary (the corpus README's table); `soil.*` as
# the drafts read it, for contradictions only.
NORMALIZED_MEANING = {
    ("air", "temperature"): "temperature",
    ("air", "relativeHumidity"): "relativeHumidity",
    ("air", "pressure"): "atmosphericPressure",
    ("air", "co2"): "co2",
    ("air", "lightIntensity"): "illuminance",
    ("wind", "speed"): "windSpeed",
    ("wind", "direction"): "windDirection",
    ("water", "temperature"): "waterTemperature",
    ("soil", "temperature"): "soilTemperature",
    ("soil", "moisture"): "soilMoistureVwc",
}
PHYSICAL_ROOTS = ("air", "wind", "soil", "water")


@dataclass(frozen=True)
class Example:
    profile: Profile
    index: int
    description: str
    f_port: int | None
    decoded_payload: dict[str, Any]
    expected: list[list[Any]]
    rejected: list[list[Any]] = field(default_factory=list)
    normalized: Any = None
    oracle: list[list[Any]] | None = None
    oracle_disagreement: str | None = None

    @property
    def id(self) -> str:
        return f"{self.profile.model}[{self.index}]"


def examples_file(profile: Profile) -> Path:
    vendor, file = profile.origin.removeprefix("profiles/").split("/")
    return PROFILES / vendor / TESTDATA / file


@cache
def examples() -> list[Example]:
    found = []
    for profile in shipped_profiles().files():
        data = yaml.safe_load(examples_file(profile).read_text(encoding="utf-8"))
        for index, raw in enumerate(data["examples"]):
            found.append(
                Example(
                    profile=profile,
                    index=index,
                    description=raw["description"],
                    f_port=raw.get("f_port"),
                    decoded_payload=raw["decoded_payload"],
                    expected=raw["expected"],
                    rejected=raw.get("rejected", []),
                    normalized=raw.get("normalized"),
                    oracle=raw.get("oracle"),
                    oracle_disagreement=raw.get("oracle_disagreement"),
                )
            )
    return found


@cache
def corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def uplink(decoded_payload: Any, device: str, f_port: int | None = None, model: str | None = None) -> bytes:
    """A minimal The Things Stack uplink, as check.py builds one; with TTN's version_ids when ``model`` is given."""
    message: dict[str, Any] = {
        "f_port": f_port if isinstance(f_port, int) else 1,
        "decoded_payload": decoded_payload,
        "received_at": TIME,
        "rx_metadata": [{"time": TIME}],
    }
    if model is not None:
        brand, model_id = model.split("/", 1)
        message["version_ids"] = {"brand_id": brand, "model_id": model_id}
    return json.dumps(
        {"end_device_ids": {"device_id": device}, "received_at": TIME, "uplink_message": message}
    ).encode()


def run(
    decoded_payload: Any, *, device: str = "dev-1", f_port: int | None = None, model: str | None = None
) -> Processed:
    return Pipeline().process(
        uplink(decoded_payload, device, f_port, model),
        format_name="ttn-v3",
        received_ns=now_ns(),
        topic=f"v3/profile-lab@ttn/devices/{device}/up",
        lab=LAB,
        source=SOURCE,
    )


def close(a: float, b: float) -> bool:
    return abs(a - b) <= max(REL_TOL * abs(b), ABS_TOL)


def triples(readings: list[Reading]) -> list[tuple[str, float, str]]:
    return [(r.quantity, r.value, r.unit) for r in readings]


def same_readings(got: list[tuple[str, float, str]], wanted: list[list[Any]]) -> bool:
    """The same readings, each value within the tolerance, in any order."""
    if len(got) != len(wanted):
        return False
    left = list(got)
    for quantity, value, unit in wanted:
        hit = next((r for r in left if r[0] == quantity and r[2] == unit and close(r[1], float(value))), None)
        if hit is None:
            return False
        left.remove(hit)
    return True


def normalized_leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """Every physical number of a normalized output with its path (list indices skipped)."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in normalized_leaves(item, (*path, str(key)))]
    if isinstance(value, list):
        return [leaf for item in value for leaf in normalized_leaves(item, path)]
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return [(path, float(value))] if path and path[0] in PHYSICAL_ROOTS else []
    return []


def leaf_meaning(path: tuple[str, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "water" and path[1] == "temperature":
        return "waterTemperature"
    for pair in ((path[0], path[-1]), tuple(path[:2])):
        if len(path) >= 2 and pair in NORMALIZED_MEANING:
            return NORMALIZED_MEANING[pair]  # type: ignore[index]
    return None


def contradictions(got: list[tuple[str, float, str]], oracle: list[list[Any]], normalized: Any) -> list[str]:
    """Readings that contradict the vendor's normalized output: a second reading of an oracle quantity with
    another value, or a value the normalized output files under another meaning (check.py's `extra`)."""
    left = list(got)
    for quantity, value, unit in oracle:
        hit = next((r for r in left if r[0] == quantity and r[2] == unit and close(r[1], float(value))), None)
        if hit is not None:
            left.remove(hit)
    problems = []
    oracle_quantities = {entry[0] for entry in oracle}
    leaves = normalized_leaves(normalized)
    for quantity, value, unit in left:
        if quantity in oracle_quantities:
            problems.append(f"a second {quantity} reading, {value} {unit}")
            continue
        for path, number in leaves:
            if close(value, number) and leaf_meaning(path) != quantity:
                problems.append(f"{quantity} {value} {unit}, which the normalized output files under {'.'.join(path)}")
    return problems
