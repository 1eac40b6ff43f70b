"""Render the dashboards to the JSON files Grafana provisions, and tell when those files are stale."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import cities, hub_health, influxql, lab_detail

PROVISIONING_DIR = Path(__file__).resolve().parent / "provisioning"
DASHBOARD_JSON_DIR = PROVISIONING_DIR / "dashboards" / "json"
DATASOURCE_YAML = PROVISIONING_DIR / "datasources" / "citylab.yaml"
PROVIDER_YAML = PROVISIONING_DIR / "dashboards" / "citylab.yaml"
# Inside the Grafana container, where the provider YAML expects the JSON (see PROVIDER_YAML).
CONTAINER_JSON_DIR = "/etc/grafana/provisioning/dashboards/json"
HOME_UID = cities.UID

# Every dashboard, keyed by its fixed uid; the file is <uid>.json.
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    cities.UID: cities.build,
    lab_detail.UID: lab_detail.build,
    hub_health.UID: hub_health.build,
}

influxql.register()


def render(dashboard: Dashboard) -> str:
    """The bare dashboard model (not the Manifest wrapper) as stable, diff-friendly JSON."""
    return json.dumps(dashboard, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name → JSON text for every dashboard."""
    return {f"{uid}.json": render(build()) for uid, build in DASHBOARDS.items()}


def write(out_dir: Path = DASHBOARD_JSON_DIR) -> list[Path]:
    """Write every dashboard and remove JSON files no dashboard produces any more."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = rendered()
    written = []
    for name, text in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for leftover in out_dir.glob("*.json"):
        if leftover.name not in files:
            leftover.unlink()
    return written


def stale(out_dir: Path = DASHBOARD_JSON_DIR) -> list[str]:
    """Names of the JSON files that differ from what the code builds (missing, changed or orphaned)."""
    files = rendered()
    problems = [
        name
        for name, text in files.items()
        if not (out_dir / name).exists() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    problems += [path.name for path in out_dir.glob("*.json") if path.name not in files]
    return sorted(problems)
