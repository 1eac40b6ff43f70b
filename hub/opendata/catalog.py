"""The DCAT-AP 3 catalogue of the open data, as JSON-LD with its @context inline (nothing to fetch).

CKAN with ckanext-dcat (profile euro_dcat_ap_3) and national portals harvest it. Every object a
DCAT-AP range constraint names is typed (dct:LicenseDocument, dct:Frequency, skos:Concept …), and
free text carries a language tag, so the catalogue passes the DCAT-AP 3.0.1 SHACL shapes
(tests/opendata/test_catalog.py).
"""

from __future__ import annotations

from typing import Any

from core.timeutil import ns_to_rfc3339
from hub.labs import LabConfig
from hub.opendata.publication import COLUMN_DOCS, Dataset, attribution
from hub.opendata.settings import OpenDataSettings
from hub.vocabulary import load_vocabulary

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "locn": "http://www.w3.org/ns/locn#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
EU = "http://publications.europa.eu/resource/authority/"
CSV_FORMAT = EU + "file-type/CSV"
CSV_MEDIA = "http://www.iana.org/assignments/media-types/text/csv"
ENGLISH = EU + "language/ENG"
DAILY = EU + "frequency/DAILY"
THEME_ENVIRONMENT = EU + "data-theme/ENVI"
THEME_TRANSPORT = EU + "data-theme/TRAN"
TRANSPORT_QUANTITIES = {"intensity", "occupancy"}


def _text(value: str) -> dict[str, str]:
    return {"@value": value, "@language": "en"}


def _time(time_ns: int) -> dict[str, str]:
    return {"@value": ns_to_rfc3339(time_ns), "@type": "xsd:dateTime"}


def _concept(iri: str, label: str, kind: str | None = None) -> dict[str, Any]:
    types = ["skos:Concept", *([kind] if kind else [])]
    return {"@id": iri, "@type": types, "skos:prefLabel": _text(label)}


def _agent(iri: str, name: str, homepage: str | None = None) -> dict[str, Any]:
    agent: dict[str, Any] = {"@id": iri, "@type": "foaf:Agent", "foaf:name": _text(name)}
    if homepage:
        agent["foaf:homepage"] = {"@id": homepage, "@type": "foaf:Document"}
    return agent


def _license(settings: OpenDataSettings) -> dict[str, Any]:
    return {"@id": settings.license_url, "@type": "dct:LicenseDocument", "rdfs:label": _text(settings.license_name)}


def _location(positions: list[tuple[float, float]]) -> dict[str, Any]:
    lats = [lat for lat, _lon in positions]
    lons = [lon for _lat, lon in positions]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    if west == east and south == north:  # one point: a tiny box, so the polygon is not degenerate
        west, east, south, north = west - 0.001, east + 0.001, south - 0.001, north + 0.001
    west, east, south, north = (round(v, 6) for v in (west, east, south, north))
    ring = f"{west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}"
    centre = f"POINT({round((west + east) / 2, 6)} {round((south + north) / 2, 6)})"
    return {
        "@type": "dct:Location",
        "dcat:bbox": {"@value": f"POLYGON(({ring}))", "@type": "gsp:wktLiteral"},
        "dcat:centroid": {"@value": centre, "@type": "gsp:wktLiteral"},
    }


