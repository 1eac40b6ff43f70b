"""Daily CSV files: served by /open-data/ and written by `citylab export`, the same content."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph

from tests.ngsi.conftest import READINGS
from tests.opendata.conftest import SHAPES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_daily_file_has_every_reading_of_the_city_and_day(client):
    response = client.get("/open-data/aarhus/pm25/2026-03-01.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = sorted((r.device, r.value) for r in READINGS if r.city == "aarhus" and r.quantity == "pm25")
    assert sorted((row["device"], float(row["value"])) for row in rows) == expected
    first = rows[0]
    assert list(first) == ["time", "city", "lab", "device", "quantity", "value", "unit", "unit_code", "lat", "lon"]
    assert (first["time"], first["unit"], first["unit_code"]) == ("2026-03-01T00:00:00Z", "ug/m3", "GQ")
    lab_located = [row for row in rows if row["device"] == "lamp 2/ø#?%"]
    assert all(row["lat"] == "" for row in lab_located)  # no position of its own: left empty, never invented


@pytest.mark.parametrize(
    "path",
    [
        "/open-data/nowhere/pm25/2026-03-01.csv",
        "/open-data/aarhus/notaquantity/2026-03-01.csv",
        "/open-data/aarhus/pm25/2026-02-30.csv",
        "/open-data/aarhus/pm25/2020-01-01.csv",
        "/open-data/aarhus/pm25/..%2F..%2Fetc.csv",
    ],
)
def test_unknown_files_are_404(client, path):
    assert client.get(path).status_code == 404


def test_the_index_documents_columns_licence_and_attribution(client):
    text = client.get("/open-data/").text
    assert "CC BY 4.0" in text
    assert "unit_code:" in text
    assert "aarhus-city-lab: Aarhus City Lab, Aarhus (DK)" in text


def test_citylab_export_writes_the_files_and_a_conforming_catalogue(open_data_settings, client, tmp_path):
    out = tmp_path / "open-data"
    env = {
        **os.environ,
        "CITYLAB_INFLUX_URL": open_data_settings.influx_url,
        "CITYLAB_INFLUX_API": "v1",
        "CITYLAB_INFLUX_BUCKET": open_data_settings.influx_bucket,
        "CITYLAB_LABS": str(open_data_settings.labs),
        "CITYLAB_OPEN_DATA_LICENSE_NAME": "CC BY 4.0",
    }
    command = [
        sys.executable,
        "-m",
        "hub.cli",
        "export",
        "--out",
        str(out),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-01",
        "--base-url",
        "https://data.example.org/citylab",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.csv"))
    cities_quantities = {(r.city, r.quantity) for r in READINGS}
    assert files == sorted(f"{city}/{quantity}/2026-03-01.csv" for city, quantity in cities_quantities)
    served = client.get("/open-data/copenhagen/no2/2026-03-01.csv").text
    assert (out / "copenhagen/no2/2026-03-01.csv").read_text(encoding="utf-8") == served
    catalog = json.loads((out / "catalog.jsonld").read_text())
    urls = [d["dcat:downloadURL"]["@id"] for ds in catalog["dcat:dataset"] for d in ds["dcat:distribution"]]
    assert "https://data.example.org/citylab/copenhagen/no2/2026-03-01.csv" in urls
    from pyshacl import validate

    shapes = Graph()
    for name in ("dcat-ap-SHACL.ttl", "shapes.ttl", "range.ttl"):
        shapes.parse(SHAPES / name)
    conforms, _report, text = validate(
        Graph().parse(out / "catalog.jsonld", format="json-ld"), shacl_graph=shapes, allow_warnings=True
    )
    assert conforms, text
    assert "CC BY 4.0" in (out / "README.txt").read_text()


def test_export_refuses_bad_arguments(tmp_path):
    command = [sys.executable, "-m", "hub.cli", "export", "--out", str(tmp_path), "--city", "atlantis"]
    env = {**os.environ, "CITYLAB_LABS": str(ROOT / "labs")}
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "unknown city atlantis" in result.stderr
