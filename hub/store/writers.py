"""Writers to InfluxDB: the v1 ``/write`` or the v2 ``/api/v2/write`` endpoint, over HTTP.

Both take encoded line protocol and either store every line or raise a ``WriteError`` naming the
class of InfluxDB's answer. Which answer is which is decided in one place, ``classify_answer``:

| answer                                                        | class          | what it means                  |
|---------------------------------------------------------------|----------------|--------------------------------|
| 2xx, no body naming rejected points                           | (stored)       | every line is stored           |
| no answer: refused, reset, DNS                                | ``unreachable``| outage: try again later        |
| no answer within the write timeout                            | ``timeout``    | a hang: an outage too          |
| 408, 5xx (honouring ``Retry-After``)                          | ``unavailable``| outage                         |
| 429 (honouring ``Retry-After``)                               | ``throttled``  | outage                         |
| 401, 403, 407, or any 4xx that speaks of authorization        | ``unauthorized``| held: nothing wrong with data |
| 404, 1.x's 500 "retention policy not found"                   | ``not_found``  | held: the database is missing  |
| 413                                                           | ``too_large``  | the batch must be split        |
| 400, 422, 403 about the data, 2xx naming rejected points      | ``rejected``   | some (or all) points refused   |
| any other status                                              | ``refused``    | held: the request is wrong     |

"Held" answers are retried and spooled like an outage, never dropped: the data is fine, InfluxDB or
the hub's configuration is not. hub/store/delivery.py turns ``too_large`` and ``rejected`` into an
exact outcome per line; the batcher (hub/ingest/batcher.py) decides what each means for the MQTT
messages behind a batch. Bodies are parsed in every documented shape (reference-notes-2 section 5):
1.x ``{"error": …}``, 2.x ``{"code", "message", "line"}``, 3.x ``{"error", "data": [{"original_line",
"line_number", "error_message"}]}``.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import httpx

from hub.settings import Settings, redact_url

log = logging.getLogger(__name__)

# A Retry-After longer than this is capped: the hub keeps trying, and the spool holds the data meanwhile.
MAX_RETRY_AFTER_S = 300.0


class Answer(StrEnum):
    """The class of an InfluxDB answer other than "stored" (see the module docstring)."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    THROTTLED = "throttled"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    REFUSED = "refused"
    TOO_LARGE = "too_large"
    REJECTED = "rejected"


# The data is fine; InfluxDB or the hub's configuration is not. Retried and spooled, and an operator is alarmed.
HELD = frozenset({Answer.UNAUTHORIZED, Answer.NOT_FOUND, Answer.REFUSED})

_HINTS = {
    Answer.UNAUTHORIZED: "InfluxDB refuses the hub's credentials: check CITYLAB_INFLUX_TOKEN or _USERNAME/_PASSWORD "
    "and the token's write permission",
    Answer.NOT_FOUND: "the database (bucket, org or retention policy) does not exist: did InfluxDB come back with an "
    "empty data directory? Create it, or set CITYLAB_INFLUX_CREATE_DATABASE=true (v1) to let the hub create it",
    Answer.REFUSED: "InfluxDB refuses the request itself, not the data: check CITYLAB_INFLUX_URL and _API",
}


