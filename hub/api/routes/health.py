"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.api.checks import check_influx, check_mqtt, check_workers
from hub.api.deps import ReadAccess, StateDep
from hub.api.models import Check, Health
from hub.api.problems import problem_responses
from hub.api.state import ApiState

router = APIRouter(tags=["health"])

METRICS_EXAMPLE = '# TYPE citylab_messages_total counter\ncitylab_messages_total{lab="aarhus-city-lab"} 42.0\n'


def _health(state: ApiState) -> Health:
    labs = state.labs.status()
    # Under a supervisor, `mqtt` says how many workers are connected, and each worker has a check of its own.
    workers = check_workers(state.settings, state.workers) if state.workers is not None else {}
    checks = {
        "mqtt": workers.pop("mqtt") if workers else check_mqtt(state.settings, state.ingest),
        "influxdb": check_influx(state.influx, state.settings),
        # ok while configs are in use, even the last good ones after a broken edit (the detail says so).
        "labs": Check(ok=labs.ok, detail=labs.detail),
        **workers,
    }
    return Health(status="ok" if all(c.ok for c in checks.values()) else "degraded", checks=checks)


@router.get("/health", summary="Liveness, with the state of MQTT and InfluxDB")
def health(state: StateDep) -> Health:
    """Always 200 while the API runs; `status` is `degraded` when MQTT or InfluxDB can't be reached, or no lab
    config could be loaded. After a broken edit the last good lab configs stay in use, and `labs` says so.
    Under `citylab serve --workers N`, `mqtt` counts the connected workers and each worker has its own check
    (`worker-1`, …); one that is down or restarting makes the status `degraded`."""
    return _health(state)


@router.get(
    "/ready",
    summary="Readiness: 200 only when MQTT and InfluxDB both answer and lab configs are loaded",
    response_model=Health,
    responses={503: {"model": Health, "description": "MQTT or InfluxDB can't be reached, or no lab configs"}},
)
def ready(state: StateDep) -> JSONResponse:
    result = _health(state)
    return JSONResponse(result.model_dump(), status_code=200 if result.status == "ok" else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[ReadAccess],
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {
                CONTENT_TYPE_LATEST: {
                    "schema": {"type": "string"},
                    "example": METRICS_EXAMPLE,
                }
            },
        },
        **problem_responses(401),
    },
)
def metrics(state: StateDep) -> Response:
    """Ingest counters (messages, readings, dead letters by lab and reason), write latency and batch size
    histograms, queue and spool depth when `citylab serve` hosts the API; stored dead letters always."""
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
