"""The app factory: one router per resource, problem-details errors, a complete OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hub.api.limits import BodyLimit
from hub.api.metrics import make_registry
from hub.api.paths import API_PREFIX
from hub.api.problems import Problem, install_problem_handlers
from hub.api.routes import compare, deadletters, devices, health, labs, quantities, readings, unmapped
from hub.api.state import ApiState, DeadLetterAccess, WorkerGroup, make_influxql
from hub.ngsi.routes import install_ngsi_ld
from hub.opendata.routes import install_open_data
from hub.read import LabCatalog, Limits
from hub.settings import Settings
from hub.web import install_web

if TYPE_CHECKING:
    from hub.ingest.service import IngestService


DESCRIPTION = """\
Readings from every city lab in the network, in one vocabulary and one set of units.
Times are RFC 3339 UTC; every value comes with its unit. Errors are `application/problem+json`.
Resources are under /api/v1; /health, /ready and /metrics at the root. Read endpoints need
`Authorization: Bearer <token>` when CITYLAB_API_READ_TOKEN is set; replay
always needs CITYLAB_API_ADMIN_TOKEN. See docs/api.md.
"""


REPLAY_OPERATION = "replay_dead_letters"


def create_app(
    settings: Settings, *, ingest: IngestService | None = None, workers: WorkerGroup | None = None
) -> FastAPI:
    """Build the API. With ``ingest`` (``citylab serve``), /metrics and /ready see that service; with ``workers``
    (the supervisor of ``citylab serve --workers N``), every worker. Dead letters and unmapped keys are read from
    every store under ``settings.data_dir`` (each worker's subdirectory too) either way."""
    dead_letters = DeadLetterAccess(settings)
    state = ApiState(
        settings=settings,
        limits=Limits.from_settings(settings),
        labs=LabCatalog(settings.labs),
        influx=make_influxql(settings),
        dead_letters=dead_letters,
        registry=make_registry(dead_letters, ingest, workers),
        ingest=ingest,
        workers=workers,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.reopen()
        yield
        state.close()

    app = FastAPI(title="Nordic City Lab Hub API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.api = state
    install_problem_handlers(app)
    # Bodies are bounded before they are read; routes that take one check tokens before reading it.
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)

    # /health, /ready and /metrics stay at the root for probes and scrapers; / is the public page's.
    app.include_router(health.router)
    for module in (labs, devices, quantities, readings, compare, deadletters, unmapped):
        app.include_router(module.router, prefix=API_PREFIX)
    install_ngsi_ld(app)  # NGSI-LD at /ngsi-ld/v1
    install_open_data(app)  # /open-data/
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    install_web(app)  # the public page at /, and /docs from local assets
    return app


def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            # Invalid parameters are answered 400 with a problem document, never FastAPI's 422.
            responses.pop("422", None)
            # Without a read token, reads are public: the bearer scheme is then optional.
            security = operation.get("security")
            if security and settings.api_read_token is None and operation.get("operationId") != REPLAY_OPERATION:
                operation["security"] = [{}, *security]
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema
