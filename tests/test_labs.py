from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hub.labs import LabConfigError, load_lab, load_labs

ROOT = Path(__file__).resolve().parent.parent

VALID = {
    "lab": "test-lab",
    "city": "oslo",
    "name": "Test Lab",
    "city_name": "Oslo",
    "country": "NO",
    "timezone": "Europe/Oslo",
    "location": {"lat": 59.91, "lon": 10.75},
    "sources": [{"topic": "test-lab/senml/#", "format": "senml"}],
}


def write(directory: Path, data: dict, name: str | None = None) -> Path:
    path = directory / f"{name or data['lab']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def with_changes(**changes) -> dict:
    return {**VALID, **changes}


def test_shipped_lab_configs_load() -> None:
    labs = load_labs(ROOT / "labs")
    assert {"aarhus-city-lab", "copenhagen-street-lab"} <= set(labs)
    assert labs["aarhus-city-lab"].city == "aarhus"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"city": "Tromsø"}, "city: String should match pattern"),
        ({"timezone": "Europe/Atlantis"}, "timezone: Value error, unknown IANA timezone"),
        ({"country": "norway"}, "country: String should match pattern"),
        ({"location": {"lat": 95, "lon": 10}}, "location.lat: Input should be less than or equal to 90"),
        ({"sources": []}, "sources: List should have at least 1 item"),
        (
            {"sources": [{"topic": "#", "format": "senml"}]},
            "sources.0.topic: Value error, a lab's topic filter must start",
        ),
        (
            {"sources": [{"topic": "a/b#", "format": "senml"}]},
            "sources.0.topic: Value error, '#' must be a whole, last",
        ),
        ({"sources": [{"topic": "a/+", "format": "nope"}]}, "sources.0.format: unknown format 'nope'"),
        (
            {"sources": [{"topic": "a/+", "format": "senml", "mappings": {"t": {"quantity": "heat"}}}]},
            "sources.0.mappings.t.quantity: unknown quantity 'heat'",
        ),
        (
            {
                "sources": [
                    {"topic": "a/+", "format": "senml", "mappings": {"t": {"quantity": "temperature", "unit": "Pa"}}}
                ]
            },
            "sources.0.mappings.t.unit: 'Pa' can't be converted for temperature",
        ),
        (
            {"sources": [{"topic": "a/+", "format": "senml", "device_topic_level": 5}]},
            "sources.0: Value error, device_topic_level 5 is not a level",
        ),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        (
            {
                "sources": [
                    {
                        "topic": "a/+",
                        "format": "json",
                        "mappings": {"t": {"quantity": "temperature"}},
                        "options": {"values": [{"path": "t", "quantity": "pm10"}]},
                    }
                ]
            },
            "sources.0.options.values.0: key 't' is already mapped by mappings.t",
        ),
        (
            {"sources": [{"topic": "a/+", "format": "json", "options": {"values": [{"path": "t", "quantity": "x"}]}}]},
            "sources.0.options.values.0.quantity: unknown quantity 'x'",
        ),
        (
            {"sources": [{"topic": "a/+", "format": "senml", "options": {"values": []}}]},
            "sources.0.options: values: Extra inputs are not permitted",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, changes: dict, message: str) -> None:
    path = write(tmp_path, with_changes(**changes))
    with pytest.raises(LabConfigError) as error:
        load_lab(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("lab: [unclosed")
    with pytest.raises(LabConfigError, match=r"broken\.yaml: not valid YAML"):
        load_lab(path)


def test_labs_may_not_claim_each_others_topics(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    write(tmp_path, with_changes(lab="other-lab", sources=[{"topic": "test-lab/+/x", "format": "senml"}]))
    with pytest.raises(LabConfigError, match=r"overlaps 'test-lab/\+/x' of lab other-lab"):
        load_labs(tmp_path)


def test_file_name_must_match_the_lab(tmp_path: Path) -> None:
    write(tmp_path, VALID, name="something-else")
    with pytest.raises(LabConfigError, match=r"file name must be test-lab\.yaml"):
        load_labs(tmp_path)
