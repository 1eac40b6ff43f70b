"""Every codec fixture case, through the real pipeline, must give exactly its expected readings.

A case is a folder ``adapters/<codec>/testdata/<case>/`` with its payload, ``expected.jsonl`` (one
reading per line, the ``citylab decode`` shape), ``source.txt``, and optionally its own ``lab.yaml``
and ``case.yaml`` (topic, received_at, format); see tests/codecs/support.py. The lab config is the
case's own copy: editing ``labs/`` can't change what a codec test expects.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from hub.readings_json import reading_to_dict
from tests.codecs.support import FixtureCase, fixture_cases, process

ROOT = Path(__file__).resolve().parent.parent


def _cases() -> list[FixtureCase]:
    cases = []
    for folder in sorted((ROOT / "adapters").glob("*/testdata")):
        cases.extend(case for case in fixture_cases(folder.parent.name) if case.expected is not None)
    return cases


CASES = _cases()


def test_every_codec_has_fixtures() -> None:
    from adapters import codecs

    covered = {case.format_name for case in CASES}
    assert set(codecs()) <= covered, f"codecs without fixtures: {sorted(set(codecs()) - covered)}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fixture_decodes_to_expected_readings(case: FixtureCase) -> None:
    processed = process(case.format_name, case.payload, topic=case.topic, lab=case.lab, received_ns=case.received_ns)

    assert processed.failure is None, f"{case.id}: {processed.failure}"
    assert case.expected is not None
    actual = [reading_to_dict(reading) for reading in processed.result.readings]
    expected = [orjson.loads(line) for line in case.expected.read_text(encoding="utf-8").splitlines() if line]
    assert actual == expected


def test_every_case_folder_has_a_payload_and_its_source() -> None:
    for testdata in sorted((ROOT / "adapters").glob("*/testdata")):
        assert all(path.is_dir() for path in testdata.iterdir()), f"{testdata}: one folder per case"
        for case in testdata.iterdir():
            names = {path.name for path in case.iterdir()}
            assert "source.txt" in names, f"{case} lacks source.txt"
            assert names <= {
                "payload.json",
                "payload.txt",
                "payload.jsonld",
                "expected.jsonl",
                "source.txt",
                "lab.yaml",
                "case.yaml",
            }, f"{case}: unexpected files {sorted(names)}"


def test_formats_doc_shows_each_fixture_and_its_current_readings() -> None:
    """docs/formats.md quotes fixtures; it must stay what the pipeline really produces."""
    doc = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    sections = re.findall(r"Fixture `(adapters/[^`]+)/`.*?Readings:\n\n```json\n(.*?)\n```", doc, flags=re.S)
    assert len(sections) == len(_formats()), "one example per format"
    for case_path, readings in sections:
        case = ROOT / case_path
        payload = next(case.glob("payload.*"))
        assert payload.read_text(encoding="utf-8").strip() in doc, f"{case_path} payload is not quoted as it is"
        expected = (case / "expected.jsonl").read_text(encoding="utf-8").strip()
        assert readings.strip() == expected, f"{case_path}: readings in docs/formats.md are out of date"


def _formats() -> set[str]:
    from adapters import codecs

    return set(codecs())
