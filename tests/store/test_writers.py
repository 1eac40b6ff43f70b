"""The InfluxDB writers: what they send, and which error each InfluxDB answer becomes.

Against a tiny local server that gives each answer class in turn (the batcher's outcome for each
class is in tests/ingest/test_batcher.py), and against the real InfluxDB (Debian's 1.6).
"""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from hub.devstack import InfluxDB1, free_port
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from hub.store.writers import (
    Answer,
    InfluxWriter,
    RejectedPointsError,
    TooLargeError,
    TransientWriteError,
    V1Writer,
    V2Writer,
    WriteError,
    classify_answer,
    make_writer,
    writer_from_settings,
)
from tests.support.answering_server import AnsweringServer, Reply
from tests.support.v2_compat_proxy import V2CompatProxy

LINES = [
    "temperature,city=aarhus,device=lamp-1,lab=aarhus-city-lab value=21.5 1772359200123456789",
    "pm25,city=aarhus,device=lamp-1,lab=aarhus-city-lab value=7.25,lat=56.1,lon=10.2 1772359200123456789",
]

WriterFactory = Callable[[str, float], InfluxWriter]


def v1(url: str, timeout_s: float = 5.0) -> InfluxWriter:
    return V1Writer(url, "citylab", username="writer", password="pw", retention_policy="autogen", timeout_s=timeout_s)


def v2(url: str, timeout_s: float = 5.0) -> InfluxWriter:
    return V2Writer(url, token="tok", org="city", bucket="citylab", timeout_s=timeout_s)


WRITERS = {"v1": v1, "v2": v2}


@pytest.fixture
def server() -> Iterator[AnsweringServer]:
    with AnsweringServer() as running:
        yield running


@pytest.fixture(params=sorted(WRITERS))
def make(request: pytest.FixtureRequest) -> WriterFactory:
    factory: WriterFactory = WRITERS[request.param]
    return factory


def test_v1_posts_gzipped_lines_to_write_with_ns_precision(server: AnsweringServer) -> None:
    writer = v1(server.url)
    writer.write(LINES)
    writer.close()
    (request,) = server.requests
    assert request.path == "/write"
    assert request.query == {"db": ["citylab"], "precision": ["ns"], "rp": ["autogen"]}
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.body.split("\n") == LINES


def test_v2_posts_gzipped_lines_to_api_v2_write_with_a_token(server: AnsweringServer) -> None:
    writer = v2(server.url)
    writer.write(LINES)
    writer.close()
    (request,) = server.requests
    assert request.path == "/api/v2/write"
    assert request.query == {"bucket": ["citylab"], "org": ["city"], "precision": ["ns"]}
    assert request.headers["Authorization"] == "Token tok"
    assert request.body.split("\n") == LINES


# Every answer class: status, body (as InfluxDB 1.x, 2.x, 3.x and Cloud send them) -> the class the writers raise.
# What the batcher then does with each class: tests/ingest/test_batcher.py.
CONFLICT = (
    'field type conflict: input field \\"value\\" on measurement \\"temperature\\" is type float, '
    "already exists as type integer"
)
V3_PARTIAL = (
    '{"error":"partial write of line protocol occurred",'
    '"data":[{"original_line":"x","line_number":1,"error_message":"bad"}]}'
)
SERVERLESS_RETENTION = '{"code":"forbidden","message":"partial write: points beyond retention policy dropped=1"}'
ANSWERS: list[tuple[str, int, str, Answer]] = [
    ("408", 408, "", Answer.UNAVAILABLE),
    ("429 quota", 429, '{"code":"too many requests","message":"quota"}', Answer.THROTTLED),
    ("500 engine", 500, '{"error":"engine: error syncing wal"}', Answer.UNAVAILABLE),
    ("500 no rp (1.x)", 500, '{"error":"retention policy not found: myrp"}', Answer.NOT_FOUND),
    ("502", 502, "bad gateway", Answer.UNAVAILABLE),
    ("503", 503, '{"code":"unavailable","message":"busy"}', Answer.UNAVAILABLE),
    ("401 (1.x)", 401, '{"error":"authorization failed"}', Answer.UNAUTHORIZED),
    ("401 (2.x)", 401, '{"code":"unauthorized","message":"unauthorized access"}', Answer.UNAUTHORIZED),
    ("403 (2.x)", 403, '{"code":"forbidden","message":"insufficient permissions for write"}', Answer.UNAUTHORIZED),
    (
        "400 bad token (Cloud)",
        400,
        '{"code":"invalid","message":"authorization header is malformed"}',
        Answer.UNAUTHORIZED,
    ),
    ("404 no database (1.x)", 404, '{"error":"database not found: \\"citylab\\""}', Answer.NOT_FOUND),
    ("404 no bucket (2.x)", 404, '{"code":"not found","message":"bucket \\"citylab\\" not found"}', Answer.NOT_FOUND),
    ("405", 405, "method not allowed", Answer.REFUSED),
    ("415", 415, "unsupported media type", Answer.REFUSED),
    ("413 (1.x)", 413, '{"error":"Request Entity Too Large"}', Answer.TOO_LARGE),
    ("400 partial (1.x)", 400, f'{{"error":"partial write: {CONFLICT} dropped=1"}}', Answer.REJECTED),
    ("400 unparsable (1.x)", 400, '{"error":"unable to parse \'x y z\': bad timestamp"}', Answer.REJECTED),
    ("422 partial (2.x)", 422, '{"code":"unprocessable entity","message":"partial write: dropped=1"}', Answer.REJECTED),
    (
        "400 partial (3.x)",
        400,
        json.dumps(
            {
                "error": "partial write of line protocol occurred",
                "data": [{"original_line": "x", "line_number": 1, "error_message": "bad"}],
            }
        ),
        Answer.REJECTED,
    ),
    (
        "403 retention (Serverless)",
        403,
        '{"code":"forbidden","message":"partial write: points beyond retention policy dropped=1"}',
        Answer.REJECTED,
    ),
]


