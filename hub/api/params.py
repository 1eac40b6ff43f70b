"""Query parameters several routes share, declared for FastAPI (OpenAPI patterns, examples).

Declarations only: validation that needs more than a pattern (bounds, known slugs) is the read
layer's (``hub.read``), whose errors hub/api/problems.py turns into problem documents.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from core.names import MAX_SLUG_LENGTH, SLUG_PATTERN
from hub.read import RFC3339_PATTERN

# The time range every query endpoint takes: `from` inclusive, `to` exclusive.
FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=RFC3339_PATTERN,
        description="RFC 3339, inclusive; default: 24 h before `to`",
        examples=["2026-03-01T00:00:00Z"],
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to",
        pattern=RFC3339_PATTERN,
        description="RFC 3339, exclusive; default: now",
        examples=["2026-03-02T00:00:00Z"],
    ),
]
CityQuery = Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus"])]
LabQuery = Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH, examples=["aarhus-city-lab"])]
