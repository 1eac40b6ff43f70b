"""The InfluxDB writers: what they send, and which error each InfluxDB answer becomes.

Against a tiny local server that gives each answer class in turn (the batcher's outcome for each
class is in tests/ingest/test_batcher.py), and against the real InfluxDB (Debian's 1.6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hub.devstack import InfluxDB1, free_port
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from hub.store.writers import (
    InfluxWriter,
    PermanentWriteError,
    TransientWriteError,
    V1Writer,
    V2Writer,
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


# Status -> the error class the writers raise (what the batcher then does: tests/ingest/test_batcher.py).
ANSWERS = [
    (429, '{"code":"too many requests","message":"quota"}', TransientWriteError),
    (500, '{"error":"retention policy not found: myrp"}', TransientWriteError),
    (502, "bad gateway", TransientWriteError),
    (503, '{"code":"unavailable","message":"busy"}', TransientWriteError),
    (400, '{"error":"unable to parse \'x y z\': bad timestamp"}', PermanentWriteError),
    (401, '{"error":"authorization failed"}', PermanentWriteError),
    (403, '{"code":"forbidden","message":"insufficient permissions"}', PermanentWriteError),
    (404, '{"error":"database not found: \\"citylab\\""}', PermanentWriteError),
    (413, '{"error":"Request Entity Too Large"}', PermanentWriteError),
    (422, '{"code":"unprocessable entity","message":"partial write: dropped=1"}', PermanentWriteError),
]


@pytest.mark.parametrize(("status", "body", "error"), ANSWERS, ids=[str(status) for status, _, _ in ANSWERS])
def test_each_answer_class_raises_its_error_with_the_status_and_body(
    server: AnsweringServer, make: WriterFactory, status: int, body: str, error: type[Exception]
) -> None:
    server.reply = Reply(status, body)
    writer = make(server.url, 5.0)
    with pytest.raises(error) as raised:
        writer.write(LINES)
    writer.close()
    assert type(raised.value) is error
    assert raised.value.status == status  # type: ignore[attr-defined]
    assert f"InfluxDB answered {status}" in str(raised.value)
    assert body.split(":")[0].strip('{"') in str(raised.value)


def test_no_answer_at_all_is_transient(make: WriterFactory) -> None:
    writer = make(f"http://127.0.0.1:{free_port()}", 5.0)  # nothing listens there
    with pytest.raises(TransientWriteError, match="InfluxDB unreachable") as raised:
        writer.write(LINES)
    writer.close()
    assert raised.value.status is None


def test_an_answer_slower_than_the_timeout_is_transient(server: AnsweringServer, make: WriterFactory) -> None:
    server.reply = Reply(204, delay_s=2.0)
    writer = make(server.url, 0.3)
    with pytest.raises(TransientWriteError, match="InfluxDB unreachable"):
        writer.write(LINES)
    writer.close()


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
def test_the_real_influxdbs_refusals_are_permanent_today(influx: InfluxDB1, database: str, influxql) -> None:
    """Debian's InfluxDB 1.6: a missing database is 404, a field type conflict 400 with the good points kept."""
    missing = V1Writer(influx.url, f"{database}_missing")
    with pytest.raises(PermanentWriteError, match="database not found") as raised:
        missing.write(LINES)
    missing.close()
    assert raised.value.status == 404

    writer = V1Writer(influx.url, database)
    writer.write([LINES[0]])
    conflict = 'temperature,city=aarhus,device=lamp-1,lab=aarhus-city-lab value="warm" 1772359300000000000'
    good = "temperature,city=aarhus,device=lamp-2,lab=aarhus-city-lab value=3.0 1772359300000000000"
    with pytest.raises(PermanentWriteError, match="partial write") as raised:
        writer.write([conflict, good])
    writer.close()
    assert raised.value.status == 400
    values = influxql.query('SELECT "value" FROM temperature')[0].values
    assert [row[1] for row in values] == [21.5, 3.0]