def build_catalog(
    datasets: list[Dataset], labs: dict[str, LabConfig], settings: OpenDataSettings, root: str
) -> dict[str, Any]:
    """``root``: the URL of the published directory (``…/open-data`` when the hub serves it)."""
    root = root.rstrip("/")
    vocabulary = load_vocabulary()
    publisher = _agent(f"{root}/#publisher", settings.publisher_name, settings.publisher_url)
    lab_agents = {lab.lab: _agent(f"{root}/#lab-{lab.lab}", attribution(lab)) for lab in labs.values()}
    city_names = {lab.city: lab.city_name for lab in labs.values()}
    columns = "; ".join(f"{name}: {text}" for name, text in COLUMN_DOCS.items())
    nodes = []
    modified = max((d.last_ns for d in datasets if d.last_ns is not None), default=None)
    for dataset in datasets:
        quantity = vocabulary.quantities[dataset.quantity]
        city = city_names.get(dataset.city, dataset.city)
        iri = f"{root}/{dataset.path}"
        creators = [lab_agents[lab] for lab in sorted(dataset.labs) if lab in lab_agents]
        title = f"{quantity.description} in {city} ({dataset.quantity}, {quantity.unit})"
        description = (
            f"Every {dataset.quantity} reading ({quantity.description.lower()}, in {quantity.unit}) of the city labs "
            f"of {city}, as daily CSV files (UTC days). Measured by "
            + ", ".join(attribution(labs[lab]) for lab in sorted(dataset.labs) if lab in labs)
            + f". Licence: {settings.license_name}; credit the lab named in each row."
        )
        node: dict[str, Any] = {
            "@id": iri,
            "@type": "dcat:Dataset",
            "dct:identifier": f"citylab/{dataset.path}",
            "dct:title": _text(title),
            "dct:description": _text(description),
            "dct:publisher": publisher,
            "dct:creator": creators,
            "dcat:keyword": [_text(dataset.quantity), _text(city), _text("city lab"), _text("sensor data")],
            "dcat:theme": _concept(
                THEME_TRANSPORT if dataset.quantity in TRANSPORT_QUANTITIES else THEME_ENVIRONMENT,
                "Transport" if dataset.quantity in TRANSPORT_QUANTITIES else "Environment",
            ),
            "dct:accrualPeriodicity": _concept(DAILY, "daily", "dct:Frequency"),
            "dct:language": {"@id": ENGLISH, "@type": "dct:LinguisticSystem"},
            "dcat:distribution": [
                _distribution(root, dataset, day.isoformat(), readings, settings, columns)
                for day, readings in sorted(dataset.days.items())
            ],
        }
        if dataset.first_ns is not None and dataset.last_ns is not None:
            node["dct:temporal"] = {
                "@type": "dct:PeriodOfTime",
                "dcat:startDate": _time(dataset.first_ns),
                "dcat:endDate": _time(dataset.last_ns),
            }
            node["dct:modified"] = _time(dataset.last_ns)
        if dataset.positions:
            node["dct:spatial"] = _location(dataset.positions)
        nodes.append(node)
    catalog: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{root}/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": _text("Nordic City Lab Hub: open sensor data"),
        "dct:description": _text(
            "Readings of the Nordic city labs (air quality, weather, noise, traffic, water, waste), one dataset per "
            "city and quantity, published as daily CSV files under " + settings.license_name + "."
        ),
        "dct:publisher": publisher,
        "dct:license": _license(settings),
        "dct:language": {"@id": ENGLISH, "@type": "dct:LinguisticSystem"},
        "foaf:homepage": {"@id": f"{root}/", "@type": "foaf:Document"},
        "dcat:dataset": nodes,
    }
    if modified is not None:
        catalog["dct:modified"] = _time(modified)
    first = min((d.first_ns for d in datasets if d.first_ns is not None), default=None)
    if first is not None:
        catalog["dct:issued"] = _time(first)  # the catalogue's data starts with the first reading
    everywhere = [p for d in datasets for p in d.positions]
    if everywhere:
        catalog["dct:spatial"] = _location(everywhere)
    return catalog


def _distribution(
    root: str, dataset: Dataset, day: str, readings: int, settings: OpenDataSettings, columns: str
) -> dict[str, Any]:
    url = f"{root}/{dataset.path}/{day}.csv"
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": _text(f"{dataset.quantity} in {dataset.city} on {day} (UTC)"),
        "dct:description": _text(f"{readings} readings. Columns: {columns}"),
        "dcat:accessURL": {"@id": url},
        "dcat:downloadURL": {"@id": url},
        "dct:format": {"@id": CSV_FORMAT, "@type": "dct:MediaTypeOrExtent"},
        "dcat:mediaType": {"@id": CSV_MEDIA, "@type": "dct:MediaType"},
        "dct:license": _license(settings),
    }
