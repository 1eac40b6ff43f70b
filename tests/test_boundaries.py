"""Package boundaries, read from the source: ``core`` imports nothing of the project, ``adapters`` only ``core``.

Codecs parse and the hub decides; a codec that imported the hub (even inside a function) could
decide again. The walk covers every import statement, at module level or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"core", "hub", "adapters", "simulators", "dashboards", "benchmarks"}
ALLOWED = {"core": {"core"}, "adapters": {"core", "adapters"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _names_a_module(node):
            # importlib.import_module("hub.x") is an import too, when its name is written out.
            found.add(str(node.args[0].value).split(".")[0])  # type: ignore[attr-defined]
    return found & PROJECT_PACKAGES


def _names_a_module(call: ast.Call) -> bool:
    function = getattr(call.func, "attr", getattr(call.func, "id", ""))
    first = call.args[0] if call.args else None
    return (
        function in ("import_module", "__import__") and isinstance(first, ast.Constant) and isinstance(first.value, str)
    )


MODULES = sorted(path for package in ALLOWED for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(path.relative_to(ROOT)) for path in MODULES])
def test_core_and_adapters_import_only_what_they_may(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    forbidden = imported_packages(path) - ALLOWED[package]
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import core.model\n"
        "def f():\n    from hub.vocabulary import load_vocabulary\n"
        "def g():\n    import simulators\n    importlib.import_module('dashboards.x')\n"
    )
    assert imported_packages(module) == {"core", "hub", "simulators", "dashboards"}
