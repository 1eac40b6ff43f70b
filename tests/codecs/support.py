"""Shared helpers for codec tests: decode with a lab's source options, fixture cases, fuzzing strategies.

A fixture case is a folder ``adapters/<codec>/testdata/<case>/`` (Telegraf's ``testdata/<case>/`` layout):

- ``payload.<json|txt|jsonld>``: the message as a device or network server sends it;
- ``expected.jsonl``: the readings it gives, one per line in the ``citylab decode`` shape (a case
  without it is a payload other tests use, e.g. one that must fail);
- ``source.txt``: where the payload comes from;
- ``lab.yaml`` (optional): the lab config the case is read with, a copy trimmed to its one source, so
  that editing ``labs/`` never changes a codec test;
- ``case.yaml`` (optional): ``topic``, ``received_at`` (RFC 3339: fixes the receive time) and
  ``format`` (default: the folder's codec).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import strategies as st

from adapters import DecodeContext, get_codec
from core.model import DecodedMessage, RawObservation
from core.timeutil import parse_iso_ns
from hub.labs import LabConfig, Source, load_lab, load_labs
from hub.pipeline import Pipeline, Processed
from hub.topics import matches

ROOT = Path(__file__).resolve().parents[2]
RECEIVED_NS = parse_iso_ns("2026-03-01T12:00:00Z", None)
PAYLOAD_SUFFIXES = (".json", ".txt", ".jsonld")
CASE_KEYS = {"format", "topic", "received_at"}


@cache
def labs() -> dict[str, LabConfig]:
    return load_labs(ROOT / "labs")


def source_for(lab: str, format_name: str, topic: str = "") -> Source:
    candidates = [s for s in labs()[lab].sources if s.format == format_name]
    by_topic = [s for s in candidates if matches(s.topic, topic)] if topic else []
    return (by_topic or candidates)[0]


def _lab_and_source(
    lab: str | LabConfig | None, format_name: str, topic: str
) -> tuple[LabConfig | None, Source | None]:
    """A lab by slug (from labs/) or a case's own LabConfig, and its source for the format and topic."""
    if lab is None:
        return None, None
    config = labs()[lab] if isinstance(lab, str) else lab
    candidates = [s for s in config.sources if s.format == format_name]
    by_topic = [s for s in candidates if matches(s.topic, topic)] if topic else []
    found = by_topic or candidates
    assert found, f"lab {config.lab} has no {format_name} source"
    return config, found[0]


def decode(
    format_name: str, payload: bytes | str, *, topic: str = "", lab: str | LabConfig | None = None
) -> DecodedMessage:
    """Run only the codec, with the options the lab's source gives it."""
    codec = get_codec(format_name)
    options = codec.options_model()
    _, source = _lab_and_source(lab, format_name, topic)
    if source is not None:
        options = codec.parse_options(source.options)
    data = payload.encode() if isinstance(payload, str) else payload
    return codec.decode(data, DecodeContext(topic=topic, received_ns=RECEIVED_NS, options=options))


