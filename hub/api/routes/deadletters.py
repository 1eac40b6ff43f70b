"""Dead letters: list them, and replay them through the current codecs and lab configs."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.timeutil import ns_to_rfc3339
from hub.api.deps import AdminAccess, DeadLettersDep, LabsDep, ReadAccess, SettingsDep
from hub.api.models import DeadLetterList, DeadLetterOut, ReplayRequest, ReplayResult
from hub.api.params import LabQuery
from hub.api.problems import ApiProblem, problem_responses
from hub.api.state import DeadLetterAccess
from hub.deadletters.replay import replay
from hub.deadletters.store import DeadLetter
from hub.deadletters.stores import DeadLetterStores, store_label, store_number
from hub.labs import LabConfig
from hub.read import RFC3339_PATTERN, parse_time
from hub.settings import Settings
from hub.store.writers import TransientWriteError

log = logging.getLogger(__name__)

router = APIRouter(tags=["dead letters"], responses=problem_responses(400, 401, 503))

MAX_LIST = 1000
PREVIEW_CHARS = 1000
REASON_PATTERN = r"^[a-z_]{1,40}$"


def letter_out(letter: DeadLetter) -> DeadLetterOut:
    letter_id = letter.id or 0
    return DeadLetterOut(
        id=letter_id,
        worker=store_label(store_number(letter_id)),
        received_at=ns_to_rfc3339(letter.received_ns),
        topic=letter.topic,
        lab=letter.lab,
        codec=letter.codec,
        reason_code=letter.reason_code,
        reason=letter.reason,
        payload_size=letter.payload_size,
        payload_preview=letter.payload[: PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS],
    )


@router.get("/deadletters", summary="Messages and readings the hub could not use", dependencies=[ReadAccess])
def list_dead_letters(
    request: Request,
    dead_letters: DeadLettersDep,
    lab: LabQuery = None,
    reason: Annotated[
        str | None, Query(pattern=REASON_PATTERN, description="reason code", examples=["out_of_range"])
    ] = None,
    since: Annotated[
        str | None,
        Query(pattern=RFC3339_PATTERN, description="RFC 3339: received at or after", examples=["2026-03-01T00:00:00Z"]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeadLetterList:
    """Every store under the data directory (each worker's, with `citylab serve --workers`), in id order: store by
    store, oldest first within each. Values are bound as SQLite parameters."""
    since_ns = parse_time(since, "since") if since is not None else None
    with dead_letters.open() as store:
        letters = store.select(lab=lab, reason_code=reason, since_ns=since_ns, limit=limit + 1, offset=offset)
    more = len(letters) > limit
    return DeadLetterList(
        limit=limit,
        offset=offset,
        next=str(request.url.include_query_params(offset=offset + limit)) if more else None,
        dead_letters=[letter_out(letter) for letter in letters[:limit]],
    )


# The body is documented here and read by the route itself, after the admin token is checked: a body
# parameter would make FastAPI read the whole body before any dependency runs.
_REPLAY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ReplayRequest.model_json_schema()}},
    }
}


@router.post(
    "/deadletters/replay",
    summary="Re-decode dead letters with today's codecs and lab configs; write what now decodes",
    dependencies=[AdminAccess],
    responses=problem_responses(403, 413),
    operation_id="replay_dead_letters",
    openapi_extra=_REPLAY_BODY,
)
async def replay_dead_letters(
    request: Request, settings: SettingsDep, labs: LabsDep, dead_letters: DeadLettersDep
) -> ReplayResult:
    """Needs the admin token. Letters whose message now decodes are removed after its readings are written;
    the rest stay. Rejections found that were not stored yet become new dead letters."""
    raw = await request.body()  # bounded by CITYLAB_API_MAX_BODY_BYTES (hub/api/limits.py)
    if not raw.strip():
        raise ApiProblem(400, 'a JSON body is required, e.g. {} or {"reason": "out_of_range", "dry_run": true}')
    try:
        body = ReplayRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiProblem(400, _describe(exc)) from None
    return await run_in_threadpool(_replay, body, settings, labs, dead_letters)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item.get("loc", ()))
        parts.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid body"


def _replay(
    body: ReplayRequest, settings: Settings, labs: dict[str, LabConfig], dead_letters: DeadLetterAccess
) -> ReplayResult:
    if body.limit > settings.api_max_replay:
        raise ApiProblem(400, f"limit {body.limit} exceeds the maximum of {settings.api_max_replay} per replay")
    since_ns = parse_time(body.since, "since") if body.since is not None else None
    wanted = set(body.ids) if body.ids is not None else None
    with dead_letters.open() as store:
        letters = _select(store, body.lab, body.reason, since_ns, wanted, body.limit)
        try:
            outcome = replay(letters, labs=labs, settings=settings, store=store, dry_run=body.dry_run)
        except TransientWriteError as exc:
            log.warning("replay wrote nothing and removed nothing: %s", exc)
            raise ApiProblem(
                503, f"InfluxDB can't take writes now ({exc.answer.value}): the replay wrote and removed nothing"
            ) from None
    return ReplayResult(
        selected=outcome.selected,
        decoded=outcome.decoded,
        still_failing=outcome.still_failing,
        readings=outcome.readings,
        readings_written=outcome.readings_written,
        new_dead_letters=outcome.new_dead_letters,
        dry_run=body.dry_run,
        still_failing_reasons=dict(sorted(outcome.still_failing_reasons.items())),
    )


def _select(
    store: DeadLetterStores,
    lab: str | None,
    reason: str | None,
    since_ns: int | None,
    ids: set[int] | None,
    limit: int,
) -> list[DeadLetter]:
    """Page through the store until ``limit`` letters match (``ids`` narrows further)."""
    chosen: list[DeadLetter] = []
    offset = 0
    page = 1000
    while len(chosen) < limit:
        batch = store.select(lab=lab, reason_code=reason, since_ns=since_ns, limit=page, offset=offset)
        chosen.extend(letter for letter in batch if ids is None or letter.id in ids)
        if len(batch) < page:
            break
        offset += page
    return chosen[:limit]