@pytest.mark.parametrize(("label", "status", "body", "answer"), ANSWERS, ids=[row[0] for row in ANSWERS])
def test_each_answer_is_classified(label: str, status: int, body: str, answer: Answer) -> None:
    error = classify_answer(status, body)
    assert error is not None
    assert (error.answer, error.status) == (answer, status)
    assert f"InfluxDB answered {status}" in str(error)
    if answer is Answer.TOO_LARGE:
        assert isinstance(error, TooLargeError)
    elif answer is Answer.REJECTED:
        assert isinstance(error, RejectedPointsError)
    else:
        assert isinstance(error, TransientWriteError)
        assert error.held == (answer in (Answer.UNAUTHORIZED, Answer.NOT_FOUND, Answer.REFUSED))


@pytest.mark.parametrize(("label", "status", "body", "answer"), ANSWERS, ids=[row[0] for row in ANSWERS])
def test_both_writers_raise_the_class_of_each_answer(
    server: AnsweringServer, make: WriterFactory, label: str, status: int, body: str, answer: Answer
) -> None:
    server.reply = Reply(status, body)
    writer = make(server.url, 5.0)
    with pytest.raises(WriteError) as raised:
        writer.write(LINES)
    writer.close()
    assert (raised.value.answer, raised.value.status) == (answer, status)


def test_2xx_is_stored_unless_its_body_names_rejected_points() -> None:
    assert classify_answer(204, "") is None
    assert classify_answer(200, '{"results":[{}]}') is None
    assert classify_answer(201, "") is None
    # Cloud Serverless may answer 201/204 with the points it rejected.
    named = classify_answer(201, '{"code":"invalid","line":2,"message":"partial write has occurred: line 2: bad"}')
    assert isinstance(named, RejectedPointsError)
    assert [(n.number, n.text) for n in named.named] == [(2, None)]


def test_what_a_rejection_names_is_read_from_every_shape() -> None:
    v1 = classify_answer(400, f'{{"error":"partial write: {CONFLICT} dropped=3"}}')
    assert isinstance(v1, RejectedPointsError)
    assert (v1.dropped, v1.measurement, v1.named) == (3, "temperature", [])
    assert v1.reason.startswith("field type conflict: input field")
    parse = classify_answer(
        400,
        json.dumps(
            {
                "error": "partial write: unable to parse 'a b c': bad timestamp\n"
                "unable to parse 'd e': invalid field format dropped=0"
            }
        ),
    )
    assert isinstance(parse, RejectedPointsError)
    assert [(n.text, n.reason) for n in parse.named] == [
        ("a b c", "unable to parse: bad timestamp"),
        ("d e", "unable to parse: invalid field format"),
    ]
    v3 = classify_answer(
        400,
        '{"error":"partial write of line protocol occurred","data":[{"original_line":"m f=1","line_number":2,'
        '"error_message":"invalid column type"},{"original_line":"m f=2","line_number":5,"error_message":"no"}]}',
    )
    assert isinstance(v3, RejectedPointsError)
    assert [(n.number, n.text, n.reason) for n in v3.named] == [(2, "m f=1", "invalid column type"), (5, "m f=2", "no")]
    whole = classify_answer(
        400,
        json.dumps(
            {
                "error": "parsing failed for write_lp endpoint",
                "data": {"original_line": "x", "line_number": 1, "error_message": "bad"},
            }
        ),
    )
    assert isinstance(whole, RejectedPointsError)
    assert [n.number for n in whole.named] == [1]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"Retry-After": "7"}, 7.0), ({"retry-after": "100000"}, 300.0), ({}, None), ({"Retry-After": "soon"}, None)],
)
def test_retry_after_is_read_and_capped(headers: dict[str, str], seconds: float | None) -> None:
    error = classify_answer(503, "", headers)
    assert error is not None
    assert error.retry_after_s == seconds