def process(
    format_name: str,
    payload: bytes | str,
    *,
    topic: str = "",
    lab: str | LabConfig | None = None,
    max_payload: int | None = None,
    received_ns: int = RECEIVED_NS,
) -> Processed:
    """The whole pipeline (codec + normaliser), as the service runs it."""
    config, source = _lab_and_source(lab, format_name, topic)
    pipeline = Pipeline() if max_payload is None else Pipeline(max_payload=max_payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return pipeline.process(
        data, format_name=format_name, received_ns=received_ns, topic=topic, lab=config, source=source
    )


def readings(format_name: str, payload: bytes | str, **kwargs: Any) -> list[tuple[str, float, str]]:
    processed = process(format_name, payload, **kwargs)
    assert processed.failure is None, processed.failure
    return [(r.quantity, r.value, r.device) for r in processed.result.readings]


def failure(format_name: str, payload: bytes | str, **kwargs: Any) -> tuple[str, str]:
    processed = process(format_name, payload, **kwargs)
    assert processed.failure is not None, f"expected a failure, got {processed.result}"
    return processed.failure.code, processed.failure.detail


@dataclass(frozen=True)
class FixtureCase:
    folder: Path
    format_name: str
    payload: bytes
    topic: str
    lab: LabConfig | None
    received_ns: int
    expected: Path | None

    @property
    def id(self) -> str:
        return f"{self.folder.parent.parent.name}/{self.folder.name}"


def payload_file(case: Path) -> Path:
    [payload] = [p for p in case.iterdir() if p.stem == "payload" and p.suffix in PAYLOAD_SUFFIXES]
    return payload


def load_case(case: Path) -> FixtureCase:
    codec = importlib.import_module(f"adapters.{case.parent.parent.name}.codec").CODEC
    settings_path = case / "case.yaml"
    settings = (yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}) if settings_path.exists() else {}
    unknown = set(settings) - CASE_KEYS
    assert not unknown, f"{case}/case.yaml: unknown keys {sorted(unknown)}"
    lab_path = case / "lab.yaml"
    expected = case / "expected.jsonl"
    return FixtureCase(
        folder=case,
        format_name=settings.get("format", codec.name),
        payload=payload_file(case).read_bytes(),
        topic=settings.get("topic", ""),
        lab=load_lab(lab_path) if lab_path.exists() else None,
        received_ns=parse_iso_ns(str(settings["received_at"]), None) if "received_at" in settings else RECEIVED_NS,
        expected=expected if expected.exists() else None,
    )


def fixture_cases(folder: str) -> list[FixtureCase]:
    """Every case in a codec's testdata: what the fixture test checks, and seeds for mutation fuzzing."""
    testdata = ROOT / "adapters" / folder / "testdata"
    return [load_case(case) for case in sorted(testdata.iterdir()) if case.is_dir()]


def fixture(folder: str, case: str) -> bytes:
    return payload_file(ROOT / "adapters" / folder / "testdata" / case).read_bytes()


def folder_of(format_name: str) -> str:
    for path in sorted((ROOT / "adapters").iterdir()):
        codec_file = path / "codec.py"
        if codec_file.exists() and importlib.import_module(f"adapters.{path.name}.codec").CODEC.name == format_name:
            return path.name
    raise LookupError(format_name)


# --- hypothesis strategies -------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    # Texts that look like numbers, times and units are where parsers slip.
    | st.sampled_from(
        [
            "1e999",
            "-1e999",
            "nan",
            "NaN",
            "inf",
            "2026-13-45T99:99:99",
            "2026-03-01T10:00:00",
            "1772362800",
            "1772362800123",
            "45%",
            "21.5Cel",
            "",
            " ",
            "0x10",
            "1_000",
            "Pa",
            "F",
        ]
    )
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def dump(value: Any) -> bytes:
    return orjson.dumps(value)


@st.composite
def mutated_json(draw: st.DrawFn, seed: Any) -> Any:
    """The seed document with one node replaced by random JSON, or one member deleted."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, (*path, index))

    walk(seed, ())
    path = draw(st.sampled_from(paths))
    document = orjson.loads(orjson.dumps(seed))
    if not path:
        return draw(json_values)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return document


def well_formed(decoded: DecodedMessage) -> None:
    """What the normaliser may rely on: the types RawObservation promises."""
    assert isinstance(decoded, DecodedMessage)
    for observation in decoded.observations:
        assert isinstance(observation, RawObservation)
        assert isinstance(observation.key, str)
        assert observation.unit is None or isinstance(observation.unit, str)
        assert observation.time is None or isinstance(observation.time, str | int)
        assert observation.device is None or isinstance(observation.device, str)
        for coordinate in (observation.lat, observation.lon, decoded.lat, decoded.lon):
            assert coordinate is None or (isinstance(coordinate, float) and math.isfinite(coordinate))
    assert decoded.device is None or isinstance(decoded.device, str)
    assert decoded.gateway_time is None or isinstance(decoded.gateway_time, str | int)
