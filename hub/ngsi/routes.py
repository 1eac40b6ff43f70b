"""The read-only NGSI-LD API at /ngsi-ld/v1 (ETSI GS CIM 009), and the @context documents at /ngsi-ld/contexts.

Entities are the hub's devices typed by Smart Data Models (hub/ngsi/tables/sdm.yaml). Every
parameter is validated in hub/ngsi/query.py before InfluxDB sees anything; errors are NGSI-LD
ProblemDetails. See docs/interoperability.md.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from core.timeutil import NS_PER_S, now_ns, ns_to_rfc3339
from hub.api.deps import Credentials, may_read
from hub.api.state import ApiState
from hub.labs import LabConfig
from hub.ngsi import contexts, data, service
from hub.ngsi.entities import (
    EntityState,
    geojson_feature,
    render_aggregated,
    render_entity,
    render_temporal,
)
from hub.ngsi.errors import ErrorType, NgsiLdError, bad_request, on_ngsi_ld_error
from hub.ngsi.mapping import load_mapping
from hub.ngsi.query import (
    check_entity_id,
    check_timeproperty,
    parse_aggr_methods,
    parse_bool,
    parse_duration_s,
    parse_geo,
    parse_id_pattern,
    parse_ids,
    parse_int,
    parse_names,
    parse_options,
    parse_q,
    parse_time_span,
    parse_types,
)
from hub.ngsi.settings import NgsiSettings
from hub.read import QueryRejected, TimeRange, Unavailable

log = logging.getLogger(__name__)

BASE_PATH = "/ngsi-ld/v1"
LD_JSON = "application/ld+json"
JSON = "application/json"
GEO_JSON = "application/geo+json"
# Query parameters of the spec the hub does not implement: refused, never silently ignored.
UNSUPPORTED = (
    "pick",
    "omit",
    "orderBy",
    "join",
    "joinLevel",
    "csf",
    "scopeQ",
    "datasetId",
    "lang",
    "containedBy",
    "entityMap",
    "expandValues",
    "collation",
    "jsonKeys",
    "splitEntities",
)

router = APIRouter(prefix=BASE_PATH, tags=["NGSI-LD"])
contexts_router = APIRouter(prefix=contexts.PREFIX, tags=["NGSI-LD"])

Text = Annotated[str | None, Query()]


def _settings(request: Request) -> NgsiSettings:
    settings: NgsiSettings = request.app.state.ngsi_settings
    return settings


def _api(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def _base(request: Request) -> str:
    configured = _settings(request).public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def require_read(request: Request, credentials: Credentials) -> None:
    """The JSON API's read token (CITYLAB_API_READ_TOKEN; the admin token also reads), answered as NGSI-LD."""
    if not may_read(_api(request).settings, credentials):
        raise NgsiLdError(ErrorType.UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


ReadAccess = Depends(require_read)


def _labs(request: Request) -> dict[str, LabConfig]:
    try:
        return _api(request).labs.current()
    except Unavailable as exc:
        raise NgsiLdError(ErrorType.INTERNAL_ERROR, str(exc).replace("\n", "; "), status=503) from None


def _negotiate(request: Request, *, geo: bool) -> str:
    """The response media type from Accept: application/json (default), application/ld+json, geo+json."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return JSON
    offered = [JSON, LD_JSON, *([GEO_JSON] if geo else [])]  # on a tie, the first wins
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        match = re.search(r"q=([0-9.]+)", params)
        try:
            weight = float(match[1]) if match else 1.0
        except ValueError:
            weight = 0.0
        candidates = offered if media in ("*/*", "application/*") else [m for m in offered if m == media]
        for candidate in candidates:
            rank = (weight, 1 if media == candidate else 0, candidate)
            if weight > 0 and (best is None or rank[:2] > best[:2]):
                best = rank
    if best is None:
        raise NgsiLdError(ErrorType.INVALID_REQUEST, f"Accept: the hub answers {', '.join(offered)}", status=406)
    return best[2]


def _check_link(request: Request) -> None:
    """A request's @context (Link header) must be one the hub knows: it never fetches one."""
    for link in request.headers.getlist("link"):
        for part in link.split(","):
            if "json-ld#context" not in part:
                continue
            match = re.search(r"<([^>]*)>", part)
            url = match[1] if match else ""
            if url not in contexts.known_context_urls(_base(request)):
                raise NgsiLdError(
                    ErrorType.LD_CONTEXT_NOT_AVAILABLE,
                    f"@context {url[:200]!r} is not one the hub knows, and it fetches none; use "
                    f"{contexts.context_url(_base(request))} or the Smart Data Models and core contexts",
                )


def _reply(
    request: Request, body: Any, media: str, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    base = _base(request)
    headers = dict(headers or {})
    if media == LD_JSON:
        context = contexts.entity_context(base)
        if isinstance(body, list):
            body = [{**entity, "@context": context} for entity in body]
        else:
            body = {**body, "@context": context}
    else:
        _add_link(headers, contexts.link_header(base))
    return JSONResponse(body, status_code=status, media_type=media, headers=headers)


def _add_link(headers: dict[str, str], link: str) -> None:
    headers["Link"] = f"{headers['Link']}, {link}" if "Link" in headers else link


def _refuse_unsupported(request: Request) -> None:
    for name in UNSUPPORTED:
        if name in request.query_params:
            raise NgsiLdError(
                ErrorType.OPERATION_NOT_SUPPORTED, f"{name}: not implemented by the hub (docs/interoperability.md)"
            )
    for name in (
        "type",
        "id",
        "idPattern",
        "attrs",
        "q",
        "georel",
        "geometry",
        "coordinates",
        "limit",
        "offset",
        "options",
        "format",
        "timeAt",
        "endTimeAt",
        "timerel",
        "lastN",
        "aggrMethods",
        "aggrPeriodDuration",
    ):
        if len(request.query_params.getlist(name)) > 1:
            raise bad_request(f"{name}: give it once")


def _selection(request: Request, *, need_filter: bool) -> service.Selection:
    params = request.query_params
    mapping = load_mapping()
    iris = {f"{contexts.SDM_BASE}dataModel.{t.domain}/{t.name}": t.name for t in mapping.types.values()}
    types = parse_types(params.get("type"), iris)
    ids = parse_ids(params.get("id"))
    attrs = parse_names(params.get("attrs"), "attrs")
    geo = parse_geo(params.get("georel"), params.get("geometry"), params.get("coordinates"), params.get("geoproperty"))
    q = parse_q(params.get("q"))
    local = parse_bool(params.get("local"), "local")
    if (
        need_filter
        and not local
        and types is None
        and attrs is None
        and q is None
        and geo is None
        and ids is None
        and params.get("idPattern") is None
    ):
        raise bad_request("give at least one of type, attrs, q, georel, id or idPattern (or local=true)")
    keys = []
    for entity_id in ids or []:
        parsed = _parse_hub_id(entity_id)
        if parsed is not None:
            keys.append(parsed)
    return service.Selection(
        types=types,
        ids=ids,
        id_pattern=parse_id_pattern(params.get("idPattern")),
        attrs=attrs,
        q=q,
        geo=geo,
        keys=keys,
    )


def _path_id(request: Request, entity_id: str) -> str:
    """The entity id as sent, percent-decoded exactly once (ids may contain %-escapes of their own)."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        text = raw.decode("latin-1")
        _, found, tail = text.partition("/entities/")
        if found:
            try:
                return unquote(tail, errors="strict")
            except UnicodeDecodeError:
                raise bad_request("entity id: not UTF-8 once percent-decoded") from None
    return entity_id


def _parse_hub_id(text: str) -> Any:
    from hub.ngsi.entities import parse_entity_id

    return parse_entity_id(text)


def _run(request: Request, selection: service.Selection) -> list[EntityState]:
    try:
        return service.select_entities(_api(request).influx, _labs(request), load_mapping(), selection)
    except Unavailable as exc:
        log.warning("InfluxDB query failed: %s", exc)
        raise NgsiLdError(ErrorType.INTERNAL_ERROR, str(exc), status=503) from None
    except QueryRejected as exc:
        raise NgsiLdError(ErrorType.INTERNAL_ERROR, str(exc), status=500) from None


def _page(
    request: Request, states: list[EntityState], default: int, maximum: int
) -> tuple[list[EntityState], dict[str, str]]:
    params = request.query_params
    limit = parse_int(params.get("limit"), "limit", default, 0, maximum)
    offset = parse_int(params.get("offset"), "offset", 0, 0, 10**9)
    headers: dict[str, str] = {}
    if parse_bool(params.get("count"), "count"):
        headers["NGSILD-Results-Count"] = str(len(states))
    page = states[offset : offset + limit]
    if limit and offset + limit < len(states):
        following = request.url.include_query_params(offset=offset + limit, limit=limit)
        headers["Link"] = f'<{following}>; rel="next"; type="application/json"'
    return page, headers


ENTITY_PARAMS = {
    "type": "entity types, comma-separated (AirQualityObserved, WeatherObserved, …)",
    "id": "entity ids, comma-separated",
    "idPattern": "regular expression over entity ids",
    "attrs": "attribute names, comma-separated: entities with at least one of them, showing only them",
    "q": "simple comparisons, e.g. pm25>10;no2<=40 (; and, | or)",
    "georel": "near;maxDistance==2000 (geometry=Point), within (geometry=Polygon), intersects, disjoint, equals",
}


@router.get(
    "/entities",
    dependencies=[ReadAccess],
    summary="Query entities (latest value of every attribute)",
    response_model=None,
    responses={200: {"content": {LD_JSON: {}, GEO_JSON: {}}}},
)
def query_entities(
    request: Request,
    type: Text = None,
    id: Text = None,
    idPattern: Text = None,
    attrs: Text = None,
    q: Text = None,
    georel: Text = None,
    geometry: Text = None,
    coordinates: Text = None,
    limit: Text = None,
    offset: Text = None,
    count: Text = None,
    options: Text = None,
    format: Text = None,
) -> Response:
    _refuse_unsupported(request)
    _check_link(request)
    media = _negotiate(request, geo=True)
    settings = _settings(request)
    selection = _selection(request, need_filter=True)
    shape = parse_options(options, format, temporal=False)
    states = _run(request, selection)
    page, headers = _page(request, states, settings.default_limit, settings.max_entities)
    attrs_set = set(selection.attrs) if selection.attrs is not None else None
    body = [render_entity(state, shape.representation, attrs_set) for state in page]
    if media == GEO_JSON:
        _add_link(headers, contexts.link_header(_base(request)))
        return JSONResponse(
            {"type": "FeatureCollection", "features": [geojson_feature(e) for e in body]},
            media_type=GEO_JSON,
            headers=headers,
        )
    return _reply(request, body, media, headers=headers)


@router.get("/entities/{entity_id:path}", dependencies=[ReadAccess], summary="Retrieve one entity", response_model=None)
def retrieve_entity(
    request: Request,
    entity_id: str,
    attrs: Text = None,
    options: Text = None,
    format: Text = None,
) -> Response:
    _refuse_unsupported(request)
    _check_link(request)
    media = _negotiate(request, geo=True)
    entity_id = _path_id(request, entity_id)
    entity_type, key = check_entity_id(entity_id)
    names = parse_names(attrs, "attrs")
    shape = parse_options(options, format, temporal=False)
    states = _run(request, service.Selection(types=[entity_type], ids=[entity_id], keys=[(entity_type, key)]))
    if not states:
        raise NgsiLdError(ErrorType.RESOURCE_NOT_FOUND, f"no entity {entity_id[:200]!r}")
    entity = render_entity(states[0], shape.representation, set(names) if names is not None else None)
    if media == GEO_JSON:
        return JSONResponse(
            geojson_feature(entity), media_type=GEO_JSON, headers={"Link": contexts.link_header(_base(request))}
        )
    return _reply(request, entity, media)


@router.get("/types", dependencies=[ReadAccess], summary="The entity types the hub serves", response_model=None)
def entity_types(request: Request) -> Response:
    _check_link(request)
    media = _negotiate(request, geo=False)
    names = sorted(load_mapping().types)
    body = {"id": "urn:ngsi-ld:EntityTypeList:citylab", "type": "EntityTypeList", "typeList": names}
    return _reply(request, body, media)


def _temporal(request: Request, states: list[EntityState], single: bool) -> Response:
    params = request.query_params
    settings = _settings(request)
    api_settings = _api(request).settings
    media = _negotiate(request, geo=False)
    shape = parse_options(params.get("options"), params.get("format"), temporal=True)
    check_timeproperty(params.get("timeproperty"))
    span = parse_time_span(
        params.get("timerel"),
        params.get("timeAt"),
        params.get("endTimeAt"),
        now_ns=now_ns(),
        max_days=api_settings.api_max_range_days,
    )
    time_range = TimeRange(span.start_ns, span.end_ns)
    attrs = parse_names(params.get("attrs"), "attrs")
    attrs_set = set(attrs) if attrs is not None else None
    last_n = params.get("lastN")
    last = parse_int(last_n, "lastN", 0, 1, settings.max_instances) if last_n is not None else None
    headers: dict[str, str] = {}
    if single:
        page = states
    else:
        page, headers = _page(request, states, settings.default_limit, settings.max_temporal_entities)
    client = _api(request).influx
    try:
        if shape.aggregated_values:
            methods = parse_aggr_methods(params.get("aggrMethods"))
            duration = params.get("aggrPeriodDuration") or "PT0S"
            every_s = parse_duration_s(duration, "aggrPeriodDuration")
            if every_s:
                buckets = -(-(span.end_ns - span.start_ns) // (every_s * NS_PER_S))
                if buckets > api_settings.api_max_buckets:
                    raise NgsiLdError(
                        ErrorType.TOO_MANY_RESULTS,
                        f"{buckets} periods of {duration} exceed the limit of {api_settings.api_max_buckets}; "
                        "use a longer aggrPeriodDuration or a shorter range",
                    )
            aggregation = data.Aggregation(methods, every_s or None)
            found = service.temporal_aggregates(client, page, attrs_set, time_range, aggregation)
            body = [render_aggregated(state, found[state.id], methods) for state in page]
            status = 200
        else:
            result = service.temporal_instances(
                client,
                page,
                attrs_set,
                time_range,
                last_n=last,
                max_instances=settings.max_instances,
                max_total=settings.max_instances_total,
            )
            body = [
                render_temporal(
                    state, result.series[state.id], "temporalValues" if shape.temporal_values else "normalized"
                )
                for state in page
            ]
            status = 200
            if result.truncated:
                times = [o.time_ns for series in result.series.values() for rows in series.values() for o in rows]
                status = 206
                if times:
                    headers["Content-Range"] = f"date-time {ns_to_rfc3339(min(times))}-{ns_to_rfc3339(max(times))}/*"
    except Unavailable as exc:
        log.warning("InfluxDB query failed: %s", exc)
        raise NgsiLdError(ErrorType.INTERNAL_ERROR, str(exc), status=503) from None
    except QueryRejected as exc:
        raise NgsiLdError(ErrorType.INTERNAL_ERROR, str(exc), status=500) from None
    if single:
        if not body:
            raise NgsiLdError(ErrorType.RESOURCE_NOT_FOUND, "no such entity")
        return _reply(request, body[0], media, status=status, headers=headers)
    return _reply(request, body, media, status=status, headers=headers)


TEMPORAL_DESCRIPTION = (
    "timerel=before|after|between with timeAt (and endTimeAt), lastN, options=temporalValues or "
    "options=aggregatedValues with aggrMethods=avg,min,max,sum,totalCount,stddev and aggrPeriodDuration (ISO 8601)."
)


@router.get(
    "/temporal/entities",
    dependencies=[ReadAccess],
    summary="Query the history of entities",
    description=TEMPORAL_DESCRIPTION,
    response_model=None,
)
def query_temporal(
    request: Request,
    type: Text = None,
    id: Text = None,
    idPattern: Text = None,
    attrs: Text = None,
    q: Text = None,
    timerel: Text = None,
    timeAt: Text = None,
    endTimeAt: Text = None,
    lastN: Text = None,
    options: Text = None,
    format: Text = None,
    aggrMethods: Text = None,
    aggrPeriodDuration: Text = None,
    limit: Text = None,
    offset: Text = None,
    count: Text = None,
) -> Response:
    _refuse_unsupported(request)
    _check_link(request)
    selection = _selection(request, need_filter=True)
    return _temporal(request, _run(request, selection), single=False)


@router.get(
    "/temporal/entities/{entity_id:path}",
    dependencies=[ReadAccess],
    summary="Retrieve the history of one entity",
    description=TEMPORAL_DESCRIPTION,
    response_model=None,
)
def retrieve_temporal(
    request: Request,
    entity_id: str,
    attrs: Text = None,
    timerel: Text = None,
    timeAt: Text = None,
    endTimeAt: Text = None,
    lastN: Text = None,
    options: Text = None,
    format: Text = None,
    aggrMethods: Text = None,
    aggrPeriodDuration: Text = None,
) -> Response:
    _refuse_unsupported(request)
    _check_link(request)
    entity_id = _path_id(request, entity_id)
    entity_type, key = check_entity_id(entity_id)
    states = _run(request, service.Selection(types=[entity_type], ids=[entity_id], keys=[(entity_type, key)]))
    if not states:
        raise NgsiLdError(ErrorType.RESOURCE_NOT_FOUND, f"no entity {entity_id[:200]!r}")
    return _temporal(request, states, single=True)


@router.api_route(
    "/{path:path}", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False, response_model=None
)
def read_only(path: str) -> Response:
    raise NgsiLdError(
        ErrorType.OPERATION_NOT_SUPPORTED,
        "the hub's NGSI-LD API is read-only: its entities come from the labs' MQTT data",
        status=405,
        headers={"Allow": "GET"},
    )


@contexts_router.get("/{name}", summary="An @context document the hub's entities use", response_model=None)
def context_document(request: Request, name: str) -> Response:
    document = contexts.document(name, _base(request))
    if document is None:
        raise NgsiLdError(
            ErrorType.RESOURCE_NOT_FOUND, f"no @context {name[:80]!r}; known: {', '.join(contexts.document_names())}"
        )
    return JSONResponse(document, media_type=LD_JSON, headers={"Cache-Control": "public, max-age=86400"})


def install_ngsi_ld(app: FastAPI, settings: NgsiSettings | None = None) -> None:
    """Mount /ngsi-ld/v1 and /ngsi-ld/contexts on the hub's API app (needs ``app.state.api``)."""
    app.state.ngsi_settings = settings or NgsiSettings()
    app.add_exception_handler(NgsiLdError, on_ngsi_ld_error)
    # Not in the JSON API's OpenAPI document: NGSI-LD clients follow ETSI's; docs/interoperability.md lists what
    # the hub implements.
    app.include_router(router, include_in_schema=False)
    app.include_router(contexts_router, include_in_schema=False)
