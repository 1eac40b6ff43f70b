"""What the benchmark ran on: CPU, cores, memory, kernel and the versions of every part."""

from __future__ import annotations

import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.stack import version_of
from hub.devstack import _binary


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _binary_version(name: str, package: str, args: list[str]) -> str:
    try:
        return version_of([_binary(name, package), *args])
    except Exception as exc:
        return f"unknown ({exc})"


def load_average() -> list[float]:
    try:
        return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "cpu_model": _cpu_model(),
        "cores": cores,
        "usable_cores": usable,
        "memory_gb": _memory_gb(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: _package(name) for name in ("paho-mqtt", "orjson", "httpx", "pydantic", "citylab-hub")},
        "mosquitto": _binary_version("mosquitto", "mosquitto", ["-h"]),
        "influxdb": _binary_version("influxd", "influxdb", ["version"]),
        "load_average_at_start": load_average(),
    }


def host_class(machine: dict[str, Any]) -> str:
    """A file-name-safe class of machine, e.g. ``2core-amd-epyc`` (no host name)."""
    model = str(machine.get("cpu_model", "cpu")).lower()
    model = re.sub(r"\(r\)|\(tm\)|cpu|processor|@.*", "", model)
    words = re.findall(r"[a-z0-9]+", model)[:3]
    return f"{machine.get('usable_cores', 0)}core-" + ("-".join(words) or "cpu")
