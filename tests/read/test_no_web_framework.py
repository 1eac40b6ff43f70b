"""The read layer imports no web framework: the JSON API, the public page and NGSI-LD all build on it."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import hub.read

ROOT = Path(__file__).resolve().parents[2]
WEB_FRAMEWORKS = {"fastapi", "starlette", "uvicorn"}


def is_web(module: str) -> bool:
    return module.split(".")[0] in WEB_FRAMEWORKS or module == "hub.api" or module.startswith("hub.api.")


def test_importing_every_read_module_loads_no_web_framework():
    modules = ["hub.read", *(f"hub.read.{m.name}" for m in pkgutil.iter_modules(hub.read.__path__))]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    # A fresh interpreter: this test process has FastAPI loaded already.
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = json.loads(done.stdout)
    assert "hub.read.rows" in loaded
    assert [name for name in loaded if is_web(name)] == []
