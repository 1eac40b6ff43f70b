"""Rebuild the pinned front-end assets the hub serves itself, from the npm packages in package.json.

    python -m hub.web.vendor.build            # npm ci into a temporary folder, then copy and clip

What it writes (all committed, so a clone needs neither npm nor a network to serve the page):

- ``hub/web/static/vendor/uplot/``: uPlot (MIT) for the page's charts;
- ``hub/web/static/vendor/swagger-ui/`` and ``redoc/``: Swagger UI (Apache-2.0) and ReDoc (MIT) for ``/docs``
  and ``/redoc``, source-map comments removed so no browser asks for a missing ``.map``;
- ``hub/web/basemap/nordic-10m.json``: Natural Earth 1:10m land and country borders (public domain, via the
  world-atlas package, ISC) clipped to the Nordic region, for the server-drawn SVG maps.

Every package's licence file is copied beside its files.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hub.web.maps import clip_ring

HERE = Path(__file__).resolve().parent
WEB = HERE.parent
STATIC_VENDOR = WEB / "static" / "vendor"
BASEMAP = WEB / "basemap" / "nordic-10m.json"

# West, south, east, north: Iceland to Finland, Denmark to the North Cape, with a margin for city maps.
NORDIC_BBOX = (-26.0, 53.0, 33.0, 72.0)
# Coordinates are stored as integers of 1e-4 degrees (about 11 m): finer than the 1:10m data.
SCALE = 10_000

# package → [(file in the package, file under static/vendor/<folder>)]
COPIES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "uplot": (
        "uplot",
        [
            ("dist/uPlot.iife.min.js", "uPlot.iife.min.js"),
            ("dist/uPlot.min.css", "uPlot.min.css"),
            ("LICENSE", "LICENSE"),
        ],
    ),
    "swagger-ui-dist": (
        "swagger-ui",
        [
            ("swagger-ui-bundle.js", "swagger-ui-bundle.js"),
            ("swagger-ui-bundle.js.LICENSE.txt", "swagger-ui-bundle.js.LICENSE.txt"),
            ("swagger-ui.css", "swagger-ui.css"),
            ("LICENSE", "LICENSE"),
            ("NOTICE", "NOTICE"),
        ],
    ),
    "redoc": (
        "redoc",
        [
            ("bundles/redoc.standalone.js", "redoc.standalone.js"),
            ("bundles/redoc.standalone.js.LICENSE.txt", "redoc.standalone.js.LICENSE.txt"),
            ("LICENSE", "LICENSE"),
        ],
    ),
}
# Only the comment on the file's last line: the same text also occurs inside bundled string literals.
# ReDoc 2 always shows a "Redocly" logo it loads from its CDN; offline that is a failed request and a
# console error. The vendored bundle gets an empty inline image instead (the credit link stays).
PATCHES = {
    "redoc.standalone.js": [
        (
            'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"',
            "src:\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E\"",
        )
    ]
}
_SOURCE_MAP = re.compile(r"\n(//# sourceMappingURL=[^\s'\"]+|/\*# sourceMappingURL=[^\s'\"]+ ?\*/)\s*\Z")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="citylab-vendor-") as work:
        folder = Path(work)
        shutil.copy(HERE / "package.json", folder / "package.json")
        shutil.copy(HERE / "package-lock.json", folder / "package-lock.json")
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=folder, check=True)
        modules = folder / "node_modules"
        versions = {}
        for package, (target, files) in COPIES.items():
            destination = STATIC_VENDOR / target
            if destination.exists():
                shutil.rmtree(destination)
            destination.mkdir(parents=True)
            for source, name in files:
                data = (modules / package / source).read_bytes()
                if name.endswith((".js", ".css")):
                    text = _SOURCE_MAP.sub("", data.decode("utf-8"))
                    for before, after in PATCHES.get(name, []):
                        if text.count(before) != 1:
                            raise SystemExit(f"{package}/{source}: expected {before!r} once; review PATCHES")
                        text = text.replace(before, after)
                    data = text.encode("utf-8")
                (destination / name).write_bytes(data)
            versions[package] = _version(modules / package)
        atlas = modules / "world-atlas"
        versions["world-atlas"] = _version(atlas)
        BASEMAP.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(atlas / "LICENSE", BASEMAP.parent / "LICENSE-world-atlas")
        basemap = build_basemap(json.loads((atlas / "countries-10m.json").read_text(encoding="utf-8")))
        basemap["source"] = f"Natural Earth 1:10m via world-atlas {versions['world-atlas']} (countries-10m.json)"
        BASEMAP.write_text(json.dumps(basemap, separators=(",", ":")) + "\n", encoding="utf-8")
        (STATIC_VENDOR / "VERSIONS.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
    print(f"vendored {versions}; basemap {BASEMAP.stat().st_size} bytes", file=sys.stderr)
    return 0


def _version(package: Path) -> str:
    return str(json.loads((package / "package.json").read_text(encoding="utf-8"))["version"])


# --- TopoJSON → clipped rings and border lines ---------------------------------------------------

Point = tuple[float, float]


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """TopoJSON arcs are delta-encoded integers; ``transform`` turns them back into degrees."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[Point]], indices: list[int]) -> list[Point]:
    ring: list[Point] = []
    for index in indices:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points if not ring else points[1:])
    return unwrap(ring)


