"""Links from the page to the JSON API, built in one place.

The JSON API moves under ``/api/v1`` (docs/api.md). Rather than guess, the page looks at the app
it is installed in: when the app has routes under ``API_PREFIX``, links go there; otherwise
(an app that still serves the API at the root) they go to the root. So every link resolves,
before and after the move, and the page never links to a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import FastAPI

API_PREFIX = "/api/v1"


def api_base(app: FastAPI) -> str:
    """``/api/v1`` when the app serves the API there, else ``""`` (the API at the root)."""
    cached: str | None = getattr(app.state, "web_api_base", None)
    if cached is not None:
        return cached
    paths = [str(getattr(route, "path", "")) for route in app.routes]
    base = API_PREFIX if any(p == API_PREFIX or p.startswith(API_PREFIX + "/") for p in paths) else ""
    app.state.web_api_base = base
    return base


def api_linker(app: FastAPI) -> Callable[..., str]:
    """``link("/readings", quantity="pm25", city="bergen", format="csv")`` → ``/api/v1/readings?…``."""
    base = api_base(app)

    def link(path: str, **params: str) -> str:
        query = urlencode({key: value for key, value in params.items() if value is not None})
        return f"{base}{path}" + (f"?{query}" if query else "")

    return link
