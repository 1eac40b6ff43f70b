"""The page's static files, served from memory: strong ETags, long caching for fingerprinted URLs, gzip.

Only files found under ``hub/web/static`` at start-up are served, so no path a client sends can
reach anything else. ``asset_url("app.css")`` gives ``/static/app.css?v=<hash>``: a URL that
changes with the content, so browsers may keep it for a year; any other request revalidates
with its ETag and gets 304 Not Modified when nothing changed.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import Request, Response

from hub.web.bands import load_bands

STATIC_PREFIX = "/static"
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "public, max-age=300, must-revalidate"
_TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str  # quoted, strong

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:12]


def _media_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if name in ("LICENSE", "NOTICE") or name.endswith(".LICENSE.txt"):
        return "text/plain; charset=utf-8"
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _walk(folder: Traversable, prefix: str) -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(_walk(entry, f"{path}/"))
        elif entry.is_file():
            found[path] = entry
    return found


def bands_css() -> bytes:
    """The band colours as CSS, made from bands.yaml so the palette lives in one place."""
    lines = [f"/* Generated from hub/web/bands.yaml: {load_bands().source}. */"]
    for level in load_bands().levels:
        lines.append(f".band-{level.index} {{ background: {level.fill}; color: {level.text}; }}")
    return ("\n".join(lines) + "\n").encode("utf-8")


@cache
def assets() -> dict[str, Asset]:
    """Every static file by its path under /static, loaded once; plus bands.css, generated."""
    files = {
        path: entry.read_bytes() for path, entry in _walk(resources.files("hub.web").joinpath("static"), "").items()
    }
    files["bands.css"] = bands_css()
    loaded = {}
    for path, body in files.items():
        media_type = _media_type(path.rsplit("/", 1)[-1])
        packed = gzip.compress(body, compresslevel=9, mtime=0) if media_type.startswith(_COMPRESSIBLE) else None
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        loaded[path] = Asset(body, packed if packed is not None and len(packed) < len(body) else None, media_type, etag)
    return loaded


def asset_url(path: str) -> str:
    """The fingerprinted URL of a static file; a KeyError for a file the hub does not ship."""
    return f"{STATIC_PREFIX}/{path}?v={assets()[path].version}"


def accepts_gzip(request: Request) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in request.headers.get("accept-encoding", "").split(","))


def _etag_matches(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    if given is None:
        return False
    # Weak comparison (RFC 9110 13.1.2): a gzip-aware proxy may have weakened our tag.
    tags = {tag.strip().removeprefix("W/") for tag in given.split(",")}
    return "*" in tags or etag in tags


def serve(request: Request, path: str) -> Response:
    asset = assets().get(path)
    if asset is None:
        return Response("not found\n", status_code=404, media_type="text/plain; charset=utf-8")
    fingerprinted = request.query_params.get("v") == asset.version
    headers = {
        "ETag": asset.etag,
        "Cache-Control": _IMMUTABLE if fingerprinted else _REVALIDATE,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if _etag_matches(request, asset.etag):
        return Response(status_code=304, headers=headers)
    if asset.gzipped is not None and accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def compressed(
    request: Request, body: bytes, media_type: str, headers: dict[str, str], status_code: int = 200
) -> Response:
    """A dynamic response (a page, chart data), gzipped when the client takes it."""
    headers = {**headers, "Vary": ", ".join(filter(None, [headers.get("Vary"), "Accept-Encoding"]))}
    if len(body) > 512 and accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body, compresslevel=6)
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
