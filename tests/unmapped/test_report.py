"""The operator's loop: see what was not mapped, paste the snippet, and see it gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hub.labs import LabConfigError, load_labs
from hub.read.unmapped import UnmappedEntry, unmapped_report
from hub.unmapped import Sighting, UnmappedStore
from tests.conftest import LABS_DIR

T = 1_772_366_400_000_000_000
LAB = "aarhus-city-lab"
TOPIC = "v3/aarhus-city-lab@ttn/devices/{device}/up"
# A MClimate Vicki without version_ids: its keys are unknown or only guessed.
VICKI = {"sensorTemperature": 18.01, "batteryVoltage": 3.5, "motorPosition": 250, "targetTemperature": 29}


@pytest.fixture
def labs_dir(tmp_path: Path) -> Path:
    target = tmp_path / "labs"
    shutil.copytree(LABS_DIR, target)
    return target


def record(data_dir: Path, sightings: list[Sighting]) -> None:
    store = UnmappedStore(data_dir / "unmapped.sqlite3")
    store.record(sightings)
    store.close()


def vicki(device: str = "vicki-7") -> list[Sighting]:
    return [
        Sighting(
            LAB,
            None,
            key,
            value,
            T,
            device=device,
            topic=TOPIC.format(device=device),
            guess="temperature" if key == "sensorTemperature" else None,
        )
        for key, value in VICKI.items()
    ]


def paste(labs_dir: Path, entry: UnmappedEntry, replace: dict[str, str] | None = None) -> None:
    """What an operator does with a snippet: paste it under the source it names."""
    text = entry.snippet
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    path = labs_dir / f"{entry.lab}.yaml"
    config = yaml.safe_load(path.read_text())
    assert entry.source is not None
    source = config["sources"][entry.source]
    for name, value in yaml.safe_load(text).items():
        if isinstance(value, dict):
            source.setdefault(name, {}).update(value)
        else:
            source[name] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def by_key(entries: list[UnmappedEntry]) -> dict[str, UnmappedEntry]:
    return {entry.key: entry for entry in entries}


def test_unmapped_and_guessed_keys_with_the_profile_that_knows_them(tmp_path: Path) -> None:
    record(tmp_path, vicki())
    report = unmapped_report([tmp_path], load_labs(LABS_DIR), lab=LAB)
    entries = by_key(report.entries)
    assert set(entries) == set(VICKI)
    guessed = entries["sensorTemperature"]
    assert (guessed.guess, guessed.count, guessed.sample, guessed.device) == ("temperature", 1, "18.01", "vicki-7")
    assert (guessed.source, guessed.topic_filter) == (0, "v3/aarhus-city-lab@ttn/devices/+/up")
    assert entries["motorPosition"].guess is None
    # Only MClimate's profiles know these keys (MClimate's decoders share one key table).
    assert entries["motorPosition"].suggestions
    assert all(name.startswith("mclimate/") for entry in entries.values() for name in entry.suggestions)
    assert "# profile: mclimate/" in entries["motorPosition"].snippet


def test_a_pasted_snippet_maps_the_key_and_it_leaves_the_list(tmp_path: Path, labs_dir: Path) -> None:
    record(tmp_path / "data", vicki())
    entries = by_key(unmapped_report([tmp_path / "data"], load_labs(labs_dir), lab=LAB).entries)
    # A guessed key's snippet confirms the guess, ready to paste.
    paste(labs_dir, entries["sensorTemperature"])
    # An unmapped key's snippet needs a decision: pasted as it is, the lab config is refused, naming the key.
    paste(labs_dir, entries["targetTemperature"])
    with pytest.raises(LabConfigError, match=r"aarhus-city-lab.yaml: sources.0.mappings.targetTemperature"):
        load_labs(labs_dir)
    paste(labs_dir, entries["targetTemperature"], {"QUANTITY": "temperature", "UNIT": "Cel"})
    left = by_key(unmapped_report([tmp_path / "data"], load_labs(labs_dir), lab=LAB).entries)
    assert set(left) == {"batteryVoltage", "motorPosition"}


def test_naming_the_devices_profile_clears_every_key_it_knows(tmp_path: Path, labs_dir: Path) -> None:
    record(tmp_path / "data", vicki())
    entries = by_key(unmapped_report([tmp_path / "data"], load_labs(labs_dir), lab=LAB).entries)
    entry = entries["motorPosition"]
    model = entry.suggestions[0]
    # The alternative is a comment in the snippet: uncommented, it names the device's model.
    alternative = entry.snippet.split("# or for this device only:\n")[1].replace("# ", "")
    snippet = yaml.safe_load(alternative)
    assert snippet == {"devices": {"vicki-7": {"profile": model}}}
    path = labs_dir / f"{LAB}.yaml"
    config = yaml.safe_load(path.read_text())
    config["sources"][0].update(snippet)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    report = unmapped_report([tmp_path / "data"], load_labs(labs_dir), lab=LAB)
    assert report.entries == [] and report.hidden == len(VICKI)


def test_text_and_flags_are_listed_only_when_asked(tmp_path: Path) -> None:
    record(
        tmp_path,
        [
            Sighting(LAB, None, "fw_build", "2026.03r2", T, topic=TOPIC.format(device="d")),
            Sighting(LAB, None, "crc_ok", True, T, topic=TOPIC.format(device="d")),
            Sighting(LAB, None, "diag", "17", T, topic=TOPIC.format(device="d")),
        ],
    )
    labs = load_labs(LABS_DIR)
    assert [entry.key for entry in unmapped_report([tmp_path], labs).entries] == ["diag"]
    everything = unmapped_report([tmp_path], labs, include_text=True)
    assert sorted(entry.key for entry in everything.entries) == ["crc_ok", "diag", "fw_build"]


def test_a_profiled_devices_unknown_key_points_at_its_profile(tmp_path: Path) -> None:
    record(
        tmp_path,
        [Sighting(LAB, "elsys/ers", "newSensor", 4.2, T, device="ers-1", topic=TOPIC.format(device="ers-1"))],
    )
    (entry,) = unmapped_report([tmp_path], load_labs(LABS_DIR)).entries
    assert (entry.profile, entry.suggestions) == ("elsys/ers", ())
    assert "hub/data/profiles/elsys/ers.yaml" in entry.snippet