class WriteError(RuntimeError):
    """A write that did not store every line. ``status`` is InfluxDB's HTTP answer (None: no answer at all)."""

    def __init__(
        self, message: str, *, answer: Answer, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.answer = answer
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def hint(self) -> str | None:
        """What an operator should look at, for the answers that need one."""
        return _HINTS.get(self.answer)


class TransientWriteError(WriteError):
    """Nothing may be stored now; the same lines can be written again later (same series and time overwrite).

    An outage (no answer, a hang, 408, 429, 5xx) or a held answer (``held``: credentials, missing database,
    a refused request), which needs an operator but never loses data."""

    @property
    def held(self) -> bool:
        return self.answer in HELD


class TooLargeError(WriteError):
    """413: the batch is too large for InfluxDB; smaller ones may pass."""


@dataclass(frozen=True, slots=True)
class NamedLine:
    """A line a rejection names: by its 1-based number in the body, or by its text (or both)."""

    reason: str
    number: int | None = None
    text: str | None = None


class RejectedPointsError(WriteError):
    """InfluxDB refused some or all points of the batch; the others are stored (or were never tried: a batch
    InfluxDB refused whole). ``named`` are the lines the answer names, ``dropped`` how many it says it dropped."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        reason: str,
        named: list[NamedLine] | None = None,
        dropped: int | None = None,
        measurement: str | None = None,
    ) -> None:
        super().__init__(message, answer=Answer.REJECTED, status=status)
        self.reason = reason
        self.named = named or []
        self.dropped = dropped
        self.measurement = measurement


class InfluxWriter(Protocol):
    def write(self, lines: list[str]) -> None:
        """Store every line, or raise a ``WriteError`` subclass."""
        ...

    def close(self) -> None: ...


# --- reading InfluxDB's answers ------------------------------------------------------------------------------

# Words that show an answer is about the data (a point InfluxDB won't store), not about the request.
_DATA_WORDS = (
    "partial write",
    "unable to parse",
    "failed to parse",
    "line protocol",
    "field type conflict",
    "invalid column type",
    "retention",
    "too long",
    "parsing failed",
    "invalid field",
    "invalid tag",
    "invalid measurement",
    "bad timestamp",
    "dropped=",
    "rejected",
    "max-values-per-tag",
    "max-series-per-database",
)
_AUTH_WORDS = ("authoriz", "unauthoriz", "authenticat", "token", "permission", "credential", "forbidden")
_DROPPED = re.compile(r"\s*dropped=(\d+)")
_MEASUREMENT = re.compile(r'on measurement "((?:[^"\\]|\\.)*)"')
_UNABLE_TO_PARSE = re.compile(r"unable to parse '(.*)': (.*)$")
_PREFIXES = ("failure writing points to database: ", "partial write: ")


@dataclass(slots=True)
class _Body:
    message: str
    document: dict[str, Any] = field(default_factory=dict)


def _read_body(body: str) -> _Body:
    text = body.strip()
    try:
        document = json.loads(text) if text.startswith("{") else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return _Body(text)
    message = document.get("error") or document.get("message") or document.get("code") or ""
    return _Body(str(message).strip(), document)


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """``Retry-After`` in seconds (RFC 9110: delay-seconds or an HTTP date), capped."""
    value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER_S))


def line_reason(message: str) -> str:
    """InfluxDB's words about a point, without what depends on the batch it came in (``dropped=N``)."""
    reason = _DROPPED.sub("", message).strip()
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if reason.startswith(prefix):
                reason, changed = reason[len(prefix) :], True
    return reason or message.strip()


def _named_lines(body: _Body) -> list[NamedLine]:
    """The lines an answer names: 3.x's ``data`` list (or object), 2.x's ``line`` number, 1.x's quoted line."""
    named: list[NamedLine] = []
    data = body.document.get("data")
    for item in data if isinstance(data, list) else [data] if isinstance(data, dict) else []:
        if not isinstance(item, dict):
            continue
        number = item.get("line_number")
        text = item.get("original_line")
        reason = str(item.get("error_message") or body.message)
        if isinstance(number, int) or isinstance(text, str):
            named.append(
                NamedLine(
                    line_reason(reason),
                    number if isinstance(number, int) else None,
                    text if isinstance(text, str) else None,
                )
            )
    line = body.document.get("line")
    if not named and isinstance(line, int) and line > 0:
        named.append(NamedLine(line_reason(body.message), number=line))
    elif not named and isinstance(line, str) and line:
        named.append(NamedLine(line_reason(body.message), text=line))
    if not named:
        for part in body.message.split("\n"):
            found = _UNABLE_TO_PARSE.search(part)
            if found:
                named.append(NamedLine(line_reason(f"unable to parse: {found.group(2)}"), text=found.group(1)))
    return named


def _mentions(message: str, words: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in words)


def classify_answer(status: int, body: str, headers: Mapping[str, str] | None = None) -> WriteError | None:
    """The error for InfluxDB's answer to a write, or None when every line is stored. The one place that decides."""
    parsed = _read_body(body)
    summary = f"InfluxDB answered {status}: {parsed.message[:300] or body.strip()[:300]}"
    about_data = _mentions(parsed.message, _DATA_WORDS)
    if 200 <= status < 300:
        named = _named_lines(parsed) if body.strip() else []
        if not named and not (about_data and _DROPPED.search(parsed.message)):
            return None
        return _rejected(summary, status, parsed, named)
    retry_after = _retry_after(headers)
    if status == 408 or status >= 500:
        if "retention policy not found" in parsed.message:
            return TransientWriteError(summary, answer=Answer.NOT_FOUND, status=status)
        return TransientWriteError(summary, answer=Answer.UNAVAILABLE, status=status, retry_after_s=retry_after)
    if status == 429:
        return TransientWriteError(summary, answer=Answer.THROTTLED, status=status, retry_after_s=retry_after)
    if status == 413:
        return TooLargeError(summary, answer=Answer.TOO_LARGE, status=status)
    about_auth = not about_data and _mentions(parsed.message, _AUTH_WORDS)
    if status in (401, 407) or (status == 403 and not about_data) or (status in (400, 422) and about_auth):
        return TransientWriteError(summary, answer=Answer.UNAUTHORIZED, status=status)
    if status == 404 or (status in (400, 422) and not about_data and "not found" in parsed.message.lower()):
        return TransientWriteError(summary, answer=Answer.NOT_FOUND, status=status)
    if status in (400, 403, 422):
        return _rejected(summary, status, parsed, _named_lines(parsed))
    return TransientWriteError(summary, answer=Answer.REFUSED, status=status)


def _rejected(summary: str, status: int, parsed: _Body, named: list[NamedLine]) -> RejectedPointsError:
    dropped = _DROPPED.search(parsed.message)
    measurement = _MEASUREMENT.search(parsed.message)
    return RejectedPointsError(
        summary,
        status=status,
        reason=line_reason(parsed.message) or f"InfluxDB answered {status} without a reason",
        named=named,
        dropped=int(dropped.group(1)) if dropped else None,
        measurement=measurement.group(1).replace('\\"', '"') if measurement else None,
    )


def unreachable(exc: Exception, *, timeout_s: float | None = None) -> TransientWriteError:
    """No answer at all: refused, reset, or (``httpx.TimeoutException``) none within the timeout."""
    if isinstance(exc, httpx.TimeoutException):
        within = f" within {timeout_s:g}s" if timeout_s is not None else ""
        return TransientWriteError(
            f"InfluxDB did not answer{within} ({type(exc).__name__}): hung or overloaded", answer=Answer.TIMEOUT
        )
    return TransientWriteError(f"InfluxDB unreachable: {type(exc).__name__}: {exc}", answer=Answer.UNREACHABLE)


# --- the writers ---------------------------------------------------------------------------------------------


class HttpLineWriter:
    """POST gzip-compressed line protocol to one InfluxDB write endpoint; classify the answer."""

    def __init__(
        self,
        url: str,
        path: str,
        *,
        params: dict[str, str],
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._path = path
        self._timeout_s = timeout_s
        self._client = httpx.Client(
            base_url=self.url, params=params, headers=headers or {}, auth=auth, timeout=timeout_s
        )

    def write(self, lines: list[str]) -> None:
        body = gzip.compress("\n".join(lines).encode("utf-8"), compresslevel=1)
        try:
            response = self._client.post(
                self._path,
                content=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise unreachable(exc, timeout_s=self._timeout_s) from exc
        error = classify_answer(response.status_code, response.text, response.headers)
        if error is not None:
            raise error

    def close(self) -> None:
        self._client.close()


class V1Writer(HttpLineWriter):
    """InfluxDB 1.x ``POST /write?db=&rp=&precision=ns``; creates a missing database when told to."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        retention_policy: str | None = None,
        timeout_s: float = 5.0,
        create_database: bool = False,
    ) -> None:
        params = {"db": database, "precision": "ns"}
        if retention_policy:
            params["rp"] = retention_policy
        auth = (username, password or "") if username else None
        super().__init__(url, "/write", params=params, auth=auth, timeout_s=timeout_s)
        self.database = database
        self._create_database = create_database

    def write(self, lines: list[str]) -> None:
        try:
            super().write(lines)
        except TransientWriteError as error:
            if not (self._create_database and error.answer is Answer.NOT_FOUND and "database not found" in str(error)):
                raise
            self._create(error)
            log.warning("created the missing database %r (InfluxDB came back without it?)", self.database)
            super().write(lines)

    def _create(self, error: TransientWriteError) -> None:
        quoted = self.database.replace("\\", "\\\\").replace('"', '\\"')
        try:
            created = self._client.post("/query", params={"q": f'CREATE DATABASE "{quoted}"'})
        except httpx.HTTPError as exc:
            raise TransientWriteError(
                f"{error}; creating it failed: {unreachable(exc)}", answer=Answer.NOT_FOUND, status=error.status
            ) from exc
        if created.status_code != 200 or '"error"' in created.text:
            raise TransientWriteError(
                f"{error}; CREATE DATABASE answered {created.status_code}: {created.text.strip()[:200]}",
                answer=Answer.NOT_FOUND,
                status=error.status,
            )


class V2Writer(HttpLineWriter):
    """``POST /api/v2/write?org=&bucket=&precision=ns`` with a token (InfluxDB 1.8+, 2.x, 3.x, Cloud).

    Plain HTTP, as for v1, rather than influxdb-client's write API: that one discards the body of a 2xx
    answer (where InfluxDB Cloud Serverless names rejected points), and one HTTP path for both APIs keeps
    the timeout, ``Retry-After`` and the reading of answers the same."""

    def __init__(self, url: str, *, token: str, org: str, bucket: str, timeout_s: float = 5.0) -> None:
        super().__init__(
            url,
            "/api/v2/write",
            params={"org": org, "bucket": bucket, "precision": "ns"},
            headers={"Authorization": f"Token {token}"} if token else {},
            timeout_s=timeout_s,
        )


def writer_from_settings(settings: Settings) -> InfluxWriter:
    """The writer ``CITYLAB_INFLUX_*`` describes."""
    return make_writer(
        api=settings.influx_api,
        url=settings.influx_url,
        bucket=settings.influx_bucket,
        org=settings.influx_org,
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
        username=settings.influx_username,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
        timeout_s=settings.influx_write_timeout_s,
        create_database=settings.influx_create_database,
    )


def make_writer(
    *,
    api: str,
    url: str,
    bucket: str,
    org: str | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 5.0,
    create_database: bool = False,
) -> InfluxWriter:
    if api == "v1":
        database, _, retention = bucket.partition("/")
        return V1Writer(
            url,
            database,
            username=username,
            password=password,
            retention_policy=retention or None,
            timeout_s=timeout_s,
            create_database=create_database,
        )
    if api == "v2":
        if token is None and username:
            token = f"{username}:{password or ''}"  # InfluxDB 1.8's v2 compatibility token
        return V2Writer(url, token=token or "", org=org or "-", bucket=bucket, timeout_s=timeout_s)
    raise ValueError(f"unknown InfluxDB API {api!r} for {redact_url(url)}: use v1 or v2")
