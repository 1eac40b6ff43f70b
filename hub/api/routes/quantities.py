"""The vocabulary: canonical units, plausible ranges, WHO and EU reference values."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import ReadAccess, VocabularyDep
from hub.api.models import QuantityList, QuantityOut, ReferenceValue, ValueRange
from hub.api.problems import problem_responses

router = APIRouter(tags=["quantities"], dependencies=[ReadAccess], responses=problem_responses(401))


@router.get("/quantities", summary="Every quantity with its canonical unit and reference values")
def list_quantities(vocabulary: VocabularyDep) -> QuantityList:
    return QuantityList(
        quantities=[
            QuantityOut(
                name=q.name,
                unit=q.unit,
                description=q.description,
                range=ValueRange(min=q.minimum, max=q.maximum, unit=q.unit),
                references=[
                    ReferenceValue(name=ref.name, value=ref.value, unit=q.unit, period=ref.period)
                    for ref in q.references
                ],
            )
            for q in vocabulary.quantities.values()
        ]
    )
