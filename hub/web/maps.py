"""Maps drawn on the server as SVG, on a Natural Earth basemap the hub ships: they work offline.

The basemap (``basemap/nordic-10m.json``, built by ``hub/web/vendor/build.py``) is Natural
Earth's 1:10m land and country borders clipped to the Nordic region. A view is Web Mercator,
so an optional raster tile layer (``CITYLAB_WEB_TILE_URL``, for online use) lines up with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from xml.sax.saxutils import escape, quoteattr

Point = tuple[float, float]
BBox = tuple[float, float, float, float]  # west, south, east, north in degrees

# Web Mercator stops short of the poles.
_MAX_LAT = 85.05112878
TILE_SIZE = 256
# Points closer than this (in SVG units, about pixels) to the last one drawn are left out,
# and islands smaller than this across are not drawn: detail no one can see costs bytes.
DEFAULT_TOLERANCE = 0.7


@dataclass(frozen=True, slots=True)
class Basemap:
    bbox: BBox
    land: tuple[tuple[BBox, tuple[Point, ...]], ...]  # (ring bbox, ring)
    borders: tuple[tuple[BBox, tuple[Point, ...]], ...]


def _with_bbox(flat: list[int], scale: int) -> tuple[BBox, tuple[Point, ...]]:
    points = tuple((flat[i] / scale, flat[i + 1] / scale) for i in range(0, len(flat), 2))
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return (min(lons), min(lats), max(lons), max(lats)), points


@cache
def load_basemap() -> Basemap:
    text = resources.files("hub.web").joinpath("basemap", "nordic-10m.json").read_text(encoding="utf-8")
    data = json.loads(text)
    scale = int(data["scale"])
    return Basemap(
        bbox=(float(data["bbox"][0]), float(data["bbox"][1]), float(data["bbox"][2]), float(data["bbox"][3])),
        land=tuple(_with_bbox(ring, scale) for ring in data["land"]),
        borders=tuple(_with_bbox(line, scale) for line in data["borders"]),
    )


def mercator(lon: float, lat: float) -> Point:
    """Web Mercator in world units: x and y from 0 to 1, y growing southwards."""
    lat = max(-_MAX_LAT, min(_MAX_LAT, lat))
    x = (lon + 180.0) / 360.0
    y = (1.0 - math.log(math.tan(math.radians(lat)) + 1.0 / math.cos(math.radians(lat))) / math.pi) / 2.0
    return x, y


def _inverse_lat(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y))))


@dataclass(frozen=True, slots=True)
class View:
    """A Mercator window: world units ``left``/``top``, ``scale`` SVG units per world unit, size in SVG units."""

    left: float
    top: float
    scale: float
    width: int
    height: int

    def project(self, lon: float, lat: float) -> Point:
        x, y = mercator(lon, lat)
        return (x - self.left) * self.scale, (y - self.top) * self.scale

    @property
    def bbox(self) -> BBox:
        right = self.left + self.width / self.scale
        bottom = self.top + self.height / self.scale
        return (self.left * 360 - 180, _inverse_lat(bottom), right * 360 - 180, _inverse_lat(self.top))


def fit_view(
    points: Sequence[Point],
    *,
    width: int = 800,
    min_height: int = 320,
    max_height: int = 520,
    padding: float = 0.12,
    min_span_deg: float = 0.03,
) -> View:
    """The window that shows every point with a margin, at least ``min_span_deg`` of latitude tall."""
    if not points:
        points = [(10.0, 60.0)]
    projected = [mercator(lon, lat) for lon, lat in points]
    xs, ys = [p[0] for p in projected], [p[1] for p in projected]
    centre_lat = sum(lat for _, lat in points) / len(points)
    min_span = abs(mercator(0, centre_lat + min_span_deg / 2)[1] - mercator(0, centre_lat - min_span_deg / 2)[1])
    span_x = max(max(xs) - min(xs), min_span) * (1 + 2 * padding)
    span_y = max(max(ys) - min(ys), min_span) * (1 + 2 * padding)
    scale = width / span_x
    height = round(span_y * scale)
    if height > max_height:  # tall: fit the height, and widen the window instead
        scale = max_height / span_y
        height = max_height
    height = max(min_height, height)
    centre_x, centre_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return View(centre_x - width / scale / 2, centre_y - height / scale / 2, scale, width, height)


@dataclass(frozen=True, slots=True)
class Marker:
    lon: float
    lat: float
    label: str  # drawn beside or inside the marker
    title: str  # the marker's tooltip and accessible name
    kind: str = "device"  # CSS class: device or city


@dataclass(frozen=True, slots=True)
class Tiles:
    """A raster tile layer for online use: ``url`` with ``{z}``, ``{x}`` and ``{y}``, and its attribution."""

    url: str
    attribution: str


def clip_ring(ring: Sequence[Point], bbox: BBox) -> list[Point]:
    """Sutherland–Hodgman against a rectangle: enough for filled land, whose clip edges lie outside the view."""
    west, south, east, north = bbox
    edges: tuple[tuple[Callable[[Point], bool], Callable[[Point, Point], Point]], ...] = (
        (lambda p: p[0] >= west, lambda a, b: _cross_x(a, b, west)),
        (lambda p: p[0] <= east, lambda a, b: _cross_x(a, b, east)),
        (lambda p: p[1] >= south, lambda a, b: _cross_y(a, b, south)),
        (lambda p: p[1] <= north, lambda a, b: _cross_y(a, b, north)),
    )
    points = list(ring)
    for inside, cross in edges:
        if not points:
            break
        clipped: list[Point] = []
        previous = points[-1]
        for current in points:
            if inside(current):
                if not inside(previous):
                    clipped.append(cross(previous, current))
                clipped.append(current)
            elif inside(previous):
                clipped.append(cross(previous, current))
            previous = current
        points = clipped
    return points


def _cross_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def _overlaps(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _grown(bbox: BBox, share: float) -> BBox:
    dx, dy = (bbox[2] - bbox[0]) * share, (bbox[3] - bbox[1]) * share
    return (bbox[0] - dx, bbox[1] - dy, bbox[2] + dx, bbox[3] + dy)


def _path(view: View, points: Sequence[Point], close: bool, tolerance: float) -> str:
    parts: list[str] = []
    last: Point | None = None
    for lon, lat in points:
        x, y = view.project(lon, lat)
        if last is not None and abs(x - last[0]) < tolerance and abs(y - last[1]) < tolerance:
            continue
        parts.append(f"{'L' if parts else 'M'}{x:.1f} {y:.1f}")
        last = (x, y)
    if len(parts) < (3 if close else 2):
        return ""
    return "".join(parts) + ("Z" if close else "")


@lru_cache(maxsize=128)
def _basemap_paths(view: View, tolerance: float) -> tuple[str, str]:
    basemap = load_basemap()
    window = _grown(view.bbox, 0.05)
    land = []
    for ring_bbox, ring in basemap.land:
        west, north = view.project(ring_bbox[0], ring_bbox[3])
        east, south = view.project(ring_bbox[2], ring_bbox[1])
        if max(east - west, south - north) < 2 * tolerance:
            continue
        if _overlaps(ring_bbox, window):
            inside = ring_bbox[0] >= window[0] and ring_bbox[2] <= window[2]
            inside = inside and ring_bbox[1] >= window[1] and ring_bbox[3] <= window[3]
            land.append(_path(view, ring if inside else clip_ring(ring, window), True, tolerance))
    borders = []
    for line_bbox, line in basemap.borders:
        if _overlaps(line_bbox, window):
            borders.append(_path(view, line, False, tolerance))
    return "".join(land), "".join(borders)


def _tile_images(view: View, tiles: Tiles) -> str:
    zoom = max(0, min(19, math.floor(math.log2(view.scale / TILE_SIZE))))
    count = 2**zoom
    size = view.scale / count  # SVG units per tile
    first_x, last_x = math.floor(view.left * count), math.floor((view.left + view.width / view.scale) * count)
    first_y, last_y = math.floor(view.top * count), math.floor((view.top + view.height / view.scale) * count)
    images = []
    for tx in range(first_x, last_x + 1):
        for ty in range(max(0, first_y), min(count - 1, last_y) + 1):
            url = tiles.url.replace("{z}", str(zoom)).replace("{x}", str(tx % count)).replace("{y}", str(ty))
            x, y = (tx / count - view.left) * view.scale, (ty / count - view.top) * view.scale
            images.append(
                f'<image href={quoteattr(url)} x="{x:.1f}" y="{y:.1f}" width="{size + 0.5:.1f}" '
                f'height="{size + 0.5:.1f}" preserveAspectRatio="none"/>'
            )
    return "".join(images)


# Where a city's name may go around its dot (offsets of the text's baseline start), first choice first.
_LABEL_SPOTS = ((8, 4), (8, 17), (8, -9), (-8, 4), (-8, 17), (-8, -9), (8, 30), (-8, 30), (8, -22), (-8, -22))
_CHAR_WIDTH, _LABEL_HEIGHT = 7.4, 14.0


def _label_place(
    x: float, y: float, label: str, placed: list[tuple[float, float, float, float]], view: View
) -> tuple[float, float]:
    """The first spot beside the dot where the name overlaps no name already drawn and stays on the map."""
    width = _CHAR_WIDTH * len(label)
    best = (x + 8, y + 4)
    for dx, dy in _LABEL_SPOTS:
        left = x + dx if dx > 0 else x + dx - width
        box = (left, y + dy - _LABEL_HEIGHT + 3, left + width, y + dy + 3)
        inside = box[0] >= 0 and box[2] <= view.width and box[1] >= 0 and box[3] <= view.height
        if inside and not any(_boxes_meet(box, other) for other in placed):
            best = (left, y + dy)
            placed.append(box)
            return best
    placed.append((best[0], best[1] - _LABEL_HEIGHT + 3, best[0] + width, best[1] + 3))
    return best


def _boxes_meet(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def render_svg(
    view: View,
    markers: Sequence[Marker],
    *,
    title: str,
    description: str,
    tiles: Tiles | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> str:
    """The map as an inline SVG element: land and borders (or tiles), then the markers, numbered or named."""
    land, borders = _basemap_paths(view, tolerance)
    parts = [
        f'<svg class="map" viewBox="0 0 {view.width} {view.height}" role="img" '
        f'aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="map-title">{escape(title)}</title><desc id="map-desc">{escape(description)}</desc>',
        f'<rect class="map-sea" width="{view.width}" height="{view.height}"/>',
    ]
    if tiles is not None:
        parts.append(f'<g class="map-tiles">{_tile_images(view, tiles)}</g>')
    else:
        parts.append(f'<path class="map-land" d="{land}"/>')
        parts.append(f'<path class="map-borders" d="{borders}"/>')
    placed: list[tuple[float, float, float, float]] = []
    for marker in markers:
        x, y = view.project(marker.lon, marker.lat)
        parts.append(f'<g class="marker marker-{marker.kind}"><title>{escape(marker.title)}</title>')
        if marker.kind == "city":
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5"/>')
            lx, ly = _label_place(x, y, marker.label, placed, view)
            parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}">{escape(marker.label)}</text>')
        else:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10"/>')
            parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{escape(marker.label)}</text>')
        parts.append("</g>")
    if tiles is not None:
        parts.append(
            f'<text class="map-attribution" x="{view.width - 4}" y="{view.height - 4}" '
            f'text-anchor="end">{escape(tiles.attribution)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