def unwrap(ring: list[Point]) -> list[Point]:
    """Longitudes made continuous across the antimeridian (Eurasia's ring reaches Chukotka at -170°),
    so that clipping to the Nordic box folds the far side onto its east edge instead of drawing a band."""
    offset = 0.0
    unwrapped: list[Point] = []
    previous: float | None = None
    for lon, lat in ring:
        if previous is not None:
            if lon - previous > 180:
                offset -= 360
            elif lon - previous < -180:
                offset += 360
        previous = lon
        unwrapped.append((lon + offset, lat))
    return unwrapped


def _polygons(geometry: dict[str, Any]) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    return []


def _inside(point: Point, bbox: tuple[float, float, float, float]) -> bool:
    return bbox[0] <= point[0] <= bbox[2] and bbox[1] <= point[1] <= bbox[3]


def _flat(points: list[Point]) -> list[int]:
    """Integers of 1e-4 degrees, consecutive duplicates dropped."""
    flat: list[int] = []
    last: tuple[int, int] | None = None
    for lon, lat in points:
        q = (round(lon * SCALE), round(lat * SCALE))
        if q != last:
            flat.extend(q)
            last = q
    return flat


def build_basemap(topology: dict[str, Any], bbox: tuple[float, float, float, float] = NORDIC_BBOX) -> dict[str, Any]:
    arcs = decode_arcs(topology)
    land: list[list[int]] = []
    for geometry in topology["objects"]["land"]["geometries"]:
        for polygon in _polygons(geometry):
            for indices in polygon:
                ring = clip_ring(_ring(arcs, indices), bbox)
                flat = _flat(ring)
                if len(flat) >= 6:
                    land.append(flat)
    # A border is an arc two countries share (a coastline belongs to one country only).
    users: dict[int, set[int]] = {}
    for number, geometry in enumerate(topology["objects"]["countries"]["geometries"]):
        for polygon in _polygons(geometry):
            for indices in polygon:
                for index in indices:
                    users.setdefault(index if index >= 0 else ~index, set()).add(number)
    borders: list[list[int]] = []
    for index, countries in sorted(users.items()):
        if len(countries) < 2:
            continue
        run: list[Point] = []
        for point in arcs[index]:
            if _inside(point, bbox):
                run.append(point)
                continue
            if len(run) >= 2:
                borders.append(_flat(run))
            run = []
        if len(run) >= 2:
            borders.append(_flat(run))
    return {"bbox": list(bbox), "scale": SCALE, "land": land, "borders": [b for b in borders if len(b) >= 4]}


if __name__ == "__main__":
    sys.exit(main())
