"""Every codec folder has the same shape: code, README with the sections labs and simulators rely on, fixtures."""

from __future__ import annotations

import pytest

from adapters import codecs
from tests.codecs.support import ROOT, folder_of

REQUIRED_SECTIONS = (
    "## Options",
    "## Defaults when the payload gives no zone or unit",
    "## What a lab must tell the hub operator",
    "## Example",
)


@pytest.mark.parametrize("format_name", sorted(codecs()))
def test_codec_folder_has_readme_and_fixtures(format_name: str) -> None:
    folder = ROOT / "adapters" / folder_of(format_name)
    assert (folder / "__init__.py").exists()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# `{format_name}`")
    for section in REQUIRED_SECTIONS:
        assert section in readme, f"{folder.name}/README.md lacks {section!r}"
    assert "topic" in readme.lower()
    assert any(folder.glob("testdata/*/expected.jsonl")), f"{folder.name} has no fixture case with expected readings"
