"""Shared helpers for codec tests: decode with a lab's source options, fixture payloads, fuzzing strategies."""

from __future__ import annotations

import importlib
import math
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import strategies as st

from adapters import DecodeContext, get_codec
from core.model import DecodedMessage, RawObservation
from core.timeutil import parse_iso_ns
from hub.labs import LabConfig, Source, load_labs
from hub.pipeline import Pipeline, Processed
from hub.topics import matches

ROOT = Path(__file__).resolve().parents[2]
RECEIVED_NS = parse_iso_ns("2026-03-01T12:00:00Z", None)
SIDECARS = (".src.txt", ".expected.jsonl", ".meta.yaml")


@cache
def labs() -> dict[str, LabConfig]:
    return load_labs(ROOT / "labs")


def source_for(lab: str, format_name: str, topic: str = "") -> Source:
    candidates = [s for s in labs()[lab].sources if s.format == format_name]
    by_topic = [s for s in candidates if matches(s.topic, topic)] if topic else []
    return (by_topic or candidates)[0]


def decode(format_name: str, payload: bytes | str, *, topic: str = "", lab: str | None = None) -> DecodedMessage:
    """Run only the codec, with the options the lab's source gives it."""
    codec = get_codec(format_name)
    options = codec.options_model()
    if lab is not None:
        options = codec.parse_options(source_for(lab, format_name, topic).options)
    data = payload.encode() if isinstance(payload, str) else payload
    return codec.decode(data, DecodeContext(topic=topic, received_ns=RECEIVED_NS, options=options))


def process(
    format_name: str, payload: bytes | str, *, topic: str = "", lab: str | None = None, max_payload: int | None = None
) -> Processed:
    """The whole pipeline (codec + normaliser), as the service runs it."""
    config = labs()[lab] if lab is not None else None
    source = source_for(lab, format_name, topic) if lab is not None else None
    pipeline = Pipeline() if max_payload is None else Pipeline(max_payload=max_payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return pipeline.process(
        data, format_name=format_name, received_ns=RECEIVED_NS, topic=topic, lab=config, source=source
    )


def readings(format_name: str, payload: bytes | str, **kwargs: Any) -> list[tuple[str, float, str]]:
    processed = process(format_name, payload, **kwargs)
    assert processed.failure is None, processed.failure
    return [(r.quantity, r.value, r.device) for r in processed.result.readings]


def failure(format_name: str, payload: bytes | str, **kwargs: Any) -> tuple[str, str]:
    processed = process(format_name, payload, **kwargs)
    assert processed.failure is not None, f"expected a failure, got {processed.result}"
    return processed.failure.code, processed.failure.detail


def fixture(folder: str, name: str) -> bytes:
    return (ROOT / "adapters" / folder / "testdata" / name).read_bytes()


def fixture_cases(folder: str) -> list[tuple[bytes, dict[str, Any]]]:
    """Every payload in a codec's testdata with its meta (topic, lab): seeds for mutation fuzzing."""
    cases = []
    for path in sorted((ROOT / "adapters" / folder / "testdata").iterdir()):
        if path.name.endswith(SIDECARS) or path.suffix not in (".json", ".txt", ".jsonld"):
            continue
        meta_path = path.with_name(path.name[: -len(path.suffix)] + ".meta.yaml")
        meta = yaml.safe_load(meta_path.read_text()) if meta_path.exists() else {}
        cases.append((path.read_bytes(), meta or {}))
    return cases


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
