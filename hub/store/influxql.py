"""InfluxQL over the v1 ``/query`` endpoint: portable across InfluxDB 1.x, 2.x (DBRP) and 3.x.

Failures come in two kinds, because they call for different answers: InfluxDB could not be
reached or could not answer (``InfluxUnavailableError``: try again later), or InfluxDB answered
and refused the statement itself (``InfluxQueryError``: the statement is wrong).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

# Statuses that say nothing about the statement: the server, the credentials or the URL are at fault.
_UNAVAILABLE_STATUSES = {401, 403, 404, 408, 429}
# A statement addressed to a database that doesn't exist is a configuration problem, not a bad statement.
_UNAVAILABLE_ERRORS = ("database not found",)


class InfluxQLError(RuntimeError):
    """A statement did not run."""


class InfluxUnavailableError(InfluxQLError):
    """InfluxDB could not be reached or could not answer: network, timeout, 5xx, credentials, unknown database."""


class InfluxQueryError(InfluxQLError):
    """InfluxDB answered and refused the statement (a parse or planning error such as "overflowed duration")."""


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
        # Never echoed in an error (which may reach a response or a log line), whatever a server or library says.
        self._secrets = [secret for secret in (token, password) if secret]
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, auth=auth, timeout=timeout_s)

    def query(self, statement: str, *, params: dict[str, Any] | None = None, epoch: str | None = "ns") -> list[Series]:
        """Run one statement. ``params`` binds ``$name`` placeholders server-side."""
        form: dict[str, str] = {"db": self.database, "q": statement}
        if epoch:
            form["epoch"] = epoch
        if params:
            form["params"] = json.dumps(params)
        try:
            response = self._client.post("/query", data=form)
        except httpx.HTTPError as exc:
            raise InfluxUnavailableError(self._scrub(f"InfluxDB unreachable: {exc}")) from exc
        if response.status_code != 200:
            kind = (
                InfluxUnavailableError
                if response.status_code >= 500 or response.status_code in _UNAVAILABLE_STATUSES
                else InfluxQueryError
            )
            raise kind(self._scrub(f"InfluxDB answered {response.status_code}: {response.text[:300]}"))
        try:
            body = response.json()
        except ValueError as exc:
            raise InfluxUnavailableError(f"InfluxDB answered 200 with a body that is not JSON: {exc}") from exc
        series: list[Series] = []
        for result in body.get("results", []):
            if "error" in result:
                error = str(result["error"])
                kind = InfluxUnavailableError if error.startswith(_UNAVAILABLE_ERRORS) else InfluxQueryError
                raise kind(error)
            for item in result.get("series", []):
                series.append(
                    Series(item.get("name", ""), item.get("tags") or {}, item["columns"], item.get("values", []))
                )
        return series

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def execute(self, statement: str) -> None:
        self.query(statement, epoch=None)

    def close(self) -> None:
        self._client.close()
