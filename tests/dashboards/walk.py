"""Reading the committed dashboard JSON: panels (rows flattened), targets and variables."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dashboards.build import DASHBOARD_JSON_DIR

_GROUP_BY = re.compile(r"\bGROUP BY\b(?P<clause>.*?)(?:\bfill\(|\bORDER BY\b|\bLIMIT\b|$)", re.IGNORECASE | re.DOTALL)
_QUOTED = re.compile(r'"([^"]+)"')


def load(uid: str) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads((DASHBOARD_JSON_DIR / f"{uid}.json").read_text(encoding="utf-8"))
    return dashboard


def all_dashboards() -> dict[str, dict[str, Any]]:
    paths = sorted(DASHBOARD_JSON_DIR.glob("*.json"))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard.get("templating", {}).get("list", []))


@dataclass(frozen=True)
class Target:
    dashboard: str
    panel: dict[str, Any]
    ref_id: str
    query: str
    result_format: str
    alias: str | None

    @property
    def where(self) -> str:
        return f"{self.dashboard} / {self.panel.get('title')!r} / {self.ref_id}"

    @property
    def group_tags(self) -> list[str]:
        """Tag keys in GROUP BY (time() left out)."""
        match = _GROUP_BY.search(self.query)
        if match is None:
            return []
        clause = re.sub(r"time\([^)]*\)", "", match.group("clause"))
        return _QUOTED.findall(clause)


def targets(uid: str, dashboard: dict[str, Any]) -> Iterator[Target]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield Target(
                uid,
                panel,
                target["refId"],
                target["query"],
                target.get("resultFormat", "time_series"),
                target.get("alias"),
            )
