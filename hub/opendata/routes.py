"""/open-data/: the daily CSV files and the DCAT-AP 3 catalogue, generated on request from InfluxDB.

Generated on request, so what a portal harvests is always current and no export job has to run;
``citylab export`` writes the very same files to a directory for a static server or an archive.
Reads need the API's read token when CITYLAB_API_READ_TOKEN is set.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from hub.api.deps import ReadAccess
from hub.api.problems import ApiProblem
from hub.api.state import ApiState
from hub.labs import LabConfig
from hub.opendata import publication
from hub.opendata.catalog import build_catalog
from hub.opendata.settings import OpenDataSettings
from hub.read import Unavailable
from hub.vocabulary import load_vocabulary

log = logging.getLogger(__name__)
router = APIRouter(prefix="/open-data", tags=["open data"])
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _api(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def _settings(request: Request) -> OpenDataSettings:
    settings: OpenDataSettings = request.app.state.open_data_settings
    return settings


def _labs(request: Request) -> dict[str, LabConfig]:
    try:
        return _api(request).labs.current()
    except Unavailable as exc:
        raise ApiProblem(503, str(exc).replace("\n", "; ")) from None


def _base(request: Request) -> str:
    configured = _settings(request).public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _window(request: Request) -> tuple[date, date]:
    return publication.day_range(datetime.now(UTC).date(), _settings(request).days)


@router.get("/", dependencies=[ReadAccess], summary="What is published", response_model=None)
def index(request: Request) -> Response:
    return PlainTextResponse(
        publication.readme(_labs(request), _settings(request).license_name, _settings(request).license_url)
    )


@router.get("/catalog.jsonld", dependencies=[ReadAccess], summary="DCAT-AP 3 catalogue", response_model=None)
def catalog(request: Request) -> Response:
    labs = _labs(request)
    first, last = _window(request)
    try:
        found = publication.datasets(_api(request).influx, labs, first, last)
    except Unavailable as exc:
        raise ApiProblem(503, str(exc)) from None
    body: dict[str, Any] = build_catalog(found, labs, _settings(request), _base(request) + "/open-data")
    return JSONResponse(body, media_type="application/ld+json")


@router.get("/{city}/{quantity}/{day}.csv", dependencies=[ReadAccess], summary="One day's CSV", response_model=None)
def daily_file(request: Request, city: str, quantity: str, day: str) -> Response:
    labs = _labs(request)
    if city not in {lab.city for lab in labs.values()} or quantity not in load_vocabulary().quantities:
        raise ApiProblem(404, f"no open data for city {city[:40]!r} and quantity {quantity[:40]!r}")
    if not _DAY.match(day):
        raise ApiProblem(404, "files are named YYYY-MM-DD.csv")
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise ApiProblem(404, f"{day[:10]} is not a date") from None
    first, last = _window(request)
    if not first <= when <= last:
        raise ApiProblem(404, f"/open-data/ publishes {first}..{last}; use the API or `citylab export` for older days")
    client = _api(request).influx
    lines = publication.csv_lines(client, city, quantity, when, _settings(request).max_rows_per_file)
    try:
        head = next(lines)
        second = next(lines)  # the first query runs here, so an InfluxDB failure is still a 503
    except Unavailable as exc:
        raise ApiProblem(503, str(exc)) from None
    except StopIteration:  # pragma: no cover - the generator always yields the header and a tail
        second = ""

    def stream() -> Any:
        yield head
        yield second
        try:
            yield from lines
        except Unavailable as exc:
            log.warning("open-data export of %s/%s/%s failed: %s", city, quantity, day, exc)
            yield "# export incomplete: InfluxDB query failed\n"

    filename = f"{city}-{quantity}-{day}.csv"
    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def install_open_data(app: FastAPI, settings: OpenDataSettings | None = None) -> None:
    """Mount /open-data/ on the hub's API app (needs ``app.state.api``)."""
    app.state.open_data_settings = settings or OpenDataSettings()
    app.include_router(router, include_in_schema=False)
