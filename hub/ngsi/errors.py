"""NGSI-LD errors: ProblemDetails (RFC 7807) with the error types of ETSI GS CIM 009 (table 5.5.2-1)."""

from __future__ import annotations

from enum import StrEnum

from fastapi import Request
from fastapi.responses import JSONResponse

ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class ErrorType(StrEnum):
    BAD_REQUEST_DATA = "BadRequestData"
    INVALID_REQUEST = "InvalidRequest"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    OPERATION_NOT_SUPPORTED = "OperationNotSupported"
    TOO_COMPLEX_QUERY = "TooComplexQuery"
    TOO_MANY_RESULTS = "TooManyResults"
    LD_CONTEXT_NOT_AVAILABLE = "LdContextNotAvailable"
    INTERNAL_ERROR = "InternalError"
    # Not an NGSI-LD type: the spec defines none for authentication, so 401 is RFC 7807's about:blank.
    UNAUTHORIZED = "about:blank"


_TITLES = {
    ErrorType.BAD_REQUEST_DATA: "Bad request data",
    ErrorType.INVALID_REQUEST: "Invalid request",
    ErrorType.RESOURCE_NOT_FOUND: "Resource not found",
    ErrorType.OPERATION_NOT_SUPPORTED: "Operation not supported",
    ErrorType.TOO_COMPLEX_QUERY: "Too complex query",
    ErrorType.TOO_MANY_RESULTS: "Too many results",
    ErrorType.LD_CONTEXT_NOT_AVAILABLE: "@context not available",
    ErrorType.INTERNAL_ERROR: "Internal error",
    ErrorType.UNAUTHORIZED: "Unauthorized",
}
_STATUS = {
    ErrorType.BAD_REQUEST_DATA: 400,
    ErrorType.INVALID_REQUEST: 400,
    ErrorType.RESOURCE_NOT_FOUND: 404,
    ErrorType.OPERATION_NOT_SUPPORTED: 422,
    ErrorType.TOO_COMPLEX_QUERY: 403,
    ErrorType.TOO_MANY_RESULTS: 403,
    ErrorType.LD_CONTEXT_NOT_AVAILABLE: 503,
    ErrorType.INTERNAL_ERROR: 500,
    ErrorType.UNAUTHORIZED: 401,
}


class NgsiLdError(Exception):
    """Raised anywhere under /ngsi-ld; rendered as a ProblemDetails document."""

    def __init__(
        self,
        error: ErrorType,
        detail: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or _TITLES[error])
        self.error = error
        self.detail = detail
        self.status = status or _STATUS[error]
        self.headers = headers


def bad_request(detail: str) -> NgsiLdError:
    return NgsiLdError(ErrorType.BAD_REQUEST_DATA, detail)


def problem_body(error: ErrorType, status: int, detail: str | None) -> dict[str, object]:
    kind = error.value if error is ErrorType.UNAUTHORIZED else ERROR_BASE + error.value
    body: dict[str, object] = {"type": kind, "title": _TITLES[error], "status": status}
    if detail is not None:
        body["detail"] = detail
    return body


def problem(error: NgsiLdError) -> JSONResponse:
    # NGSI-LD brokers answer ProblemDetails as application/json; clients parse it as such.
    return JSONResponse(
        problem_body(error.error, error.status, error.detail),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


async def on_ngsi_ld_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NgsiLdError)
    return problem(exc)
