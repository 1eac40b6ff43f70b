"""The @context documents the hub serves itself, so no client or test needs to fetch one at run time.

- ``ngsi-ld-core-context-v1.9.jsonld``: the core context of ETSI GS CIM 009 V1.9.1, Annex B.
- ``sdm-<Domain>.jsonld``: the Smart Data Models domain contexts (CC BY 4.0), verbatim.
- ``citylab.jsonld``: what the hub's entities use. Smart Data Models domains give one term different
  IRIs (``temperature`` is ``dataModel.Weather/temperature`` in WeatherObserved and
  ``dataModel.WaterQuality/temperature`` in WaterQualityObserved), so each entity type carries its
  domain context as a JSON-LD 1.1 type-scoped context, followed by the core context.

Sources and licences: hub/ngsi/jsonld/SOURCES.md.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from hub.ngsi.mapping import load_mapping

PREFIX = "/ngsi-ld/contexts"
CORE_NAME = "ngsi-ld-core-context-v1.9.jsonld"
HUB_NAME = "citylab.jsonld"
# The official URL of every core context version a client may name in a Link header.
OFFICIAL_CORE = tuple(
    f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context{suffix}.jsonld"
    for suffix in ("", "-v1.3", "-v1.4", "-v1.5", "-v1.6", "-v1.7", "-v1.8", "-v1.9")
)
SDM_BASE = "https://smartdatamodels.org/"
# Terms every hub entity uses that the Smart Data Models domains define alike.
_COMMON_TERMS = ("dataProvider", "address", "addressLocality", "addressCountry", "dateObserved", "name")
_TIME_TERMS = ("dateObservedFrom", "dateObservedTo")


@cache
def _packaged(name: str) -> dict[str, Any]:
    text = resources.files("hub.ngsi.jsonld").joinpath(name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def domain_file(domain: str) -> str:
    return f"sdm-{domain}.jsonld"


def document_names() -> list[str]:
    domains = sorted({t.domain for t in load_mapping().types.values()})
    return [CORE_NAME, HUB_NAME, *(domain_file(d) for d in domains)]


def context_url(base: str, name: str = HUB_NAME) -> str:
    return f"{base.rstrip('/')}{PREFIX}/{name}"


def document(name: str, base: str) -> dict[str, Any] | None:
    """The document served at ``{base}/ngsi-ld/contexts/{name}``, or None."""
    if name == HUB_NAME:
        return hub_context(base)
    if name in document_names():
        return _packaged(name)
    return None


def hub_context(base: str) -> dict[str, Any]:
    mapping = load_mapping()
    terms: dict[str, Any] = {}
    for term in _COMMON_TERMS:
        terms[term] = SDM_BASE + term
    for entity_type in mapping.types.values():
        terms[entity_type.name] = {
            "@id": f"{SDM_BASE}dataModel.{entity_type.domain}/{entity_type.name}",
            "@context": context_url(base, domain_file(entity_type.domain)),
        }
    for term in _TIME_TERMS:
        terms[term] = {"@id": SDM_BASE + term, "@type": "https://uri.etsi.org/ngsi-ld/DateTime"}
    return {"@context": [terms, context_url(base, CORE_NAME)]}


def entity_context(base: str) -> list[str]:
    """The ``@context`` member of an entity the hub serves (application/ld+json)."""
    return [context_url(base, HUB_NAME)]


def link_header(base: str) -> str:
    return f'<{context_url(base, HUB_NAME)}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def known_context_urls(base: str) -> set[str]:
    """Contexts whose terms the hub knows without fetching anything."""
    mapping = load_mapping()
    known = {context_url(base, name) for name in document_names()}
    known.update(OFFICIAL_CORE)
    known.update(t.context for t in mapping.types.values())
    return known
