"""The DCAT-AP 3 catalogue passes the official DCAT-AP 3.0.1 SHACL shapes, and says what portals need."""

from __future__ import annotations

import json

import pytest
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from tests.opendata.conftest import SHAPES

pytestmark = pytest.mark.integration

ROOT = "https://hub.example.org/open-data"
LOCN = Namespace("http://www.w3.org/ns/locn#")


SHAPE_SETS = [("dcat-ap-SHACL.ttl",), ("shapes.ttl", "range.ttl")]


def shapes(names: tuple[str, ...] = SHAPE_SETS[0]) -> Graph:
    graph = Graph()
    for name in names:
        graph.parse(SHAPES / name)
    return graph


def catalog_graph(client) -> tuple[Graph, dict]:
    response = client.get("/open-data/catalog.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    graph = Graph()
    graph.parse(data=response.text, format="json-ld")  # the @context is inline: nothing is fetched
    return graph, response.json()


@pytest.mark.parametrize("names", SHAPE_SETS)
def test_the_catalogue_conforms_to_dcat_ap_3(client, names):
    graph, _ = catalog_graph(client)
    conforms, _report, text = validate(graph, shacl_graph=shapes(names), inference="none", allow_warnings=True)
    assert conforms, text


def test_recommended_properties_are_there_too(client):
    graph, _ = catalog_graph(client)
    recommended = Graph().parse(SHAPES / "shapes_recommended.ttl")
    _conforms, report, _text = validate(graph, shacl_graph=recommended, inference="none")
    results = list(report.objects(None, URIRef("http://www.w3.org/ns/shacl#resultPath")))
    missing = {str(path).rsplit("/", 1)[-1].rsplit("#", 1)[-1] for path in results}
    # What the hub can't know without guessing: a contact point, a theme taxonomy of its own, each agent's
    # type (a lab may be a municipality, a university or a company) and how long a file stays available.
    assert missing <= {"contactPoint", "themeTaxonomy", "type", "availability"}, missing


def test_the_validator_really_validates(client):
    graph, _ = catalog_graph(client)
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    graph.remove((catalog, DCTERMS.publisher, None))
    conforms, _report, _text = validate(graph, shacl_graph=shapes(), inference="none", allow_warnings=True)
    assert not conforms


def test_datasets_have_coverage_licence_publisher_frequency_and_distributions(client):
    graph, body = catalog_graph(client)
    datasets = {str(d) for d in graph.subjects(RDF.type, DCAT.Dataset)}
    assert f"{ROOT}/aarhus/pm25" in datasets
    assert f"{ROOT}/bergen/waterLevel" in datasets  # open data carries every quantity
    node = next(d for d in body["dcat:dataset"] if d["@id"] == f"{ROOT}/aarhus/pm25")
    assert node["dct:temporal"]["dcat:startDate"]["@value"] == "2026-03-01T00:00:00Z"
    assert node["dct:temporal"]["dcat:endDate"]["@value"] == "2026-03-01T05:00:00Z"
    assert node["dct:spatial"]["dcat:bbox"]["@type"] == "gsp:wktLiteral"
    assert node["dct:spatial"]["dcat:centroid"]["@value"] == "POINT(10.2107 56.1572)"
    assert node["dct:accrualPeriodicity"]["@id"].endswith("/frequency/DAILY")
    assert node["dct:publisher"]["foaf:name"]["@value"] == "Nordic City Lab Hub"
    assert [c["foaf:name"]["@value"] for c in node["dct:creator"]] == [
        "Aarhus City Lab, Aarhus (DK), via the Nordic City Lab Hub"
    ]
    [distribution] = node["dcat:distribution"]
    assert distribution["dcat:downloadURL"]["@id"] == f"{ROOT}/aarhus/pm25/2026-03-01.csv"
    assert distribution["dct:license"]["@id"] == "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
    assert distribution["dct:format"]["@id"].endswith("/file-type/CSV")
    assert distribution["dct:description"]["@value"].startswith("8 readings.")  # lamp-1 6, the odd device 2


def test_the_licence_is_configurable(open_data_settings):
    from fastapi.testclient import TestClient

    from hub.api import create_app
    from hub.opendata.settings import OpenDataSettings

    app = create_app(open_data_settings)
    odbl = "http://publications.europa.eu/resource/authority/licence/ODC_BL"
    app.state.open_data_settings = OpenDataSettings(days=366, license_url=odbl, license_name="ODbL 1.0")
    with TestClient(app) as other:
        body = other.get("/open-data/catalog.jsonld").json()
    assert body["dct:license"]["@id"] == odbl
    assert {d["dct:license"]["@id"] for ds in body["dcat:dataset"] for d in ds["dcat:distribution"]} == {odbl}
    assert json.dumps(body).count("CC_BY_4_0") == 0
