"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from the hub's own files: they work offline.

FastAPI's defaults load both from a CDN, take their favicon from fastapi.tiangolo.com and make
ReDoc load Google Fonts; offline, the docs page stays blank. ``install_docs`` replaces FastAPI's
docs routes, at the same paths, with pages that use the vendored assets under /static/vendor
(hub/web/vendor/README.md) and the hub's own favicon, following FastAPI's "self-hosting
JavaScript and CSS for docs" recipe.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from hub.web.assets import asset_url

DEFAULT_DOCS_URL = "/docs"
DEFAULT_REDOC_URL = "/redoc"
# Swagger UI otherwise sends the spec to an online validator for a badge.
SWAGGER_PARAMETERS = {"validatorUrl": None, "tryItOutEnabled": False}


def install_docs(app: FastAPI) -> None:
    docs_url = app.docs_url or DEFAULT_DOCS_URL
    redoc_url = app.redoc_url or DEFAULT_REDOC_URL
    oauth_url = app.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"
    replaced = {docs_url, redoc_url, oauth_url}
    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) not in replaced]
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{title} – Swagger UI",
            oauth2_redirect_url=prefix + oauth_url,
            swagger_js_url=prefix + asset_url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=prefix + asset_url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=prefix + asset_url("favicon.svg"),
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{title} – ReDoc",
            redoc_js_url=prefix + asset_url("vendor/redoc/redoc.standalone.js"),
            redoc_favicon_url=prefix + asset_url("favicon.svg"),
            with_google_fonts=False,
        )

    app.get(docs_url, include_in_schema=False)(swagger_ui)
    app.get(oauth_url, include_in_schema=False)(oauth2_redirect)
    app.get(redoc_url, include_in_schema=False)(redoc)
