"""Lab configs are cached, reloaded when a file changes, and a broken edit keeps the last good ones."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from hub.labs import load_labs
from hub.read import LabCatalog, NotFound, Unavailable
from hub.read.labs import find_lab, fingerprint, known_cities
from tests.conftest import LABS_DIR

AARHUS = "aarhus-city-lab.yaml"


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, directory: Path):
        self.calls += 1
        return load_labs(directory)


@pytest.fixture
def labs(tmp_path: Path) -> Path:
    directory = tmp_path / "labs"
    shutil.copytree(LABS_DIR, directory)
    return directory


def touch_later(path: Path) -> None:
    """Give the file a new mtime even on a coarse clock."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_configs_are_read_once_while_nothing_changes(labs):
    loader = CountingLoader()
    catalog = LabCatalog(labs, loader=loader)
    first = catalog.current()
    for _ in range(5):
        assert catalog.current() is first
    assert loader.calls == 1
    assert "aarhus" in known_cities(first)


def test_an_edit_applies_to_the_next_read(labs):
    catalog = LabCatalog(labs)
    assert catalog.current()["aarhus-city-lab"].name == "Aarhus City Lab"
    config = labs / AARHUS
    config.write_text(config.read_text().replace("name: Aarhus City Lab", "name: Aarhus Lab, renamed"))
    touch_later(config)
    assert catalog.current()["aarhus-city-lab"].name == "Aarhus Lab, renamed"


def test_added_and_removed_configs_are_seen(labs):
    catalog = LabCatalog(labs)
    before = set(catalog.current())
    (labs / AARHUS).unlink()
    assert set(catalog.current()) == before - {"aarhus-city-lab"}


def test_a_broken_edit_keeps_the_last_good_configs_and_says_so(labs, caplog):
    catalog = LabCatalog(labs)
    good = catalog.current()
    config = labs / AARHUS
    config.write_text("lab: [unclosed\n")
    touch_later(config)
    with caplog.at_level(logging.WARNING, logger="hub.read.labs"):
        assert catalog.current() is good
        assert catalog.current() is good
    warnings = [r for r in caplog.records if "can't be loaded" in r.getMessage()]
    assert len(warnings) == 1, "said once per change, not once per request"
    status = catalog.status()
    assert status.ok
    assert "stay in use" in status.detail
    assert AARHUS in status.detail

    shutil.copy(LABS_DIR / AARHUS, config)
    touch_later(config)
    assert catalog.current() is not good
    assert catalog.status().detail.startswith(f"{len(good)} labs from {labs} (loaded ")


def test_without_any_good_config_reads_are_unavailable(tmp_path):
    catalog = LabCatalog(tmp_path / "missing")
    with pytest.raises(Unavailable, match=r"lab configuration can't be loaded: .*labs directory not found"):
        catalog.current()
    assert not catalog.status().ok


def test_the_fingerprint_changes_with_content_size_and_renames(labs):
    before = fingerprint(labs)
    (labs / AARHUS).rename(labs / "aarhus-city-lab.yml")
    assert fingerprint(labs) != before
    assert fingerprint(labs / "nowhere") == fingerprint(labs / "nowhere")


def test_find_lab_names_the_known_ones(labs):
    configs = LabCatalog(labs).current()
    assert find_lab(configs, "aarhus-city-lab").city == "aarhus"
    with pytest.raises(NotFound, match=r"no lab 'atlantis'; known: aalborg"):
        find_lab(configs, "atlantis")
