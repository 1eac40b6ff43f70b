"""InfluxQL over the v1 ``/query`` endpoint: portable across InfluxDB 1.x, 2.x (DBRP) and 3.x."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class InfluxQLError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.values]


class InfluxQLClient:
    def __init__(
        self,
        url: str,
        database: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        auth = (username, password or "") if username and not token else None
        self.database = database
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, auth=auth, timeout=timeout_s)

    def query(self, statement: str, *, params: dict[str, Any] | None = None, epoch: str | None = "ns") -> list[Series]:
        """Run one statement. ``params`` binds ``$name`` placeholders server-side."""
        form: dict[str, str] = {"db": self.database, "q": statement}
        if epoch:
            form["epoch"] = epoch
        if params:
            import json

            form["params"] = json.dumps(params)
        try:
            response = self._client.post("/query", data=form)
        except httpx.HTTPError as exc:
            raise InfluxQLError(f"InfluxDB unreachable: {exc}") from exc
        if response.status_code != 200:
            raise InfluxQLError(f"InfluxDB answered {response.status_code}: {response.text[:300]}")
        body = response.json()
        series: list[Series] = []
        for result in body.get("results", []):
            if "error" in result:
                raise InfluxQLError(result["error"])
            for item in result.get("series", []):
                series.append(
                    Series(item.get("name", ""), item.get("tags") or {}, item["columns"], item.get("values", []))
                )
        return series

    def execute(self, statement: str) -> None:
        self.query(statement, epoch=None)

    def close(self) -> None:
        self._client.close()
