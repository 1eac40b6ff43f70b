"""Every codec fixture, through the real pipeline, must give exactly its expected readings.

A case is ``adapters/<codec>/testdata/<case>.<json|txt|jsonld>`` with a sibling
``<case>.expected.jsonl`` (one reading per line, the ``citylab decode`` shape) and an optional
``<case>.meta.yaml`` with ``format`` (default: the folder's codec), ``topic``, ``lab`` (slug of a
``labs/*.yaml``) and ``received_at`` (RFC 3339; fixes the receive time so the output is deterministic).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from core.timeutil import parse_iso_ns
from hub.labs import LabConfig, Source, load_labs
from hub.pipeline import Pipeline
from hub.readings_json import reading_to_dict
from hub.topics import matches

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD_SUFFIXES = (".json", ".txt", ".jsonld")
# Sidecar files share the payload suffixes; they are never payloads themselves.
SIDECARS = (".src.txt", ".expected.jsonl", ".meta.yaml")
# Without received_at, a fixed, recent receive time keeps payload times from being "in the future".
DEFAULT_RECEIVED_AT = "2026-03-01T12:00:00Z"
META_KEYS = {"format", "topic", "lab", "received_at"}


@dataclass(frozen=True)
class Case:
    payload: Path
    expected: Path
    meta: dict[str, Any]
    folder_format: str

    @property
    def id(self) -> str:
        return f"{self.payload.parent.parent.name}/{self.payload.name}"


def _cases() -> list[Case]:
    cases = []
    for folder in sorted((ROOT / "adapters").glob("*/testdata")):
        folder_format = importlib.import_module(f"adapters.{folder.parent.name}.codec").CODEC.name
        for payload in sorted(folder.iterdir()):
            if payload.name.endswith(SIDECARS) or payload.suffix not in PAYLOAD_SUFFIXES:
                continue
            stem = payload.name[: -len(payload.suffix)]
            expected = payload.with_name(f"{stem}.expected.jsonl")
            if not expected.exists():
                continue
            meta_path = payload.with_name(f"{stem}.meta.yaml")
            meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
            cases.append(Case(payload, expected, meta or {}, folder_format))
    return cases


@cache
def _labs() -> dict[str, LabConfig]:
    return load_labs(ROOT / "labs")


def _source(lab: LabConfig, format_name: str, topic: str) -> Source | None:
    candidates = [s for s in lab.sources if s.format == format_name]
    by_topic = [s for s in candidates if matches(s.topic, topic)]
    found = by_topic or candidates
    return found[0] if found else None


CASES = _cases()


def test_every_codec_has_fixtures() -> None:
    from adapters import codecs

    covered = {case.meta.get("format", case.folder_format) for case in CASES}
    assert set(codecs()) <= covered, f"codecs without fixtures: {sorted(set(codecs()) - covered)}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fixture_decodes_to_expected_readings(case: Case) -> None:
    unknown = set(case.meta) - META_KEYS
    assert not unknown, f"{case.id}: unknown meta keys {sorted(unknown)}"
    format_name = case.meta.get("format", case.folder_format)
    topic = case.meta.get("topic", "")
    lab = source = None
    if "lab" in case.meta:
        lab = _labs()[case.meta["lab"]]
        source = _source(lab, format_name, topic)
        assert source is not None, f"{case.id}: lab {lab.lab} has no {format_name} source"
    received_ns = parse_iso_ns(str(case.meta.get("received_at", DEFAULT_RECEIVED_AT)), None)

    processed = Pipeline().process(
        case.payload.read_bytes(),
        format_name=format_name,
        received_ns=received_ns,
        topic=topic,
        lab=lab,
        source=source,
    )

    assert processed.failure is None, f"{case.id}: {processed.failure}"
    actual = [reading_to_dict(reading) for reading in processed.result.readings]
    expected = [orjson.loads(line) for line in case.expected.read_text(encoding="utf-8").splitlines() if line]
    assert actual == expected


def test_formats_doc_shows_each_fixture_and_its_current_readings() -> None:
    """docs/formats.md quotes fixtures; it must stay what the pipeline really produces."""
    doc = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    sections = re.findall(r"Fixture `(adapters/[^`]+)`.*?Readings:\n\n```json\n(.*?)\n```", doc, flags=re.S)
    assert len(sections) == len(_formats()), "one example per format"
    for payload_path, readings in sections:
        payload = ROOT / payload_path
        stem = payload.name[: -len(payload.suffix)]
        assert payload.read_text(encoding="utf-8").strip() in doc, f"{payload_path} payload is not quoted as it is"
        expected = payload.with_name(f"{stem}.expected.jsonl").read_text(encoding="utf-8").strip()
        assert readings.strip() == expected, f"{payload_path}: readings in docs/formats.md are out of date"


def _formats() -> set[str]:
    from adapters import codecs

    return set(codecs())
