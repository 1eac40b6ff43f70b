"""The public page's routes: ``/``, ``/city/{city}``, the charts' data and the static files.

Pages are rendered on the server (Jinja2), so every number shows without JavaScript; the trend
charts load afterwards from ``/page-data/trends``. Reads need the read token when one is set,
like the JSON API, because the page shows the same data.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from core.timeutil import now_ns, ns_to_rfc3339
from hub.api.deps import InfluxDep, LabsDep, ReadAccess, SettingsDep
from hub.read import Unavailable
from hub.settings import Settings
from hub.vocabulary import load_vocabulary
from hub.web import data, views
from hub.web.assets import asset_url, compressed, serve
from hub.web.bands import load_bands
from hub.web.i18n import COOKIE, LANGUAGES, Translator, negotiate
from hub.web.links import api_link
from hub.web.maps import Tiles

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False, dependencies=[ReadAccess])

_COOKIE_MAX_AGE = 365 * 24 * 3600
LangQuery = Annotated[str | None, Query(max_length=8)]


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("hub.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["asset_url"] = asset_url
    environment.globals["bar_width"] = views.bar_width
    return environment


TEMPLATES = _environment()


def _tiles(settings: Settings) -> Tiles | None:
    return Tiles(settings.web_tile_url, settings.web_tile_attribution) if settings.web_tile_url else None


def _security_headers(settings: Settings) -> dict[str, str]:
    """Nothing but the hub itself (and, when configured, the tile host) may serve the page anything."""
    images = "'self' data:"
    if settings.web_tile_url:
        parts = urlsplit(settings.web_tile_url.replace("{", "").replace("}", ""))
        images += f" {parts.scheme}://{parts.netloc}"
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src {images}; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _language(request: Request, lang: str | None) -> tuple[Translator, bool]:
    """The reader's language, and whether their pick must be remembered (a cookie)."""
    chosen = lang if lang in LANGUAGES else None
    language = negotiate(chosen, request.cookies.get(COOKIE), request.headers.get("accept-language"))
    return Translator(language), chosen is not None and chosen != request.cookies.get(COOKIE)


def _language_links(request: Request, current: str) -> list[dict[str, Any]]:
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    return [
        {
            "code": code,
            "name": name,
            "url": f"{request.url.path}?{urlencode([*kept, ('lang', code)])}",
            "current": code == current,
        }
        for code, name in LANGUAGES.items()
    ]


def _render(
    request: Request,
    settings: Settings,
    tr: Translator,
    remember: bool,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    html = TEMPLATES.get_template(template).render(
        _=tr,
        lang=tr.language,
        languages=_language_links(request, tr.language),
        bands=load_bands(),
        docs_url=request.app.docs_url or "/docs",
        **context,
    )
    headers = {
        **_security_headers(settings),
        "Content-Language": tr.language,
        "Cache-Control": "no-cache",
        "Vary": "Accept-Language, Cookie",
    }
    response = compressed(request, html.encode("utf-8"), "text/html; charset=utf-8", headers, status_code)
    if remember:
        response.set_cookie(COOKIE, tr.language, max_age=_COOKIE_MAX_AGE, samesite="lax", httponly=True)
    return response


def _unavailable(request: Request, settings: Settings, tr: Translator, remember: bool, exc: Unavailable) -> Response:
    log.warning("page data unavailable: %s", exc)
    return _render(request, settings, tr, remember, "error.html", {"title": tr("error.unavailable")}, 503)


@pages.get("/", name="web_home")
def home(
    request: Request,
    settings: SettingsDep,
    influx: InfluxDep,
    labs: LabsDep,
    quantity: Annotated[str | None, Query(max_length=40)] = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
    lang: LangQuery = None,
) -> Response:
    tr, remember = _language(request, lang)
    cities = views.cities_of(labs)
    moment = now_ns()
    try:
        available = data.quantities_with_data(influx)
        try:
            chosen, span = views.choose(quantity, period, available)
        except views.BadChoiceError as exc:
            problem = {"title": tr("error.bad_choice"), "detail": str(exc)}
            return _render(request, settings, tr, remember, "error.html", problem, 400)
        slugs = sorted(cities)
        latest = views.latest_by_quantity(influx, views.NOW_AIR + views.NOW_OTHER, slugs, moment)
        last_seen: dict[str, int] = {}
        measured: set[tuple[str, str]] = set()
        for device in data.devices(influx):
            last_seen[device.city] = max(last_seen.get(device.city, 0), device.last_ns)
            measured |= {(device.city, q.quantity) for q in device.quantities}
        compare = views.comparison(influx, tr, cities, chosen, span, available, moment, api_link)
    except Unavailable as exc:
        return _unavailable(request, settings, tr, remember, exc)
    now_rows = []
    for city in sorted(cities.values(), key=lambda c: views.city_name(tr, c).casefold()):
        text, stale = views.freshness(tr, last_seen.get(city.slug), moment)
        now_rows.append(
            views.CityNow(
                city.slug,
                views.city_name(tr, city),
                f"/city/{city.slug}",
                views.now_cells(tr, city, latest, views.NOW_AIR + views.NOW_OTHER, measured),
                ns_to_rfc3339(last_seen[city.slug]) if city.slug in last_seen else "",
                text,
                stale,
            )
        )
    vocabulary = load_vocabulary()
    references = {q: views.references(tr, vocabulary.quantities[q]) for q in views.NOW_AIR}
    context: dict[str, Any] = {
        "cities_now": now_rows,
        "compare": compare,
        "network_map": views.network_map(tr, cities, _tiles(settings)),
        "references": references,
        "city_count": len(cities),
    }
    return _render(request, settings, tr, remember, "index.html", context)


@pages.get("/city/{city}", name="web_city")
def city_page(
    request: Request,
    settings: SettingsDep,
    influx: InfluxDep,
    labs: LabsDep,
    city: str,
    lang: LangQuery = None,
) -> Response:
    tr, remember = _language(request, lang)
    cities = views.cities_of(labs)
    if city not in cities:
        context = {"title": tr("error.no_city"), "detail": ", ".join(sorted(cities))}
        return _render(request, settings, tr, remember, "error.html", context, 404)
    try:
        page = views.city_page(influx, tr, cities[city], now_ns(), _tiles(settings), api_link)
    except Unavailable as exc:
        return _unavailable(request, settings, tr, remember, exc)
    return _render(request, settings, tr, remember, "city.html", {"page": page})


@pages.get("/page-data/trends", name="web_trends")
def trends(
    request: Request,
    influx: InfluxDep,
    labs: LabsDep,
    quantity: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=8)],
    lang: LangQuery = None,
) -> Response:
    tr, _remember = _language(request, lang)
    available = data.quantities_with_data(influx)
    try:
        chosen, span = views.choose(quantity, period, available)
    except views.BadChoiceError as exc:
        body = json.dumps({"type": "about:blank", "title": "Bad Request", "status": 400, "detail": str(exc)})
        return Response(body, status_code=400, media_type="application/problem+json")
    payload = views.trends(influx, tr, views.cities_of(labs), chosen, span, now_ns())
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return compressed(request, encoded, "application/json", headers)


@router.get("/static/{path:path}", name="web_static")
def static(request: Request, path: str) -> Response:
    return serve(request, path)
