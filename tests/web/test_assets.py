"""Static files and /docs without a network: ETags, 304s, gzip, fingerprinted URLs, no CDN anywhere."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api import create_app
from hub.devstack import free_port
from hub.settings import Settings
from hub.web.assets import asset_url, assets
from hub.web.links import api_link
from hub.web.maps import Marker, fit_view, load_basemap, mercator, render_svg

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "hub" / "web"
_EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # Nothing listens at this InfluxDB: static files and docs must not need it.
    settings = Settings(
        influx_url=f"http://127.0.0.1:{free_port()}",
        influx_api="v1",
        labs=ROOT / "labs",
        data_dir=tmp_path_factory.mktemp("data"),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_static_files_have_strong_etags_and_answer_304_when_unchanged(client):
    url = asset_url("app.css")
    first = client.get(url, headers={"Accept-Encoding": "identity"})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/css")
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "immutable" in first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/static/app.css", headers={"If-None-Match": '"stale"'}).status_code == 200
    assert "must-revalidate" in client.get("/static/app.css").headers["cache-control"]


def test_text_assets_are_gzipped_for_clients_that_take_it(client):
    response = client.get(asset_url("vendor/uplot/uPlot.iife.min.js"), headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["content-encoding"] == "gzip"
    asset = assets()["vendor/uplot/uPlot.iife.min.js"]
    assert asset.gzipped is not None and len(asset.gzipped) < len(asset.body) / 2
    assert gzip.decompress(asset.gzipped) == asset.body


def test_only_shipped_files_are_served(client):
    for path in ("../routes.py", "..%2Froutes.py", "vendor/../../i18n.py", "nope.js", ""):
        assert client.get(f"/static/{path}").status_code == 404


def test_every_vendored_package_ships_its_licence():
    vendor = WEB / "static" / "vendor"
    for folder in ("uplot", "swagger-ui", "redoc"):
        assert (vendor / folder / "LICENSE").stat().st_size > 500, folder
    assert (WEB / "basemap" / "LICENSE-world-atlas").exists()
    licences = (WEB / "static" / "LICENSES.txt").read_text()
    for name in ("uPlot", "Swagger UI", "ReDoc", "Natural Earth"):
        assert name in licences


def test_the_vendored_redoc_loads_no_logo_from_its_cdn():
    bundle = (WEB / "static" / "vendor" / "redoc" / "redoc.standalone.js").read_text(encoding="utf-8")
    assert "cdn.redoc.ly" not in bundle


def test_no_tracked_web_file_is_over_two_megabytes():
    for path in WEB.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 2 * 1024 * 1024, path


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_their_assets_from_the_hub(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert not _EXTERNAL.search(html), html
    assert "fonts.googleapis" not in html and "cdn.jsdelivr" not in html and "tiangolo" not in html
    for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        assert client.get(url).status_code == 200, url


def test_the_docs_oauth_redirect_is_served(client):
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_api_links_go_to_the_versioned_api():
    assert api_link("/readings", quantity="pm25", city="bergen", format="csv") == (
        "/api/v1/readings?quantity=pm25&city=bergen&format=csv"
    )
    assert api_link("/compare", quantity="pm25", cities="a,b") == "/api/v1/compare?quantity=pm25&cities=a%2Cb"


def test_maps_draw_the_nordic_basemap_in_web_mercator():
    basemap = load_basemap()
    assert len(basemap.land) > 100 and basemap.borders
    x, y = mercator(0.0, 0.0)
    assert (round(x, 6), round(y, 6)) == (0.5, 0.5)
    view = fit_view([(5.32, 60.39), (10.75, 59.91)], width=640)
    svg = render_svg(view, [Marker(5.32, 60.39, "1", "Bergen")], title="t", description="d")
    assert svg.startswith("<svg") and 'class="map-land"' in svg and "<title>Bergen</title>" in svg
    # Bergen is on land at the left of the window, Oslo to its right.
    bergen, oslo = view.project(5.32, 60.39), view.project(10.75, 59.91)
    assert 0 < bergen[0] < oslo[0] < 640
    assert "href=" not in svg  # no tiles unless configured: nothing to fetch from another host


def test_with_a_read_token_the_page_needs_it_like_the_api(tmp_path):
    settings = Settings(
        influx_url=f"http://127.0.0.1:{free_port()}",
        influx_api="v1",
        labs=ROOT / "labs",
        data_dir=tmp_path,
        api_read_token="s3cret",  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/", "/city/bergen", "/page-data/trends?quantity=pm25&period=7d"):
            assert client.get(path).status_code == 401, path
        assert client.get(asset_url("app.css")).status_code == 200
        assert client.get("/docs").status_code == 200


def test_the_page_says_so_when_influxdb_is_unreachable(client):
    response = client.get("/", headers={"Accept-Language": "sv"})
    assert response.status_code == 503
    assert 'lang="sv"' in response.text and "Data kan inte läsas just nu" in response.text


def test_an_online_tile_layer_is_drawn_under_the_markers_and_allowed_by_the_policy():
    from hub.web.maps import Tiles
    from hub.web.routes import _security_headers

    view = fit_view([(5.32, 60.39)], width=640, min_span_deg=0.1)
    tiles = Tiles("https://tiles.example.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors")
    svg = render_svg(view, [Marker(5.32, 60.39, "1", "x")], title="t", description="d", tiles=tiles)
    urls = re.findall(r'href="([^"]+)"', svg)
    assert urls and all(re.fullmatch(r"https://tiles\.example\.org/\d+/\d+/\d+\.png", u) for u in urls)
    assert svg.index("<image") < svg.index('class="marker')
    assert "OpenStreetMap" in svg
    settings = Settings(web_tile_url=tiles.url)
    assert "img-src 'self' data: https://tiles.example.org" in _security_headers(settings)["Content-Security-Policy"]
    assert "https:" not in _security_headers(Settings())["Content-Security-Policy"]
    with pytest.raises(ValueError, match="web_tile_url"):
        Settings(web_tile_url="javascript:alert(1)//{z}")
