"""Errors as RFC 9457 problem details (``application/problem+json``), never HTML or bare strings."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.read import InvalidRequest, NotFound, QueryRejected, ReadError, Unavailable

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Bad Request",
                    "status": 400,
                    "detail": "range of 400.0 days exceeds the limit of 366 days; ask for a shorter from/to",
                }
            ]
        }
    )

    type: str = Field(default="about:blank", description="URI naming the problem type")
    title: str = Field(description="Short summary of the status")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(default=None, description="What went wrong, for a person to read")


class ApiProblem(Exception):
    """Raised by routes and dependencies; rendered as a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or _TITLES.get(status, "Error"))
        self.status = status
        self.detail = detail
        self.headers = headers


def problem_response(status: int, detail: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem documents for these statuses."""
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": {
                        "type": "about:blank",
                        "title": _TITLES.get(status, "Error"),
                        "status": status,
                        **({"detail": "what went wrong"} if status != 401 else {}),
                    },
                }
            },
        }
        for status in statuses
    }


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("query", "body", "path"))
        parts.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


# The read layer's errors as statuses: the caller's mistakes are 4xx, InfluxDB being away is 503,
# and a statement InfluxDB refused (QueryRejected) is the hub's own bug: 500.
_READ_ERROR_STATUSES: tuple[tuple[type[ReadError], int], ...] = (
    (InvalidRequest, 400),
    (NotFound, 404),
    (Unavailable, 503),
    (QueryRejected, 500),
)


def read_error_status(error: ReadError) -> int:
    return next((status for kind, status in _READ_ERROR_STATUSES if isinstance(error, kind)), 500)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_read_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ReadError)
        status = read_error_status(exc)
        if status == 503:
            log.warning("%s", exc)
        return problem_response(status, exc.message)

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(exc.status, exc.detail, exc.headers)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(400, _describe_validation(exc))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _TITLES.get(exc.status_code) else None
        return problem_response(exc.status_code, detail, dict(exc.headers) if exc.headers else None)

    async def on_unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        # The traceback goes to the server log (uvicorn logs it); clients get no internals.
        return problem_response(500, "unexpected server error; see the hub's log")

    app.add_exception_handler(ReadError, on_read_error)
    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
