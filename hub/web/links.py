"""Links from the page to the JSON API, built in one place."""

from __future__ import annotations

from urllib.parse import urlencode

from hub.api.paths import API_PREFIX


def api_link(path: str, **params: str) -> str:
    """``api_link("/readings", quantity="pm25", city="bergen", format="csv")`` → ``/api/v1/readings?…``."""
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{API_PREFIX}{path}" + (f"?{query}" if query else "")