def test_retry_after_as_an_http_date(server: AnsweringServer, make: WriterFactory) -> None:
    server.reply = Reply(429, "", headers={"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)})
    writer = make(server.url, 5.0)
    with pytest.raises(TransientWriteError) as raised:
        writer.write(LINES)
    writer.close()
    assert raised.value.retry_after_s is not None
    assert 25 <= raised.value.retry_after_s <= 31


def test_no_answer_at_all_is_transient(make: WriterFactory) -> None:
    writer = make(f"http://127.0.0.1:{free_port()}", 5.0)  # nothing listens there
    with pytest.raises(TransientWriteError, match="InfluxDB unreachable") as raised:
        writer.write(LINES)
    writer.close()
    assert (raised.value.status, raised.value.answer) == (None, Answer.UNREACHABLE)


def test_an_answer_slower_than_the_timeout_is_a_hang(server: AnsweringServer, make: WriterFactory) -> None:
    server.reply = Reply(204, delay_s=2.0)
    writer = make(server.url, 0.3)
    started = time.monotonic()
    with pytest.raises(TransientWriteError, match=r"did not answer within 0\.3s") as raised:
        writer.write(LINES)
    writer.close()
    assert raised.value.answer is Answer.TIMEOUT
    assert time.monotonic() - started < 1.5


def test_writers_from_settings_carry_the_credentials(server: AnsweringServer) -> None:
    v1_settings = Settings(
        influx_url=server.url,
        influx_api="v1",
        influx_bucket="db/rp",
        influx_username="u",
        influx_password="p",  # type: ignore[arg-type]
    )
    token_settings = Settings(influx_url=server.url, influx_api="v2", influx_org="o", influx_token="t")  # type: ignore[arg-type]
    compat_settings = Settings(
        influx_url=server.url,
        influx_api="v2",
        influx_bucket="db/rp",
        influx_username="u",
        influx_password="p",  # type: ignore[arg-type]
    )
    for settings in (v1_settings, token_settings, compat_settings):
        writer = writer_from_settings(settings)
        writer.write(LINES[:1])
        writer.close()
    v1_request, token_request, compat_request = server.requests
    assert (v1_request.path, v1_request.query["db"], v1_request.query["rp"]) == ("/write", ["db"], ["rp"])
    assert v1_request.headers["Authorization"] == "Basic dTpw"  # u:p
    assert token_request.headers["Authorization"] == "Token t"
    assert token_request.query["org"] == ["o"]
    # InfluxDB 1.8's v2 compatibility: the token is username:password, the org "-".
    assert compat_request.headers["Authorization"] == "Token u:p"
    assert compat_request.query["org"] == ["-"]
    assert compat_request.query["bucket"] == ["db/rp"]


def test_an_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown InfluxDB API 'v3'"):
        make_writer(api="v3", url="http://127.0.0.1:1", bucket="b")


@pytest.mark.integration
def test_v1_and_v2_lines_land_in_the_real_influxdb(influx: InfluxDB1, database: str, influxql: InfluxQLClient) -> None:
    first = make_writer(api="v1", url=influx.url, bucket=f"{database}/autogen")
    first.write(LINES[:1])
    first.close()
    with V2CompatProxy(influx.url) as proxy:
        second = make_writer(api="v2", url=proxy.url, bucket=database, username="any", password="any")
        second.write(LINES[1:])
        second.close()
    (temperature,) = influxql.query('SELECT "value", device FROM temperature')
    assert temperature.values == [[1772359200123456789, 21.5, "lamp-1"]]
    (pm25,) = influxql.query('SELECT "value", lat, lon FROM pm25')
    assert pm25.values == [[1772359200123456789, 7.25, 56.1, 10.2]]


@pytest.mark.integration
def test_the_real_influxdbs_answers(influx: InfluxDB1, database: str, influxql: InfluxQLClient) -> None:
    """Debian's InfluxDB 1.6: a missing database is 404 (held), a field type conflict 400 with the good points kept."""
    missing = V1Writer(influx.url, f"{database}_missing")
    with pytest.raises(TransientWriteError, match="database not found") as raised:
        missing.write(LINES)
    missing.close()
    assert (raised.value.status, raised.value.answer, raised.value.held) == (404, Answer.NOT_FOUND, True)

    writer = V1Writer(influx.url, database)
    writer.write([LINES[0]])
    conflict = 'temperature,city=aarhus,device=lamp-1,lab=aarhus-city-lab value="warm" 1772359300000000000'
    good = "temperature,city=aarhus,device=lamp-2,lab=aarhus-city-lab value=3.0 1772359300000000000"
    with pytest.raises(RejectedPointsError, match="partial write") as rejected:
        writer.write([conflict, good])
    writer.close()
    assert (rejected.value.status, rejected.value.dropped, rejected.value.measurement) == (400, 1, "temperature")
    assert rejected.value.reason.startswith("field type conflict")
    values = influxql.query('SELECT "value" FROM temperature')[0].values
    assert [row[1] for row in values] == [21.5, 3.0]


@pytest.mark.integration
def test_a_missing_database_is_created_when_configured(influx: InfluxDB1, influxql: InfluxQLClient) -> None:
    name = f"created_{uuid.uuid4().hex[:8]}"
    writer = make_writer(api="v1", url=influx.url, bucket=name, create_database=True)
    writer.write(LINES[:1])
    writer.close()
    created = InfluxQLClient(influx.url, name)
    (temperature,) = created.query('SELECT "value" FROM temperature')
    created.close()
    assert temperature.values == [[1772359200123456789, 21.5]]
